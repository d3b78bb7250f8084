// CLIP text encoder; see the header for the forward equations.
#include "dagalign/models/clip_text_model.h"

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/weights/diffusers_folder.h"

namespace dagalign {

ClipTextConfig ClipTextConfig::from_json(const nlohmann::json& j0, const std::string& file) {
  const nlohmann::json& j = j0.contains("text_config") && j0["text_config"].is_object() ? j0["text_config"] : j0;
  ClipTextConfig c;
  c.vocab_size = config_value<int64_t>(j, "vocab_size", file, c.vocab_size);
  c.hidden_size = config_value<int64_t>(j, "hidden_size", file, c.hidden_size);
  c.intermediate_size = config_value<int64_t>(j, "intermediate_size", file, c.intermediate_size);
  c.num_hidden_layers = config_value<int64_t>(j, "num_hidden_layers", file, c.num_hidden_layers);
  c.num_attention_heads = config_value<int64_t>(j, "num_attention_heads", file, c.num_attention_heads);
  c.max_position_embeddings = config_value<int64_t>(j, "max_position_embeddings", file, c.max_position_embeddings);
  c.hidden_act = config_value<std::string>(j, "hidden_act", file, c.hidden_act);
  c.layer_norm_eps = config_value<double>(j, "layer_norm_eps", file, c.layer_norm_eps);
  c.eos_token_id = config_value<int64_t>(j, "eos_token_id", file, c.eos_token_id);
  check_clip_activation(c.hidden_act, "config " + file);
  for (auto [key, v] : {std::pair{"vocab_size", c.vocab_size}, {"hidden_size", c.hidden_size},
                        {"intermediate_size", c.intermediate_size}, {"num_attention_heads", c.num_attention_heads},
                        {"max_position_embeddings", c.max_position_embeddings}})
    if (v <= 0) throw ConfigError(cat("config ", file, ": key '", key, "' must be positive, found ", v));
  if (c.num_hidden_layers < 0 || c.hidden_size % c.num_attention_heads != 0)
    throw ConfigError(cat("config ", file, ": hidden_size ", c.hidden_size, " / num_attention_heads ",
                          c.num_attention_heads, " / num_hidden_layers ", c.num_hidden_layers, " are inconsistent"));
  return c;
}

ClipTextConfig ClipTextConfig::sd15() {
  ClipTextConfig c;
  c.hidden_size = 768;
  c.intermediate_size = 3072;
  c.num_hidden_layers = 12;
  c.num_attention_heads = 12;
  c.eos_token_id = 2;  // as written in the SD 1.5 text_encoder/config.json
  return c;
}

ClipEncoderOptions ClipTextConfig::encoder() const {
  ClipEncoderOptions o;
  o.hidden_size = hidden_size;
  o.intermediate_size = intermediate_size;
  o.num_hidden_layers = num_hidden_layers;
  o.num_attention_heads = num_attention_heads;
  o.hidden_act = hidden_act;
  o.layer_norm_eps = layer_norm_eps;
  return o;
}

ClipTextEmbeddingsImpl::ClipTextEmbeddingsImpl(const ClipTextConfig& c) {
  token_embedding = register_module("token_embedding", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  position_embedding =
      register_module("position_embedding", torch::nn::Embedding(c.max_position_embeddings, c.hidden_size));
}

at::Tensor ClipTextEmbeddingsImpl::forward(const at::Tensor& input_ids) {
  const int64_t L = input_ids.size(-1);
  const int64_t max_pos = position_embedding->weight.size(0);
  DAG_CHECK(L <= max_pos, "CLIP text: sequence length ", L, " exceeds max_position_embeddings ", max_pos);
  const int64_t vocab = token_embedding->weight.size(0);
  if (input_ids.numel() > 0) {
    const auto lo = input_ids.min().item<int64_t>(), hi = input_ids.max().item<int64_t>();
    DAG_CHECK(lo >= 0 && hi < vocab, "CLIP text: token ids must lie in [0, ", vocab, "), found [", lo, ", ", hi, "]");
  }
  auto pos = at::arange(L, input_ids.options().dtype(at::kLong));
  return token_embedding->forward(input_ids) + position_embedding->forward(pos);  // [B,L,C] + [L,C]
}

ClipTextTransformerImpl::ClipTextTransformerImpl(const ClipTextConfig& c) : config(c) {
  embeddings = register_module("embeddings", ClipTextEmbeddings(c));
  encoder = register_module("encoder", ClipEncoder(c.encoder()));
  final_layer_norm = register_module(
      "final_layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
}

ClipTextOutput ClipTextTransformerImpl::forward(const at::Tensor& input_ids, bool output_hidden_states) {
  DAG_CHECK(input_ids.dim() == 2 && input_ids.scalar_type() == at::kLong, "CLIP text: input_ids must be [B, L] int64, found ",
            input_ids.sizes(), " ", input_ids.scalar_type());
  ClipTextOutput out;
  auto x = embeddings->forward(input_ids);
  const auto mask = causal_mask(input_ids.size(1), x.scalar_type(), x.device());
  x = encoder->forward(x, mask, output_hidden_states ? &out.hidden_states : nullptr);
  out.last_hidden_state = final_layer_norm->forward(x);
  // Pooled token: with the legacy eos_token_id == 2 transformers takes argmax(ids) (49407 is the largest
  // id); otherwise the first position holding eos_token_id.
  const auto eos_pos = config.eos_token_id == 2 ? input_ids.argmax(-1)
                                                : (input_ids == config.eos_token_id).to(at::kInt).argmax(-1);
  out.pooler_output =
      out.last_hidden_state.index({at::arange(input_ids.size(0), input_ids.options()), eos_pos});
  return out;
}

ClipTextModelImpl::ClipTextModelImpl(const ClipTextConfig& c) {
  text_model = register_module("text_model", ClipTextTransformer(c));
}

ClipTextOutput ClipTextModelImpl::forward(const at::Tensor& input_ids, bool output_hidden_states) {
  return text_model->forward(input_ids, output_hidden_states);
}

at::Tensor ClipTextModelImpl::encode(const at::Tensor& input_ids, int64_t clip_skip) {
  if (clip_skip <= 0) return text_model->forward(input_ids).last_hidden_state;
  const int64_t layers = text_model->config.num_hidden_layers;
  DAG_CHECK(clip_skip < layers + 1, "CLIP text: clip_skip ", clip_skip, " exceeds the ", layers, " layers");
  // hidden_states[-(k+1)] is the output of layer N - k; final_layer_norm is applied to it.
  auto x = text_model->embeddings->forward(input_ids);
  const auto mask = causal_mask(input_ids.size(1), x.scalar_type(), x.device());
  x = text_model->encoder->forward(x, mask, nullptr, layers - clip_skip);
  return text_model->final_layer_norm->forward(x);
}

ClipTextModel load_clip_text_model(const std::string& folder, const std::string& component,
                                   const std::string& variant) {
  const auto config = ClipTextConfig::from_json(read_component_config(folder, component),
                                                folder + "/" + component + "/config.json");
  ClipTextModel model(config);
  ComponentLoadOptions o;
  o.variant = variant;
  o.optional_prefix = "text_model.";
  o.ignore = {"text_model.embeddings.position_ids"};
  load_component(*model, folder, component, o);
  model->eval();
  return model;
}

}  // namespace dagalign
