#pragma once
// diffusers embeddings.py TimestepEmbedding: linear_2(silu(linear_1(t_emb))), applied to the sinusoidal
// embedding of models/timestep_embedding.h (diffusers Timesteps / get_timestep_embedding).
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "dagalign/models/lora_linear.h"

namespace dagalign {

class TimestepEmbeddingImpl : public torch::nn::Module {
 public:
  TimestepEmbeddingImpl(int64_t in_channels, int64_t time_embed_dim);
  at::Tensor forward(const at::Tensor& t_emb);
  LoraLinear linear_1{nullptr}, linear_2{nullptr};
};
TORCH_MODULE(TimestepEmbedding);

}  // namespace dagalign
