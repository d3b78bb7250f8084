#pragma once
// diffusers ResnetBlock2D (resnet.py), Downsample2D (downsampling.py), Upsample2D (upsampling.py).
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "dagalign/models/lora_linear.h"

namespace dagalign {

// Normalisation in the weights' dtype (float32): under bf16 autocast the input may be bf16, which
// LibTorch 1.13's CPU group_norm/layer_norm reject with float32 weights (CUDA autocast runs these in
// float32 too). Returns the float32 result; the next conv/linear casts it back under autocast.
at::Tensor norm_in_weight_dtype(torch::nn::GroupNorm& norm, const at::Tensor& x);
at::Tensor norm_in_weight_dtype(torch::nn::LayerNorm& norm, const at::Tensor& x);

struct ResnetOptions {
  int64_t in_channels = 0, out_channels = 0;
  int64_t temb_channels = 0;  // 0: no time embedding (VAE)
  int64_t groups = 32;
  double eps = 1e-5;
};

// h = conv1(silu(norm1(x))) + time_emb_proj(silu(temb))[:, :, None, None]
// h = conv2(silu(norm2(h)));   out = (conv_shortcut(x) if in != out else x) + h
class ResnetBlock2DImpl : public torch::nn::Module {
 public:
  explicit ResnetBlock2DImpl(const ResnetOptions& o);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& temb = {});

  torch::nn::GroupNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv_shortcut{nullptr};
  LoraLinear time_emb_proj{nullptr};
};
TORCH_MODULE(ResnetBlock2D);

// conv 3x3 stride 2. padding 1 (UNet, downsample_padding = 1), or padding 0 after an asymmetric
// zero pad (0,1,0,1) on the right/bottom (VAE encoder, downsample_padding = 0).
class Downsample2DImpl : public torch::nn::Module {
 public:
  Downsample2DImpl(int64_t channels, int64_t padding);
  at::Tensor forward(const at::Tensor& x);
  int64_t padding;
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(Downsample2D);

// nearest x2 (or to `size` when given: the skip's spatial size), then conv 3x3 pad 1.
class Upsample2DImpl : public torch::nn::Module {
 public:
  explicit Upsample2DImpl(int64_t channels);
  at::Tensor forward(const at::Tensor& x, at::IntArrayRef size = {});
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(Upsample2D);

}  // namespace dagalign
