#pragma once
// diffusers UNet2DConditionModel (unet_2d_condition.py), built from unet/config.json. Module paths are
// the diffusers weight names, so named_parameters() is the key set of diffusion_pytorch_model.safetensors.
//
// forward:  emb = time_embedding(timestep_embedding(t, C0, flip_sin_to_cos, freq_shift))
//           h = conv_in(x);  skips = [h]
//           down blocks: h, s... = block(h, emb, ctx);  skips += s
//           h = mid_block(h, emb, ctx)
//           up blocks: h = block(h, emb, ctx, skips.pop(n_layers), upsample to the next skip's size)
//           eps = conv_out(silu(conv_norm_out(h)))
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "dagalign/models/embeddings.h"
#include "dagalign/models/unet2d_blocks.h"
#include "dagalign/models/unet_config.h"

namespace dagalign {

class UNet2DConditionModelImpl : public torch::nn::Module {
 public:
  explicit UNet2DConditionModelImpl(const UNetConfig& config);
  // x [B, in_channels, H, W]; t: (B,) or a scalar (broadcast), any numeric dtype;
  // context [B, L, cross_attention_dim]. Returns [B, out_channels, H, W].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context);
  // Recompute every down/mid/up block in backward instead of storing its activations.
  void set_gradient_checkpointing(bool on) { gradient_checkpointing_ = on; }
  bool gradient_checkpointing() const { return gradient_checkpointing_; }

  UNetConfig config;
  torch::nn::Conv2d conv_in{nullptr};
  TimestepEmbedding time_embedding{nullptr};
  torch::nn::ModuleList down_blocks, up_blocks;
  UNetMidBlock2DCrossAttn mid_block{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};
  torch::nn::Conv2d conv_out{nullptr};

 private:
  bool gradient_checkpointing_ = false;
};
TORCH_MODULE(UNet2DConditionModel);

}  // namespace dagalign
