// compare_params A.safetensors B.safetensors TOL: exit 0 when both hold the same tensors and every tensor's
// relative difference ||a - b|| / ||a|| is <= TOL; TOL 0 asks for bitwise equality (NaN included: a NaN
// anywhere is a difference). Prints the largest relative difference and how many tensors differ at all.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <ATen/ATen.h>

#include "dagalign/weights/safetensors.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: compare_params A.safetensors B.safetensors TOL\n");
    return 2;
  }
  auto a = dagalign::read_safetensors(argv[1]), b = dagalign::read_safetensors(argv[2]);
  const double tol = std::atof(argv[3]);
  if (a.size() != b.size() || a.empty()) {
    std::fprintf(stderr, "different tensor sets: %zu vs %zu\n", a.size(), b.size());
    return 1;
  }
  double worst = 0;
  int differ = 0;
  bool nonfinite = false;
  std::string where;
  for (const auto& [name, t] : a) {
    auto it = b.find(name);
    if (it == b.end()) {
      std::fprintf(stderr, "%s missing in %s\n", name.c_str(), argv[2]);
      return 1;
    }
    const auto& u = it->second;
    if (t.sizes() != u.sizes() || t.scalar_type() != u.scalar_type()) {
      std::fprintf(stderr, "%s: shape or dtype differs\n", name.c_str());
      return 1;
    }
    const auto ta = t.contiguous(), ub = u.contiguous();
    if (std::memcmp(ta.data_ptr(), ub.data_ptr(), ta.nbytes()) != 0) ++differ;
    nonfinite = nonfinite || !at::isfinite(ta).all().item<bool>() || !at::isfinite(ub).all().item<bool>();
    const double rel = (ta.to(at::kDouble) - ub.to(at::kDouble)).norm().item<double>() /
                       std::max(ta.to(at::kDouble).norm().item<double>(), 1e-30);
    if (rel > worst) worst = rel, where = name;
  }
  std::printf("largest relative difference %.3g (%s), %d of %zu tensors differ bitwise, tolerance %.3g\n", worst,
              where.c_str(), differ, a.size(), tol);
  if (nonfinite) std::printf("non-finite values in the parameters\n");
  if (nonfinite) return 1;
  return tol == 0 ? (differ == 0 ? 0 : 1) : (worst <= tol ? 0 : 1);
}
