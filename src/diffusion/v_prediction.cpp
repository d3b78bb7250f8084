#include "dagalign/diffusion/v_prediction.h"

#include <ATen/ATen.h>

namespace dagalign {

// v = sqrt(abar) eps - sqrt(1 - abar) x0
at::Tensor v_target(const at::Tensor& x0, const at::Tensor& eps, const at::Tensor& abar) {
  return abar.sqrt() * eps - (1 - abar).sqrt() * x0;
}

// eps = sqrt(abar) v + sqrt(1 - abar) x_t
at::Tensor eps_from_v(const at::Tensor& v, const at::Tensor& x_t, const at::Tensor& abar) {
  return abar.sqrt() * v + (1 - abar).sqrt() * x_t;
}

}  // namespace dagalign
