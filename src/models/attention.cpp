#include "dagalign/models/attention.h"

#include "dagalign/models/resnet.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/modules/dropout.h>
#include <torch/version.h>

namespace dagalign {

at::Tensor dot_product_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t block_bytes) {
#if TORCH_VERSION_MAJOR >= 2
  (void)block_bytes;  // the fused kernels do their own blocking
  return at::scaled_dot_product_attention(q, k, v);
#else
  // softmax((q / sqrt(d)) k^T) v, computed in row blocks of the queries so that each block's score matrix
  // stays below block_bytes (default 64 MB): without grad the peak memory no longer grows with N*M
  // (SD 1.5 self-attention at 64x64 latents is B*8*4096^2*4 bytes = 512 MB per sample, 8.6 GB for 8 images
  // with CFG). With grad, autograd keeps every block's softmax anyway. Speed here: within the noise.
  const at::Tensor qs = q * (1.0 / std::sqrt(static_cast<double>(q.size(-1))));  // scale the small tensor
  const at::Tensor kt = k.transpose(-2, -1);
  const int64_t N = q.size(-2), M = k.size(-2);
  const int64_t per_row = std::max<int64_t>(1, q.numel() / q.size(-1) / N * M * q.element_size());
  const int64_t rows = std::max<int64_t>(1, block_bytes / per_row);
  if (rows >= N) return at::matmul(at::softmax(at::matmul(qs, kt), -1), v);
  std::vector<at::Tensor> out;
  for (int64_t r = 0; r < N; r += rows)
    out.push_back(at::matmul(at::softmax(at::matmul(qs.narrow(-2, r, std::min(rows, N - r)), kt), -1), v));
  return at::cat(out, -2);
#endif
}

AttentionImpl::AttentionImpl(const AttentionOptions& o) : opt(o) {
  const int64_t inner = o.heads * o.dim_head;
  const int64_t kv_dim = o.cross_attention_dim > 0 ? o.cross_attention_dim : o.query_dim;
  if (o.norm_groups > 0)
    group_norm = register_module(
        "group_norm", torch::nn::GroupNorm(torch::nn::GroupNormOptions(o.norm_groups, o.query_dim).eps(o.norm_eps)));
  to_q = register_module("to_q", LoraLinear(o.query_dim, inner, o.qkv_bias));
  to_k = register_module("to_k", LoraLinear(kv_dim, inner, o.qkv_bias));
  to_v = register_module("to_v", LoraLinear(kv_dim, inner, o.qkv_bias));
  to_out = register_module("to_out", torch::nn::ModuleList());
  to_out->push_back(LoraLinear(inner, o.query_dim, true));
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, const at::Tensor& context) {
  const at::Tensor& ctx = context.defined() ? context : x;
  const int64_t B = x.size(0), N = x.size(1), M = ctx.size(1), H = opt.heads, d = opt.dim_head;
  // [B,N,H*d] -> [B,H,N,d]
  at::Tensor q = to_q(x).view({B, N, H, d}).transpose(1, 2);
  at::Tensor k = to_k(ctx).view({B, M, H, d}).transpose(1, 2);
  at::Tensor v = to_v(ctx).view({B, M, H, d}).transpose(1, 2);
  at::Tensor o = dot_product_attention(q, k, v).transpose(1, 2).reshape({B, N, H * d});
  return to_out->ptr<LoraLinearImpl>(0)->forward(o);
}

at::Tensor AttentionImpl::forward_spatial(const at::Tensor& x) {
  const int64_t B = x.size(0), C = x.size(1), Hh = x.size(2), W = x.size(3);
  at::Tensor h = group_norm ? norm_in_weight_dtype(group_norm, x) : x;  // GroupNorm over channels, before tokenizing
  h = h.view({B, C, Hh * W}).transpose(1, 2);     // [B, HW, C]
  h = forward(h);
  return x + h.transpose(1, 2).reshape({B, C, Hh, W});  // residual_connection, rescale 1
}

GEGLUImpl::GEGLUImpl(int64_t dim_in, int64_t dim_out) {
  proj = register_module("proj", LoraLinear(dim_in, 2 * dim_out, true));
}

at::Tensor GEGLUImpl::forward(const at::Tensor& x) {
  auto parts = proj(x).chunk(2, -1);  // first half value, second half gate
  return parts[0] * at::gelu(parts[1]);
}

FeedForwardImpl::FeedForwardImpl(int64_t dim, int64_t mult) {
  net = register_module("net", torch::nn::ModuleList());
  net->push_back(GEGLU(dim, dim * mult));
  net->push_back(torch::nn::Dropout(0.0));
  net->push_back(LoraLinear(dim * mult, dim, true));
}

at::Tensor FeedForwardImpl::forward(const at::Tensor& x) {
  at::Tensor h = net->ptr<GEGLUImpl>(0)->forward(x);
  return net->ptr<LoraLinearImpl>(2)->forward(h);
}

BasicTransformerBlockImpl::BasicTransformerBlockImpl(int64_t dim, int64_t heads, int64_t dim_head,
                                                     int64_t cross_attention_dim, double norm_eps) {
  auto ln = [&] { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(norm_eps)); };
  norm1 = register_module("norm1", ln());
  AttentionOptions a;
  a.query_dim = dim;
  a.heads = heads;
  a.dim_head = dim_head;
  attn1 = register_module("attn1", Attention(a));
  norm2 = register_module("norm2", ln());
  a.cross_attention_dim = cross_attention_dim;
  attn2 = register_module("attn2", Attention(a));
  norm3 = register_module("norm3", ln());
  ff = register_module("ff", FeedForward(dim));
}

at::Tensor BasicTransformerBlockImpl::forward(const at::Tensor& x0, const at::Tensor& context) {
  at::Tensor x = x0 + attn1(norm_in_weight_dtype(norm1, x0));
  x = x + attn2(norm_in_weight_dtype(norm2, x), context);
  return x + ff(norm_in_weight_dtype(norm3, x));
}

}  // namespace dagalign
