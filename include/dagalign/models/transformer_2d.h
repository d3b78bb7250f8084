#pragma once
// diffusers Transformer2DModel, continuous input (transformer_2d.py):
//   h = norm(x)  (GroupNorm, eps 1e-6 hard-coded in diffusers)
//   h = proj_in(h) -> [B,HW,C]   (1x1 conv before the reshape, or Linear after it if use_linear_projection)
//   h = transformer_blocks(h, context)
//   out = proj_out(h) -> [B,C,H,W] + x
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "dagalign/models/attention.h"

namespace dagalign {

struct Transformer2DOptions {
  int64_t channels = 0;             // in = inner = out channels (heads * dim_head)
  int64_t heads = 8;
  int64_t cross_attention_dim = 768;
  int64_t num_layers = 1;           // transformer_layers_per_block
  int64_t norm_groups = 32;
  bool use_linear_projection = false;
};

class Transformer2DModelImpl : public torch::nn::Module {
 public:
  explicit Transformer2DModelImpl(const Transformer2DOptions& o);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context);

  Transformer2DOptions opt;
  torch::nn::GroupNorm norm{nullptr};
  // exactly one of the conv/linear pair exists, registered as "proj_in"/"proj_out"
  torch::nn::Conv2d proj_in_conv{nullptr}, proj_out_conv{nullptr};
  LoraLinear proj_in_linear{nullptr}, proj_out_linear{nullptr};
  torch::nn::ModuleList transformer_blocks;
};
TORCH_MODULE(Transformer2DModel);

}  // namespace dagalign
