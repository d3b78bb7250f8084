#pragma once
// diffusers attention building blocks (attention_processor.py Attention, activations.py GEGLU,
// attention.py FeedForward / BasicTransformerBlock). Module paths equal the diffusers weight names:
//   to_q, to_k, to_v, to_out.0, (group_norm), ff.net.0.proj, ff.net.2, norm1..3, attn1, attn2.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "dagalign/models/lora_linear.h"

namespace dagalign {

// softmax(q k^T * scale) v over the last two dims; q [B,H,N,d], k/v [B,H,M,d]; scale = d^-1/2.
// LibTorch >= 2.0: at::scaled_dot_product_attention (fused kernels); 1.13 has no public SDPA, so the
// explicit product is used there (same math), over blocks of query rows whose B*H*rows*M score matrix
// stays below block_bytes (bounded memory without grad).
at::Tensor dot_product_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                 int64_t block_bytes = int64_t(64) << 20);

struct AttentionOptions {
  int64_t query_dim = 0;
  int64_t heads = 1;
  int64_t dim_head = 64;
  int64_t cross_attention_dim = 0;  // 0: self-attention (K/V from the query stream)
  bool qkv_bias = false;            // UNet transformer: false; VAE mid-block: true
  int64_t norm_groups = 0;          // > 0: a "group_norm" on the input (VAE mid-block attention)
  double norm_eps = 1e-6;
};

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const AttentionOptions& o);
  // x [B,N,C]; context [B,M,Ccross] or undefined (self-attention). Returns to_out.0(attention) [B,N,C].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context = {});
  // VAE mid-block form on NCHW: x + to_out(attn(group_norm(x))) with tokens = pixels.
  at::Tensor forward_spatial(const at::Tensor& x);

  AttentionOptions opt;
  torch::nn::GroupNorm group_norm{nullptr};
  LoraLinear to_q{nullptr}, to_k{nullptr}, to_v{nullptr};
  torch::nn::ModuleList to_out;  // [0] = Linear(inner, query_dim, bias) ; dropout has no parameters
};
TORCH_MODULE(Attention);

// GEGLU: proj = Linear(dim, 2*inner); [h, gate] = chunk(proj(x), 2, -1); out = h * gelu(gate) (exact erf).
class GEGLUImpl : public torch::nn::Module {
 public:
  GEGLUImpl(int64_t dim_in, int64_t dim_out);
  at::Tensor forward(const at::Tensor& x);
  LoraLinear proj{nullptr};
};
TORCH_MODULE(GEGLU);

// FeedForward (activation geglu, mult 4): net.0 = GEGLU(dim, 4 dim), net.1 = Dropout (no params, p=0
// here: an empty placeholder so that the output Linear lands at index 2), net.2 = Linear(4 dim, dim).
class FeedForwardImpl : public torch::nn::Module {
 public:
  explicit FeedForwardImpl(int64_t dim, int64_t mult = 4);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::ModuleList net;
};
TORCH_MODULE(FeedForward);

// BasicTransformerBlock (norm_type layer_norm, eps 1e-5):
//   x += attn1(norm1(x));  x += attn2(norm2(x), context);  x += ff(norm3(x)).
class BasicTransformerBlockImpl : public torch::nn::Module {
 public:
  BasicTransformerBlockImpl(int64_t dim, int64_t heads, int64_t dim_head, int64_t cross_attention_dim,
                            double norm_eps = 1e-5);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context);
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
  Attention attn1{nullptr}, attn2{nullptr};
  FeedForward ff{nullptr};
};
TORCH_MODULE(BasicTransformerBlock);

}  // namespace dagalign
