#pragma once
// The CLIP transformer encoder shared by the text and the vision tower (transformers modeling_clip.py
// CLIPAttention, CLIPMLP, CLIPEncoderLayer, CLIPEncoder). Module paths equal the HF weight names:
//   layers.N.self_attn.{q_proj,k_proj,v_proj,out_proj}.{weight,bias}, layers.N.layer_norm1.*,
//   layers.N.mlp.{fc1,fc2}.*, layers.N.layer_norm2.*
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

namespace dagalign {

struct ClipEncoderOptions {
  int64_t hidden_size = 768;
  int64_t intermediate_size = 3072;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  std::string hidden_act = "quick_gelu";  // quick_gelu | gelu | gelu_new / gelu_pytorch_tanh
  double layer_norm_eps = 1e-5;
};

// quick_gelu(x) = x * sigmoid(1.702 x); gelu(x) = x * Phi(x) (erf); gelu_new = tanh approximation.
at::Tensor clip_activation(const at::Tensor& x, const std::string& name);
// Checks that `name` is one of the activations above (throws naming `where`, e.g. the config file).
void check_clip_activation(const std::string& name, const std::string& where);

// Multi-head attention, all projections with bias:
//   q = q_proj(x) * d^-1/2, k = k_proj(x), v = v_proj(x)   (per head, d = hidden / heads)
//   out_proj(softmax(q k^T + mask) v)                        (softmax in float32)
class ClipAttentionImpl : public torch::nn::Module {
 public:
  explicit ClipAttentionImpl(const ClipEncoderOptions& o);
  // x [B, L, C]; mask: additive [L, L] (0 / -inf), or undefined.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask = {});
  int64_t heads, head_dim;
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
};
TORCH_MODULE(ClipAttention);

// fc2(act(fc1(x)))
class ClipMlpImpl : public torch::nn::Module {
 public:
  explicit ClipMlpImpl(const ClipEncoderOptions& o);
  at::Tensor forward(const at::Tensor& x);
  std::string act;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(ClipMlp);

// Pre-LN block: x += self_attn(layer_norm1(x), mask); x += mlp(layer_norm2(x)).
class ClipEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit ClipEncoderLayerImpl(const ClipEncoderOptions& o);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask = {});
  ClipAttention self_attn{nullptr};
  torch::nn::LayerNorm layer_norm1{nullptr}, layer_norm2{nullptr};
  ClipMlp mlp{nullptr};
};
TORCH_MODULE(ClipEncoderLayer);

class ClipEncoderImpl : public torch::nn::Module {
 public:
  explicit ClipEncoderImpl(const ClipEncoderOptions& o);
  // Runs the first `num_layers` layers (-1: all). hidden_states (optional) receives HF's tuple:
  // [input, after layer 1, ..., after the last layer run].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask = {}, std::vector<at::Tensor>* hidden_states = nullptr,
                     int64_t num_layers = -1);
  torch::nn::ModuleList layers{nullptr};
};
TORCH_MODULE(ClipEncoder);

// Additive causal mask [L, L]: 0 on and below the diagonal, -inf above.
at::Tensor causal_mask(int64_t length, at::ScalarType dtype = at::kFloat, at::Device device = at::kCPU);

}  // namespace dagalign
