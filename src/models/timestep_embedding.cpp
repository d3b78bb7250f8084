#include "dagalign/models/timestep_embedding.h"

#include <cmath>

#include <ATen/ATen.h>

namespace dagalign {

at::Tensor timestep_embedding(const at::Tensor& t, int64_t dim, bool flip_sin_to_cos, double shift,
                              double max_period) {
  const int64_t half = dim / 2;
  auto k = at::arange(half, at::TensorOptions().dtype(at::kFloat).device(t.device()));
  auto freqs = at::exp(-std::log(max_period) * k / (half - shift));
  auto args = t.to(at::kFloat).unsqueeze(1) * freqs.unsqueeze(0);
  auto emb = flip_sin_to_cos ? at::cat({args.cos(), args.sin()}, 1) : at::cat({args.sin(), args.cos()}, 1);
  if (dim % 2) emb = at::constant_pad_nd(emb, {0, 1});
  return emb;
}

}  // namespace dagalign
