#pragma once
// DAG's flow network F~_phi(x_t, t, c) (docs/algorithms.md, [DAG] alignment/flow.py::ConditionalFlow):
// the down (encoder) half of a UNet2DConditionModel followed by a scalar head.
//
//   emb   = time_embedding(timestep_embedding(t, C0, flip_sin_to_cos, freq_shift))   C0 -> 4 C0, SiLU MLP
//   h     = conv_in(x_t)                                                              3x3, in -> C0
//   h     = down_blocks.i(h, emb, c)        every block downsamples (add_downsample=True on all of them);
//                                           CrossAttnDownBlock2D except the last, a plain DownBlock2D
//   log F = head(mean_{H,W} h)              Linear(C_last, 1), one scalar per sample
//
// The official network (SD 1.5 latents 4x64x64) has C = 64,128,256,256, 8 heads, 32 groups,
// cross_attention_dim 768, layers_per_block 1, so 64 -> 32 -> 16 -> 8 -> 4 and AvgPool2d(4) pools the 4x4 map
// to 1x1: exactly the spatial mean used here (which also accepts any other final size).
// Inputs: the raw state x_t (no CFG), int64 timesteps, the *conditional* prompt embeddings (B, L, D).
// Module paths follow diffusers' names (conv_in, time_embedding.linear_1, down_blocks.0.attentions.0...,
// down_blocks.0.downsamplers.0.conv, head); default PyTorch initialisation (no zero-init).
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "dagalign/models/embeddings.h"
#include "dagalign/diffusion/eps_model.h"
#include "dagalign/models/unet2d_blocks.h"

namespace dagalign {

struct ConditionalFlowConfig {
  int64_t in_channels = 4;
  std::vector<int64_t> channels{64, 128, 256, 256};  // block_out_channels
  // Per block: true = CrossAttnDownBlock2D, false = DownBlock2D. Empty: all but the last (DAG's layout).
  std::vector<bool> cross_attention;
  int64_t heads = 8;
  int64_t cross_attention_dim = 768;
  int64_t layers_per_block = 1;
  int64_t groups = 32;  // GroupNorm groups; must divide every channel count
  double norm_eps = 1e-5;
  bool flip_sin_to_cos = true;
  double freq_shift = 0.0;

  int64_t time_embed_dim() const { return channels.at(0) * 4; }
  bool block_has_attention(size_t i) const;
  // Throws ConfigError naming the field for empty channels, groups not dividing a channel count, etc.
  void validate() const;
};

class ConditionalFlowImpl : public torch::nn::Module {
 public:
  explicit ConditionalFlowImpl(const ConditionalFlowConfig& config);
  // x [B, in_channels, H, W]; t (B,) or a scalar; context [B, L, cross_attention_dim]. Returns (B,) log F~.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context);
  // The pooled features mean_{H,W} h [B, C_last] that the head reads (for tests and diagnostics).
  at::Tensor features(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context);

  ConditionalFlowConfig config;
  torch::nn::Conv2d conv_in{nullptr};
  TimestepEmbedding time_embedding{nullptr};
  torch::nn::ModuleList down_blocks;
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(ConditionalFlow);

// The FlowModel the objectives drive: log_flow = ConditionalFlow(x, t, cond); every parameter trainable.
class ConditionalFlowModel : public FlowModel {
 public:
  explicit ConditionalFlowModel(ConditionalFlow net, bool state_input = true)
      : net_(std::move(net)), state_input_(state_input) {}
  at::Tensor log_flow(const at::Tensor& x, const at::Tensor& t, const at::Tensor& cond) override {
    return net_->forward(state_input_ ? x : at::zeros_like(x), t, cond);
  }
  std::vector<at::Tensor> trainable_parameters() override { return net_->parameters(); }
  ConditionalFlow& net() { return net_; }

 private:
  ConditionalFlow net_;
  bool state_input_;
};

}  // namespace dagalign
