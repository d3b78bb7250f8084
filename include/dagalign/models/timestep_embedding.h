#pragma once
// Sinusoidal timestep embedding (diffusers get_timestep_embedding):
//   freq_k = exp(-ln(max_period) * k / (half - shift)),  emb = [sin(t f), cos(t f)]  (flip: [cos, sin])
#include <ATen/core/Tensor.h>

namespace dagalign {

at::Tensor timestep_embedding(const at::Tensor& t, int64_t dim, bool flip_sin_to_cos = true, double shift = 0.0,
                              double max_period = 10000.0);

}  // namespace dagalign
