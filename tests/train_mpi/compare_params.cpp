// compare_params A.safetensors B.safetensors TOL: exit 0 when both hold the same tensors and every tensor's
// relative difference ||a - b|| / ||a|| is <= TOL; prints the largest one.
#include <cstdio>
#include <cstdlib>

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
  std::string where;
  for (const auto& [name, t] : a) {
    auto it = b.find(name);
    if (it == b.end()) {
      std::fprintf(stderr, "%s missing in %s\n", name.c_str(), argv[2]);
      return 1;
    }
    const double rel = (t.to(at::kDouble) - it->second.to(at::kDouble)).norm().item<double>() /
                       std::max(t.to(at::kDouble).norm().item<double>(), 1e-30);
    if (rel > worst) worst = rel, where = name;
  }
  std::printf("largest relative difference %.3g (%s), tolerance %.3g\n", worst, where.c_str(), tol);
  return worst <= tol ? 0 : 1;
}
