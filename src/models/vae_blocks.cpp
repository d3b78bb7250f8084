#include "dagalign/models/vae_blocks.h"

#include <ATen/ATen.h>

namespace dagalign {
namespace {

constexpr double kVaeEps = 1e-6;

ResnetBlock2D vae_resnet(int64_t in, int64_t out, int64_t groups) {
  ResnetOptions r;
  r.in_channels = in;
  r.out_channels = out;
  r.groups = groups;
  r.eps = kVaeEps;
  return ResnetBlock2D(r);
}

}  // namespace

DownEncoderBlock2DImpl::DownEncoderBlock2DImpl(int64_t in, int64_t out, int64_t num_layers, bool add_downsample,
                                               int64_t groups) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  for (int64_t j = 0; j < num_layers; ++j) resnets->push_back(vae_resnet(j == 0 ? in : out, out, groups));
  if (add_downsample) {
    downsamplers = register_module("downsamplers", torch::nn::ModuleList());
    downsamplers->push_back(Downsample2D(out, /*padding=*/0));
  }
}

at::Tensor DownEncoderBlock2DImpl::forward(const at::Tensor& x) {
  at::Tensor h = x;
  for (size_t j = 0; j < resnets->size(); ++j) h = resnets->ptr<ResnetBlock2DImpl>(j)->forward(h);
  if (downsamplers) h = downsamplers->ptr<Downsample2DImpl>(0)->forward(h);
  return h;
}

UpDecoderBlock2DImpl::UpDecoderBlock2DImpl(int64_t in, int64_t out, int64_t num_layers, bool add_upsample,
                                           int64_t groups) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  for (int64_t j = 0; j < num_layers; ++j) resnets->push_back(vae_resnet(j == 0 ? in : out, out, groups));
  if (add_upsample) {
    upsamplers = register_module("upsamplers", torch::nn::ModuleList());
    upsamplers->push_back(Upsample2D(out));
  }
}

at::Tensor UpDecoderBlock2DImpl::forward(const at::Tensor& x) {
  at::Tensor h = x;
  for (size_t j = 0; j < resnets->size(); ++j) h = resnets->ptr<ResnetBlock2DImpl>(j)->forward(h);
  if (upsamplers) h = upsamplers->ptr<Upsample2DImpl>(0)->forward(h);
  return h;
}

UNetMidBlock2DImpl::UNetMidBlock2DImpl(int64_t channels, int64_t groups, bool add_attention) {
  if (add_attention) {
    attentions = register_module("attentions", torch::nn::ModuleList());
    AttentionOptions a;
    a.query_dim = channels;
    a.heads = 1;  // heads = C / attention_head_dim with attention_head_dim = C
    a.dim_head = channels;
    a.qkv_bias = true;
    a.norm_groups = groups;
    a.norm_eps = kVaeEps;
    attentions->push_back(Attention(a));
  }
  resnets = register_module("resnets", torch::nn::ModuleList());
  resnets->push_back(vae_resnet(channels, channels, groups));
  resnets->push_back(vae_resnet(channels, channels, groups));
}

at::Tensor UNetMidBlock2DImpl::forward(const at::Tensor& x) {
  at::Tensor h = resnets->ptr<ResnetBlock2DImpl>(0)->forward(x);
  if (attentions) h = attentions->ptr<AttentionImpl>(0)->forward_spatial(h);
  return resnets->ptr<ResnetBlock2DImpl>(1)->forward(h);
}

}  // namespace dagalign
