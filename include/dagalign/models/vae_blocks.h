#pragma once
// diffusers VAE blocks (unet_2d_blocks.py): DownEncoderBlock2D, UpDecoderBlock2D, UNetMidBlock2D.
// No time embedding; every GroupNorm eps 1e-6.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "dagalign/models/attention.h"
#include "dagalign/models/resnet.h"

namespace dagalign {

// resnets (in -> out, then out -> out), then downsamplers.0 (pad (0,1,0,1) + conv stride 2, padding 0).
class DownEncoderBlock2DImpl : public torch::nn::Module {
 public:
  DownEncoderBlock2DImpl(int64_t in, int64_t out, int64_t num_layers, bool add_downsample, int64_t groups);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::ModuleList resnets, downsamplers{nullptr};
};
TORCH_MODULE(DownEncoderBlock2D);

// resnets (in -> out, then out -> out; layers_per_block + 1 of them), then upsamplers.0 (nearest x2 + conv).
class UpDecoderBlock2DImpl : public torch::nn::Module {
 public:
  UpDecoderBlock2DImpl(int64_t in, int64_t out, int64_t num_layers, bool add_upsample, int64_t groups);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::ModuleList resnets, upsamplers{nullptr};
};
TORCH_MODULE(UpDecoderBlock2D);

// resnets.0 -> attentions.0 (single head of dim C, group_norm, q/k/v with bias, residual) -> resnets.1
class UNetMidBlock2DImpl : public torch::nn::Module {
 public:
  UNetMidBlock2DImpl(int64_t channels, int64_t groups, bool add_attention);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::ModuleList attentions{nullptr}, resnets;
};
TORCH_MODULE(UNetMidBlock2D);

}  // namespace dagalign
