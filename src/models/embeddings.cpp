#include "dagalign/models/embeddings.h"

#include <ATen/ATen.h>

namespace dagalign {

TimestepEmbeddingImpl::TimestepEmbeddingImpl(int64_t in_channels, int64_t time_embed_dim) {
  linear_1 = register_module("linear_1", LoraLinear(in_channels, time_embed_dim));
  linear_2 = register_module("linear_2", LoraLinear(time_embed_dim, time_embed_dim));
}

at::Tensor TimestepEmbeddingImpl::forward(const at::Tensor& t_emb) { return linear_2(at::silu(linear_1(t_emb))); }

}  // namespace dagalign
