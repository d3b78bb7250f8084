#include "dagalign/models/transformer_2d.h"

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/models/resnet.h"

namespace dagalign {

Transformer2DModelImpl::Transformer2DModelImpl(const Transformer2DOptions& o) : opt(o) {
  const int64_t C = o.channels;
  DAG_CHECK(o.heads > 0 && C % o.heads == 0, "Transformer2DModel: channels ", C, " not divisible by heads ", o.heads);
  norm = register_module("norm", torch::nn::GroupNorm(torch::nn::GroupNormOptions(o.norm_groups, C).eps(1e-6)));
  if (o.use_linear_projection) {
    proj_in_linear = register_module("proj_in", LoraLinear(C, C, true));
  } else {
    proj_in_conv = register_module("proj_in", torch::nn::Conv2d(torch::nn::Conv2dOptions(C, C, 1)));
  }
  transformer_blocks = register_module("transformer_blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.num_layers; ++i)
    transformer_blocks->push_back(BasicTransformerBlock(C, o.heads, C / o.heads, o.cross_attention_dim));
  if (o.use_linear_projection) {
    proj_out_linear = register_module("proj_out", LoraLinear(C, C, true));
  } else {
    proj_out_conv = register_module("proj_out", torch::nn::Conv2d(torch::nn::Conv2dOptions(C, C, 1)));
  }
}

at::Tensor Transformer2DModelImpl::forward(const at::Tensor& x, const at::Tensor& context) {
  const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  at::Tensor h = norm_in_weight_dtype(norm, x);
  if (!opt.use_linear_projection) h = proj_in_conv(h);
  h = h.permute({0, 2, 3, 1}).reshape({B, H * W, C});
  if (opt.use_linear_projection) h = proj_in_linear(h);
  for (size_t i = 0; i < transformer_blocks->size(); ++i)
    h = transformer_blocks->ptr<BasicTransformerBlockImpl>(i)->forward(h, context);
  if (opt.use_linear_projection) h = proj_out_linear(h);
  h = h.reshape({B, H, W, C}).permute({0, 3, 1, 2}).contiguous();
  if (!opt.use_linear_projection) h = proj_out_conv(h);
  return h + x;
}

}  // namespace dagalign
