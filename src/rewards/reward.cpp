#include "dagalign/rewards/reward.h"

#include <cmath>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"

namespace dagalign {

void check_scores(const std::string& reward, const at::Tensor& scores, int64_t expected) {
  DAG_CHECK(scores.defined(), "reward '", reward, "': returned no scores (expected ", expected, ")");
  DAG_CHECK(scores.dim() == 1 && scores.size(0) == expected, "reward '", reward, "': expected ", expected,
            " scores, found shape ", scores.sizes());
  at::Tensor s = scores.to(at::kCPU, at::kDouble).contiguous();
  const double* v = s.data_ptr<double>();
  for (int64_t i = 0; i < expected; ++i)
    DAG_CHECK(std::isfinite(v[i]), "reward '", reward, "': non-finite score ", v[i], " for sample ", i, " of ",
              expected);
}

}  // namespace dagalign
