#pragma once
// diffusers embeddings.py: get_timestep_embedding (the Timesteps module) and TimestepEmbedding.
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "dagalign/models/lora_linear.h"

namespace dagalign {

// Sinusoidal embedding of (B,) timesteps -> [B, dim] float32 (diffusers get_timestep_embedding):
//   f_k = exp(-ln(max_period) * k / (half - shift)), k < half = dim / 2;  e = [sin(t f), cos(t f)]
//   flip_sin_to_cos: e = [cos(t f), sin(t f)];  odd dim: one zero column appended.
at::Tensor get_timestep_embedding(const at::Tensor& t, int64_t dim, bool flip_sin_to_cos, double shift,
                                  double max_period = 10000.0);

// linear_2(silu(linear_1(t_emb)))

class TimestepEmbeddingImpl : public torch::nn::Module {
 public:
  TimestepEmbeddingImpl(int64_t in_channels, int64_t time_embed_dim);
  at::Tensor forward(const at::Tensor& t_emb);
  LoraLinear linear_1{nullptr}, linear_2{nullptr};
};
TORCH_MODULE(TimestepEmbedding);

}  // namespace dagalign
