#pragma once
// diffusers unet_2d_blocks.py: CrossAttnDownBlock2D / DownBlock2D, CrossAttnUpBlock2D / UpBlock2D,
// UNetMidBlock2DCrossAttn. A block "with attention" pairs every resnet with a Transformer2DModel.
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "dagalign/models/resnet.h"
#include "dagalign/models/transformer_2d.h"

namespace dagalign {

struct UNetBlockOptions {
  int64_t in_channels = 0, out_channels = 0;
  int64_t prev_output_channels = 0;  // up blocks: channels coming from the block below
  int64_t temb_channels = 0;
  int64_t num_layers = 1;
  bool with_attention = false;       // CrossAttn* vs plain
  bool add_sampler = false;          // downsamplers.0 / upsamplers.0
  int64_t downsample_padding = 1;
  int64_t heads = 8;
  int64_t cross_attention_dim = 768;
  int64_t transformer_layers = 1;
  int64_t groups = 32;
  double eps = 1e-5;
  bool use_linear_projection = false;
};

// Down block: for each layer: h = resnet(h, temb); h = attn(h, ctx); skips += h;
// then h = downsampler(h); skips += h.  Returns {h, skip_1, ..., skip_k}.
class UNetDownBlockImpl : public torch::nn::Module {
 public:
  explicit UNetDownBlockImpl(const UNetBlockOptions& o);
  std::vector<at::Tensor> forward(const at::Tensor& x, const at::Tensor& temb, const at::Tensor& context);
  torch::nn::ModuleList resnets, attentions{nullptr}, downsamplers{nullptr};
};
TORCH_MODULE(UNetDownBlock);

// Up block: for each layer: h = cat([h, skips.pop()], dim 1); h = resnet(h, temb); h = attn(h, ctx);
// then upsample to `upsample_size` (the next skip's H, W). `skips` holds this block's skips, oldest first.
class UNetUpBlockImpl : public torch::nn::Module {
 public:
  explicit UNetUpBlockImpl(const UNetBlockOptions& o);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& temb, const at::Tensor& context,
                     std::vector<at::Tensor> skips, at::IntArrayRef upsample_size = {});
  int64_t num_layers() const { return static_cast<int64_t>(resnets->size()); }
  torch::nn::ModuleList resnets, attentions{nullptr}, upsamplers{nullptr};
};
TORCH_MODULE(UNetUpBlock);

// UNetMidBlock2DCrossAttn: h = resnets.0(h); for each (attn, resnet): h = resnet(attn(h, ctx)).
class UNetMidBlock2DCrossAttnImpl : public torch::nn::Module {
 public:
  explicit UNetMidBlock2DCrossAttnImpl(const UNetBlockOptions& o);  // uses in_channels, num_layers = 1
  at::Tensor forward(const at::Tensor& x, const at::Tensor& temb, const at::Tensor& context);
  torch::nn::ModuleList attentions, resnets;
};
TORCH_MODULE(UNetMidBlock2DCrossAttn);

}  // namespace dagalign
