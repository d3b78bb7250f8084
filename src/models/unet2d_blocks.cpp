#include "dagalign/models/unet2d_blocks.h"

#include <ATen/ATen.h>

namespace dagalign {
namespace {

ResnetBlock2D make_resnet(const UNetBlockOptions& o, int64_t in, int64_t out) {
  ResnetOptions r;
  r.in_channels = in;
  r.out_channels = out;
  r.temb_channels = o.temb_channels;
  r.groups = o.groups;
  r.eps = o.eps;
  return ResnetBlock2D(r);
}

Transformer2DModel make_transformer(const UNetBlockOptions& o, int64_t channels) {
  Transformer2DOptions t;
  t.channels = channels;
  t.heads = o.heads;
  t.cross_attention_dim = o.cross_attention_dim;
  t.num_layers = o.transformer_layers;
  t.norm_groups = o.groups;
  t.use_linear_projection = o.use_linear_projection;
  return Transformer2DModel(t);
}

}  // namespace

UNetDownBlockImpl::UNetDownBlockImpl(const UNetBlockOptions& o) {
  // diffusers registers attentions before resnets; the order only affects named_parameters() order.
  if (o.with_attention) attentions = register_module("attentions", torch::nn::ModuleList());
  resnets = register_module("resnets", torch::nn::ModuleList());
  for (int64_t j = 0; j < o.num_layers; ++j) {
    resnets->push_back(make_resnet(o, j == 0 ? o.in_channels : o.out_channels, o.out_channels));
    if (o.with_attention) attentions->push_back(make_transformer(o, o.out_channels));
  }
  if (o.add_sampler) {
    downsamplers = register_module("downsamplers", torch::nn::ModuleList());
    downsamplers->push_back(Downsample2D(o.out_channels, o.downsample_padding));
  }
}

std::vector<at::Tensor> UNetDownBlockImpl::forward(const at::Tensor& x, const at::Tensor& temb,
                                                   const at::Tensor& context) {
  std::vector<at::Tensor> out{x};
  at::Tensor h = x;
  for (size_t j = 0; j < resnets->size(); ++j) {
    h = resnets->ptr<ResnetBlock2DImpl>(j)->forward(h, temb);
    if (attentions) h = attentions->ptr<Transformer2DModelImpl>(j)->forward(h, context);
    out.push_back(h);
  }
  if (downsamplers) {
    h = downsamplers->ptr<Downsample2DImpl>(0)->forward(h);
    out.push_back(h);
  }
  out[0] = h;
  return out;
}

UNetUpBlockImpl::UNetUpBlockImpl(const UNetBlockOptions& o) {
  if (o.with_attention) attentions = register_module("attentions", torch::nn::ModuleList());
  resnets = register_module("resnets", torch::nn::ModuleList());
  for (int64_t j = 0; j < o.num_layers; ++j) {
    // skip j comes from the down path: the last one is the down block's input (in_channels)
    const int64_t skip = j == o.num_layers - 1 ? o.in_channels : o.out_channels;
    const int64_t in = j == 0 ? o.prev_output_channels : o.out_channels;
    resnets->push_back(make_resnet(o, in + skip, o.out_channels));
    if (o.with_attention) attentions->push_back(make_transformer(o, o.out_channels));
  }
  if (o.add_sampler) {
    upsamplers = register_module("upsamplers", torch::nn::ModuleList());
    upsamplers->push_back(Upsample2D(o.out_channels));
  }
}

at::Tensor UNetUpBlockImpl::forward(const at::Tensor& x, const at::Tensor& temb, const at::Tensor& context,
                                    std::vector<at::Tensor> skips, at::IntArrayRef upsample_size) {
  at::Tensor h = x;
  for (size_t j = 0; j < resnets->size(); ++j) {
    h = at::cat({h, skips.back()}, 1);
    skips.pop_back();
    h = resnets->ptr<ResnetBlock2DImpl>(j)->forward(h, temb);
    if (attentions) h = attentions->ptr<Transformer2DModelImpl>(j)->forward(h, context);
  }
  if (upsamplers) h = upsamplers->ptr<Upsample2DImpl>(0)->forward(h, upsample_size);
  return h;
}

UNetMidBlock2DCrossAttnImpl::UNetMidBlock2DCrossAttnImpl(const UNetBlockOptions& o) {
  attentions = register_module("attentions", torch::nn::ModuleList());
  resnets = register_module("resnets", torch::nn::ModuleList());
  resnets->push_back(make_resnet(o, o.in_channels, o.in_channels));
  for (int64_t j = 0; j < o.num_layers; ++j) {
    attentions->push_back(make_transformer(o, o.in_channels));
    resnets->push_back(make_resnet(o, o.in_channels, o.in_channels));
  }
}

at::Tensor UNetMidBlock2DCrossAttnImpl::forward(const at::Tensor& x, const at::Tensor& temb,
                                                const at::Tensor& context) {
  at::Tensor h = resnets->ptr<ResnetBlock2DImpl>(0)->forward(x, temb);
  for (size_t j = 0; j < attentions->size(); ++j) {
    h = attentions->ptr<Transformer2DModelImpl>(j)->forward(h, context);
    h = resnets->ptr<ResnetBlock2DImpl>(j + 1)->forward(h, temb);
  }
  return h;
}

}  // namespace dagalign
