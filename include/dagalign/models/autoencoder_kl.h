#pragma once
// diffusers AutoencoderKL (autoencoder_kl.py, vae.py Encoder/Decoder, DiagonalGaussianDistribution).
// Module paths are the diffusers weight names (encoder.*, decoder.*, quant_conv, post_quant_conv).
//   encode: moments = quant_conv(encoder(x)), x in [-1, 1];  mean, logvar = chunk(moments, 2, dim 1)
//           logvar = clamp(logvar, -30, 20);  std = exp(logvar / 2);  z = mean + std * n
//   decode: y = decoder(post_quant_conv(z))
//   SD latents: l = (z - shift) * scaling_factor;  image = clamp(decode(l / scaling_factor + shift) / 2 + 0.5, 0, 1)
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "dagalign/models/vae_blocks.h"
#include "dagalign/models/vae_config.h"

namespace dagalign {

class VAEEncoderImpl : public torch::nn::Module {
 public:
  explicit VAEEncoderImpl(const VAEConfig& c);
  at::Tensor forward(const at::Tensor& x);  // [B, 2 * latent_channels, H/f, W/f]
  torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList down_blocks;
  UNetMidBlock2D mid_block{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};
};
TORCH_MODULE(VAEEncoder);

class VAEDecoderImpl : public torch::nn::Module {
 public:
  explicit VAEDecoderImpl(const VAEConfig& c);
  at::Tensor forward(const at::Tensor& z);
  torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  UNetMidBlock2D mid_block{nullptr};
  torch::nn::ModuleList up_blocks;
  torch::nn::GroupNorm conv_norm_out{nullptr};
};
TORCH_MODULE(VAEDecoder);

struct DiagonalGaussian {
  at::Tensor mean, logvar, std;
  at::Tensor sample(c10::optional<at::Generator> gen = c10::nullopt) const;
  at::Tensor mode() const { return mean; }
};

class AutoencoderKLImpl : public torch::nn::Module {
 public:
  explicit AutoencoderKLImpl(const VAEConfig& config);
  DiagonalGaussian encode(const at::Tensor& x);  // x in [-1, 1], [B, 3, H, W]
  at::Tensor decode(const at::Tensor& z);        // unscaled latents -> image in about [-1, 1]
  // images in [0, 1] -> scaled latents (posterior mean, or a sample when gen is given)
  at::Tensor latents_from_images(const at::Tensor& images01, c10::optional<at::Generator> gen = c10::nullopt);
  // scaled latents (what the UNet sees) -> images in [0, 1]
  at::Tensor images_from_latents(const at::Tensor& latents);

  VAEConfig config;
  VAEEncoder encoder{nullptr};
  VAEDecoder decoder{nullptr};
  torch::nn::Conv2d quant_conv{nullptr}, post_quant_conv{nullptr};
};
TORCH_MODULE(AutoencoderKL);

}  // namespace dagalign
