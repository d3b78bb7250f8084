#include "dagalign/models/conditional_flow.h"

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/models/timestep_embedding.h"

namespace dagalign {

bool ConditionalFlowConfig::block_has_attention(size_t i) const {
  if (cross_attention.empty()) return i + 1 < channels.size();  // DAG: [CrossAttnDown x (n-1), Down]
  return cross_attention.at(i);
}

void ConditionalFlowConfig::validate() const {
  if (channels.empty()) throw ConfigError("flow.channels: at least one block is needed");
  if (!cross_attention.empty() && cross_attention.size() != channels.size())
    throw ConfigError(cat("flow: ", cross_attention.size(), " cross-attention flags for ", channels.size(), " blocks"));
  auto positive = [](const char* key, int64_t v) {
    if (v <= 0) throw ConfigError(cat(key, " must be > 0, found ", v));
  };
  positive("flow in_channels", in_channels);
  positive("flow.heads", heads);
  positive("flow.groups", groups);
  positive("flow.layers_per_block", layers_per_block);
  positive("flow cross_attention_dim", cross_attention_dim);
  for (size_t i = 0; i < channels.size(); ++i) {
    positive("flow.channels", channels[i]);
    if (channels[i] % groups != 0)
      throw ConfigError(cat("flow.groups: ", groups, " groups do not divide block ", i, "'s ", channels[i], " channels"));
    if (block_has_attention(i) && channels[i] % heads != 0)
      throw ConfigError(cat("flow.heads: ", heads, " heads do not divide block ", i, "'s ", channels[i], " channels"));
  }
}

ConditionalFlowImpl::ConditionalFlowImpl(const ConditionalFlowConfig& c) : config(c) {
  c.validate();
  using torch::nn::Conv2dOptions;
  const auto& ch = c.channels;
  conv_in = register_module("conv_in", torch::nn::Conv2d(Conv2dOptions(c.in_channels, ch[0], 3).padding(1)));
  time_embedding = register_module("time_embedding", TimestepEmbedding(ch[0], c.time_embed_dim()));
  down_blocks = register_module("down_blocks", torch::nn::ModuleList());
  int64_t out_ch = ch[0];
  for (size_t i = 0; i < ch.size(); ++i) {
    UNetBlockOptions o;
    o.in_channels = out_ch;
    o.out_channels = out_ch = ch[i];
    o.temb_channels = c.time_embed_dim();
    o.num_layers = c.layers_per_block;
    o.with_attention = c.block_has_attention(i);
    o.add_sampler = true;  // every block halves the resolution
    o.downsample_padding = 1;
    o.heads = c.heads;
    o.cross_attention_dim = c.cross_attention_dim;
    o.groups = c.groups;
    o.eps = c.norm_eps;
    down_blocks->push_back(UNetDownBlock(o));
  }
  head = register_module("head", torch::nn::Linear(ch.back(), 1));
}

at::Tensor ConditionalFlowImpl::features(const at::Tensor& x, const at::Tensor& t_in, const at::Tensor& context) {
  DAG_CHECK(x.dim() == 4 && x.size(1) == config.in_channels, "ConditionalFlow: expected input [B, ",
            config.in_channels, ", H, W], got ", x.sizes());
  DAG_CHECK(context.defined() && context.dim() == 3 && context.size(0) == x.size(0) &&
                context.size(2) == config.cross_attention_dim,
            "ConditionalFlow: expected context [", x.size(0), ", L, ", config.cross_attention_dim, "], got ",
            context.defined() ? context.sizes() : at::IntArrayRef{});
  at::Tensor t = t_in.dim() == 0 ? t_in.expand({x.size(0)}) : t_in;
  DAG_CHECK(t.dim() == 1 && t.size(0) == x.size(0), "ConditionalFlow: timesteps ", t_in.sizes(),
            " do not match batch ", x.size(0));
  at::Tensor emb = time_embedding(
      timestep_embedding(t, config.channels[0], config.flip_sin_to_cos, config.freq_shift).to(x.scalar_type()));
  at::Tensor h = conv_in(x);
  for (size_t i = 0; i < down_blocks->size(); ++i) h = down_blocks->ptr<UNetDownBlockImpl>(i)->forward(h, emb, context)[0];
  return h.mean({2, 3});  // AvgPool2d over the final (4x4 in the official network) map
}

at::Tensor ConditionalFlowImpl::forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context) {
  return head(features(x, t, context)).squeeze(1);  // (B,)
}

}  // namespace dagalign
