#include "dagalign/models/resnet.h"

#include <ATen/ATen.h>

namespace dagalign {

at::Tensor norm_in_weight_dtype(torch::nn::GroupNorm& norm, const at::Tensor& x) {
  const auto t = norm->weight.defined() ? norm->weight.scalar_type() : x.scalar_type();
  return norm(x.scalar_type() == t ? x : x.to(t));
}

at::Tensor norm_in_weight_dtype(torch::nn::LayerNorm& norm, const at::Tensor& x) {
  const auto t = norm->weight.defined() ? norm->weight.scalar_type() : x.scalar_type();
  return norm(x.scalar_type() == t ? x : x.to(t));
}

using torch::nn::Conv2dOptions;
using torch::nn::GroupNormOptions;

ResnetBlock2DImpl::ResnetBlock2DImpl(const ResnetOptions& o) {
  norm1 = register_module("norm1", torch::nn::GroupNorm(GroupNormOptions(o.groups, o.in_channels).eps(o.eps)));
  conv1 = register_module("conv1", torch::nn::Conv2d(Conv2dOptions(o.in_channels, o.out_channels, 3).padding(1)));
  if (o.temb_channels > 0) time_emb_proj = register_module("time_emb_proj", LoraLinear(o.temb_channels, o.out_channels));
  norm2 = register_module("norm2", torch::nn::GroupNorm(GroupNormOptions(o.groups, o.out_channels).eps(o.eps)));
  conv2 = register_module("conv2", torch::nn::Conv2d(Conv2dOptions(o.out_channels, o.out_channels, 3).padding(1)));
  if (o.in_channels != o.out_channels)
    conv_shortcut = register_module("conv_shortcut", torch::nn::Conv2d(Conv2dOptions(o.in_channels, o.out_channels, 1)));
}

at::Tensor ResnetBlock2DImpl::forward(const at::Tensor& x, const at::Tensor& temb) {
  at::Tensor h = conv1(at::silu(norm_in_weight_dtype(norm1, x)));
  if (time_emb_proj) h = h + time_emb_proj(at::silu(temb)).unsqueeze(-1).unsqueeze(-1);
  h = conv2(at::silu(norm_in_weight_dtype(norm2, h)));  // dropout p = 0
  return (conv_shortcut ? conv_shortcut(x) : x) + h;
}

Downsample2DImpl::Downsample2DImpl(int64_t channels, int64_t pad) : padding(pad) {
  conv = register_module("conv", torch::nn::Conv2d(Conv2dOptions(channels, channels, 3).stride(2).padding(pad)));
}

at::Tensor Downsample2DImpl::forward(const at::Tensor& x) {
  if (padding == 0) return conv(at::constant_pad_nd(x, {0, 1, 0, 1}, 0));
  return conv(x);
}

Upsample2DImpl::Upsample2DImpl(int64_t channels) {
  conv = register_module("conv", torch::nn::Conv2d(Conv2dOptions(channels, channels, 3).padding(1)));
}

at::Tensor Upsample2DImpl::forward(const at::Tensor& x, at::IntArrayRef size) {
  at::Tensor h = size.empty() ? at::upsample_nearest2d(x, {2 * x.size(2), 2 * x.size(3)})
                              : at::upsample_nearest2d(x, size);
  return conv(h);
}

}  // namespace dagalign
