#include "dagalign/models/embeddings.h"

#include <cmath>

#include <ATen/ATen.h>

namespace dagalign {

at::Tensor get_timestep_embedding(const at::Tensor& t, int64_t dim, bool flip_sin_to_cos, double shift,
                                  double max_period) {
  const int64_t half = dim / 2;
  at::Tensor k = at::arange(half, at::TensorOptions().dtype(at::kFloat).device(t.device()));
  at::Tensor freqs = at::exp(k * (-std::log(max_period) / (static_cast<double>(half) - shift)));
  at::Tensor args = t.to(at::kFloat).unsqueeze(1) * freqs.unsqueeze(0);
  at::Tensor emb = flip_sin_to_cos ? at::cat({args.cos(), args.sin()}, 1) : at::cat({args.sin(), args.cos()}, 1);
  if (dim % 2) emb = at::constant_pad_nd(emb, {0, 1});
  return emb;
}

TimestepEmbeddingImpl::TimestepEmbeddingImpl(int64_t in_channels, int64_t time_embed_dim) {
  linear_1 = register_module("linear_1", LoraLinear(in_channels, time_embed_dim));
  linear_2 = register_module("linear_2", LoraLinear(time_embed_dim, time_embed_dim));
}

at::Tensor TimestepEmbeddingImpl::forward(const at::Tensor& t_emb) { return linear_2(at::silu(linear_1(t_emb))); }

}  // namespace dagalign
