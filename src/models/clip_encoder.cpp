// CLIP transformer encoder (text and vision towers share it). Equations next to each piece.
#include "dagalign/models/clip_encoder.h"

#include <cmath>
#include <limits>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"

namespace dagalign {

at::Tensor clip_activation(const at::Tensor& x, const std::string& name) {
  if (name == "quick_gelu") return x * at::sigmoid(1.702 * x);  // x * sigmoid(1.702 x)
  if (name == "gelu") return at::gelu(x);                        // x * Phi(x), exact erf
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return at::gelu(x, "tanh");
  throw Error(cat("CLIP: unsupported hidden_act '", name, "'"));
}

void check_clip_activation(const std::string& name, const std::string& where) {
  DAG_CHECK(name == "quick_gelu" || name == "gelu" || name == "gelu_new" || name == "gelu_pytorch_tanh", where,
            ": hidden_act '", name, "' is not one of quick_gelu, gelu, gelu_new, gelu_pytorch_tanh");
}

at::Tensor causal_mask(int64_t length, at::ScalarType dtype, at::Device device) {
  // mask[i][j] = -inf for j > i (a token attends to itself and earlier tokens only)
  return at::full({length, length}, -std::numeric_limits<float>::infinity(), at::TensorOptions().dtype(dtype).device(device))
      .triu(1);
}

ClipAttentionImpl::ClipAttentionImpl(const ClipEncoderOptions& o)
    : heads(o.num_attention_heads), head_dim(o.hidden_size / o.num_attention_heads) {
  DAG_CHECK(o.num_attention_heads > 0 && head_dim * heads == o.hidden_size, "CLIP: hidden_size ", o.hidden_size,
            " is not divisible by num_attention_heads ", o.num_attention_heads);
  q_proj = register_module("q_proj", torch::nn::Linear(o.hidden_size, o.hidden_size));
  k_proj = register_module("k_proj", torch::nn::Linear(o.hidden_size, o.hidden_size));
  v_proj = register_module("v_proj", torch::nn::Linear(o.hidden_size, o.hidden_size));
  out_proj = register_module("out_proj", torch::nn::Linear(o.hidden_size, o.hidden_size));
}

at::Tensor ClipAttentionImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  const int64_t B = x.size(0), L = x.size(1);
  // [B, L, C] -> [B, H, L, d]
  auto split = [&](const at::Tensor& t) { return t.view({B, L, heads, head_dim}).transpose(1, 2); };
  const double scale = 1.0 / std::sqrt(double(head_dim));
  auto q = split(q_proj->forward(x) * scale);
  auto k = split(k_proj->forward(x));
  auto v = split(v_proj->forward(x));
  auto scores = at::matmul(q, k.transpose(-1, -2));  // [B, H, L, L]
  if (mask.defined()) scores = scores + mask.to(scores.scalar_type());
  auto probs = at::softmax(scores, -1, at::kFloat).to(v.scalar_type());  // softmax in float32
  auto out = at::matmul(probs, v).transpose(1, 2).reshape({B, L, heads * head_dim});
  return out_proj->forward(out);
}

ClipMlpImpl::ClipMlpImpl(const ClipEncoderOptions& o) : act(o.hidden_act) {
  check_clip_activation(act, "CLIP");
  fc1 = register_module("fc1", torch::nn::Linear(o.hidden_size, o.intermediate_size));
  fc2 = register_module("fc2", torch::nn::Linear(o.intermediate_size, o.hidden_size));
}

at::Tensor ClipMlpImpl::forward(const at::Tensor& x) { return fc2->forward(clip_activation(fc1->forward(x), act)); }

ClipEncoderLayerImpl::ClipEncoderLayerImpl(const ClipEncoderOptions& o) {
  auto ln = [&] { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden_size}).eps(o.layer_norm_eps)); };
  self_attn = register_module("self_attn", ClipAttention(o));
  layer_norm1 = register_module("layer_norm1", ln());
  mlp = register_module("mlp", ClipMlp(o));
  layer_norm2 = register_module("layer_norm2", ln());
}

at::Tensor ClipEncoderLayerImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  auto h = x + self_attn->forward(layer_norm1->forward(x), mask);
  return h + mlp->forward(layer_norm2->forward(h));
}

ClipEncoderImpl::ClipEncoderImpl(const ClipEncoderOptions& o) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.num_hidden_layers; ++i) layers->push_back(ClipEncoderLayer(o));
}

at::Tensor ClipEncoderImpl::forward(const at::Tensor& x, const at::Tensor& mask, std::vector<at::Tensor>* hidden_states,
                                    int64_t num_layers) {
  const int64_t n = num_layers < 0 ? int64_t(layers->size()) : std::min<int64_t>(num_layers, layers->size());
  at::Tensor h = x;
  if (hidden_states) hidden_states->push_back(h);
  for (int64_t i = 0; i < n; ++i) {
    h = layers->ptr<ClipEncoderLayerImpl>(size_t(i))->forward(h, mask);
    if (hidden_states) hidden_states->push_back(h);
  }
  return h;
}

}  // namespace dagalign
