#include "dagalign/models/unet_2d_condition.h"

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/models/checkpointing.h"
#include "dagalign/models/timestep_embedding.h"

namespace dagalign {
namespace {

// The trainable tensors of a block (what a checkpointed block must return gradients for).
std::vector<at::Tensor> trainable(const torch::nn::Module& m) {
  std::vector<at::Tensor> out;
  for (const auto& p : m.parameters())
    if (p.requires_grad()) out.push_back(p);
  return out;
}

}  // namespace

UNet2DConditionModelImpl::UNet2DConditionModelImpl(const UNetConfig& c) : config(c) {
  using torch::nn::Conv2dOptions;
  const auto& ch = c.block_out_channels;
  const int64_t n = static_cast<int64_t>(ch.size());
  const int64_t temb = c.time_embed_dim();
  conv_in = register_module("conv_in", torch::nn::Conv2d(Conv2dOptions(c.in_channels, ch[0], 3).padding(1)));
  time_embedding = register_module("time_embedding", TimestepEmbedding(ch[0], temb));

  UNetBlockOptions base;
  base.temb_channels = temb;
  base.cross_attention_dim = c.cross_attention_dim;
  base.transformer_layers = c.transformer_layers_per_block;
  base.groups = c.norm_num_groups;
  base.eps = c.norm_eps;
  base.use_linear_projection = c.use_linear_projection;
  base.downsample_padding = c.downsample_padding;

  down_blocks = register_module("down_blocks", torch::nn::ModuleList());
  int64_t out_ch = ch[0];
  for (int64_t i = 0; i < n; ++i) {
    UNetBlockOptions o = base;
    o.in_channels = out_ch;
    o.out_channels = out_ch = ch[i];
    o.num_layers = c.layers_per_block;
    o.with_attention = c.down_block_types[i] == "CrossAttnDownBlock2D";
    o.add_sampler = i < n - 1;
    o.heads = c.heads[i];
    down_blocks->push_back(UNetDownBlock(o));
  }

  UNetBlockOptions mid = base;
  mid.in_channels = ch[n - 1];
  mid.num_layers = 1;
  mid.heads = c.heads[n - 1];
  mid_block = register_module("mid_block", UNetMidBlock2DCrossAttn(mid));

  up_blocks = register_module("up_blocks", torch::nn::ModuleList());
  int64_t prev = ch[n - 1];
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = n - 1 - i;  // reversed index
    UNetBlockOptions o = base;
    o.prev_output_channels = prev;
    o.out_channels = prev = ch[r];
    o.in_channels = ch[std::max<int64_t>(r - 1, 0)];  // reversed_block_out_channels[min(i + 1, n - 1)]
    o.num_layers = c.layers_per_block + 1;
    o.with_attention = c.up_block_types[i] == "CrossAttnUpBlock2D";
    o.add_sampler = i < n - 1;
    o.heads = c.heads[r];
    up_blocks->push_back(UNetUpBlock(o));
  }

  conv_norm_out = register_module(
      "conv_norm_out", torch::nn::GroupNorm(torch::nn::GroupNormOptions(c.norm_num_groups, ch[0]).eps(c.norm_eps)));
  conv_out = register_module("conv_out", torch::nn::Conv2d(Conv2dOptions(ch[0], c.out_channels, 3).padding(1)));
}

at::Tensor UNet2DConditionModelImpl::forward(const at::Tensor& x, const at::Tensor& t_in, const at::Tensor& context) {
  DAG_CHECK(x.dim() == 4 && x.size(1) == config.in_channels, "UNet: expected input [B, ", config.in_channels,
            ", H, W], got ", x.sizes());
  DAG_CHECK(context.defined() && context.dim() == 3 && context.size(2) == config.cross_attention_dim,
            "UNet: expected context [B, L, ", config.cross_attention_dim, "], got ",
            context.defined() ? context.sizes() : at::IntArrayRef{});
  at::Tensor t = t_in.dim() == 0 ? t_in.expand({x.size(0)}) : t_in;
  DAG_CHECK(t.dim() == 1 && t.size(0) == x.size(0), "UNet: timesteps ", t_in.sizes(), " do not match batch ",
            x.size(0));
  // Timesteps(C0, flip_sin_to_cos, freq_shift), cast to the sample dtype, then the MLP.
  at::Tensor t_emb = timestep_embedding(t, config.block_out_channels[0], config.flip_sin_to_cos, config.freq_shift)
                         .to(x.scalar_type());
  at::Tensor emb = time_embedding(t_emb);
  const bool ckpt = gradient_checkpointing_ && at::GradMode::is_enabled();

  at::Tensor h = conv_in(x);
  std::vector<at::Tensor> skips{h};
  for (size_t i = 0; i < down_blocks->size(); ++i) {
    auto block = down_blocks->ptr<UNetDownBlockImpl>(i);
    std::vector<at::Tensor> out;
    if (ckpt) {
      // the block's last skip is its output h: return the skips only (distinct tensors)
      out = checkpoint(
          [block](const std::vector<at::Tensor>& a) {
            auto r = block->forward(a[0], a[1], a[2]);
            return std::vector<at::Tensor>(r.begin() + 1, r.end());
          },
          {h, emb, context}, trainable(*block));
      h = out.back();
      skips.insert(skips.end(), out.begin(), out.end());
    } else {
      out = block->forward(h, emb, context);
      h = out[0];
      skips.insert(skips.end(), out.begin() + 1, out.end());
    }
  }

  if (ckpt) {
    auto block = mid_block.ptr();
    h = checkpoint([block](const std::vector<at::Tensor>& a) { return std::vector<at::Tensor>{block->forward(a[0], a[1], a[2])}; },
                   {h, emb, context}, trainable(*block))[0];
  } else {
    h = mid_block(h, emb, context);
  }

  for (size_t i = 0; i < up_blocks->size(); ++i) {
    auto block = up_blocks->ptr<UNetUpBlockImpl>(i);
    const int64_t k = block->num_layers();
    std::vector<at::Tensor> res(skips.end() - k, skips.end());
    skips.resize(skips.size() - k);
    // upsample to the next skip's spatial size (handles sizes not divisible by 2^n, like forward_upsample_size)
    std::vector<int64_t> size;
    if (i + 1 < up_blocks->size()) size = {skips.back().size(2), skips.back().size(3)};
    if (ckpt) {
      std::vector<at::Tensor> args{h, emb, context};
      args.insert(args.end(), res.begin(), res.end());
      h = checkpoint(
          [block, size](const std::vector<at::Tensor>& a) {
            std::vector<at::Tensor> s(a.begin() + 3, a.end());
            return std::vector<at::Tensor>{block->forward(a[0], a[1], a[2], s, size)};
          },
          args, trainable(*block))[0];
    } else {
      h = block->forward(h, emb, context, res, size);
    }
  }
  return conv_out(at::silu(norm_in_weight_dtype(conv_norm_out, h)));
}

}  // namespace dagalign
