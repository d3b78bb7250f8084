#pragma once
// v-prediction (Salimans & Ho 2022; diffusers prediction_type "v_prediction"). With
//   x_t = sqrt(abar) x0 + sqrt(1 - abar) eps      and      v = sqrt(abar) eps - sqrt(1 - abar) x0:
//   eps = sqrt(abar) v + sqrt(1 - abar) x_t       x0 = sqrt(abar) x_t - sqrt(1 - abar) v.
// A v-loss |v - v_hat|^2 equals the eps-loss / abar = (1 + 1/SNR) eps-loss: unlike the eps-loss it keeps
// weight on the x0 error at high noise, where a small model decides colours and layout.
#include <ATen/core/Tensor.h>

namespace dagalign {

// abar broadcasts against x (e.g. (N, 1, 1, 1)).
at::Tensor v_target(const at::Tensor& x0, const at::Tensor& eps, const at::Tensor& abar);
at::Tensor eps_from_v(const at::Tensor& v, const at::Tensor& x_t, const at::Tensor& abar);

}  // namespace dagalign
