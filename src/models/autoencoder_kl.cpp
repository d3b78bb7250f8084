#include "dagalign/models/autoencoder_kl.h"

#include <ATen/ATen.h>

namespace dagalign {

using torch::nn::Conv2dOptions;
using torch::nn::GroupNormOptions;

VAEEncoderImpl::VAEEncoderImpl(const VAEConfig& c) {
  const auto& ch = c.block_out_channels;
  const size_t n = ch.size();
  conv_in = register_module("conv_in", torch::nn::Conv2d(Conv2dOptions(c.in_channels, ch[0], 3).padding(1)));
  down_blocks = register_module("down_blocks", torch::nn::ModuleList());
  int64_t out = ch[0];
  for (size_t i = 0; i < n; ++i) {
    const int64_t in = out;
    out = ch[i];
    down_blocks->push_back(DownEncoderBlock2D(in, out, c.layers_per_block, i + 1 < n, c.norm_num_groups));
  }
  mid_block = register_module("mid_block", UNetMidBlock2D(ch[n - 1], c.norm_num_groups, c.mid_block_add_attention));
  conv_norm_out = register_module("conv_norm_out",
                                  torch::nn::GroupNorm(GroupNormOptions(c.norm_num_groups, ch[n - 1]).eps(1e-6)));
  conv_out = register_module("conv_out",
                             torch::nn::Conv2d(Conv2dOptions(ch[n - 1], 2 * c.latent_channels, 3).padding(1)));
}

at::Tensor VAEEncoderImpl::forward(const at::Tensor& x) {
  at::Tensor h = conv_in(x);
  for (size_t i = 0; i < down_blocks->size(); ++i) h = down_blocks->ptr<DownEncoderBlock2DImpl>(i)->forward(h);
  h = mid_block(h);
  return conv_out(at::silu(norm_in_weight_dtype(conv_norm_out, h)));
}

VAEDecoderImpl::VAEDecoderImpl(const VAEConfig& c) {
  const auto& ch = c.block_out_channels;
  const size_t n = ch.size();
  conv_in = register_module("conv_in", torch::nn::Conv2d(Conv2dOptions(c.latent_channels, ch[n - 1], 3).padding(1)));
  mid_block = register_module("mid_block", UNetMidBlock2D(ch[n - 1], c.norm_num_groups, c.mid_block_add_attention));
  up_blocks = register_module("up_blocks", torch::nn::ModuleList());
  int64_t out = ch[n - 1];
  for (size_t i = 0; i < n; ++i) {
    const int64_t in = out;
    out = ch[n - 1 - i];
    up_blocks->push_back(UpDecoderBlock2D(in, out, c.layers_per_block + 1, i + 1 < n, c.norm_num_groups));
  }
  conv_norm_out = register_module("conv_norm_out",
                                  torch::nn::GroupNorm(GroupNormOptions(c.norm_num_groups, ch[0]).eps(1e-6)));
  conv_out = register_module("conv_out", torch::nn::Conv2d(Conv2dOptions(ch[0], c.out_channels, 3).padding(1)));
}

at::Tensor VAEDecoderImpl::forward(const at::Tensor& z) {
  at::Tensor h = mid_block(conv_in(z));
  for (size_t i = 0; i < up_blocks->size(); ++i) h = up_blocks->ptr<UpDecoderBlock2DImpl>(i)->forward(h);
  return conv_out(at::silu(norm_in_weight_dtype(conv_norm_out, h)));
}

at::Tensor DiagonalGaussian::sample(c10::optional<at::Generator> gen) const {
  return mean + std * at::randn(mean.sizes(), gen, mean.options());
}

AutoencoderKLImpl::AutoencoderKLImpl(const VAEConfig& c) : config(c) {
  encoder = register_module("encoder", VAEEncoder(c));
  decoder = register_module("decoder", VAEDecoder(c));
  const int64_t L = c.latent_channels;
  if (c.use_quant_conv) quant_conv = register_module("quant_conv", torch::nn::Conv2d(Conv2dOptions(2 * L, 2 * L, 1)));
  if (c.use_post_quant_conv)
    post_quant_conv = register_module("post_quant_conv", torch::nn::Conv2d(Conv2dOptions(L, L, 1)));
}

DiagonalGaussian AutoencoderKLImpl::encode(const at::Tensor& x) {
  at::Tensor moments = encoder(x);
  if (quant_conv) moments = quant_conv(moments);
  auto parts = moments.chunk(2, 1);
  DiagonalGaussian d;
  d.mean = parts[0];
  d.logvar = at::clamp(parts[1], -30.0, 20.0);
  d.std = at::exp(0.5 * d.logvar);
  return d;
}

at::Tensor AutoencoderKLImpl::decode(const at::Tensor& z) {
  return decoder(post_quant_conv ? post_quant_conv(z) : z);
}

at::Tensor AutoencoderKLImpl::latents_from_images(const at::Tensor& images01, c10::optional<at::Generator> gen) {
  DiagonalGaussian d = encode(images01 * 2.0 - 1.0);
  at::Tensor z = gen.has_value() ? d.sample(gen) : d.mode();
  return (z - config.shift_factor) * config.scaling_factor;
}

at::Tensor AutoencoderKLImpl::images_from_latents(const at::Tensor& latents) {
  at::Tensor y = decode(latents / config.scaling_factor + config.shift_factor);
  return at::clamp(y / 2.0 + 0.5, 0.0, 1.0);
}

}  // namespace dagalign
