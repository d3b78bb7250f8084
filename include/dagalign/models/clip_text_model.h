#pragma once
// CLIP text encoder (transformers CLIPTextModel), config-driven from text_encoder/config.json.
// named_parameters() = the file keys: text_model.embeddings.{token,position}_embedding.weight,
// text_model.encoder.layers.N.*, text_model.final_layer_norm.{weight,bias} (docs/design.md).
//
// forward: x = token_embedding(ids) + position_embedding(0..L-1); x = encoder(x, causal mask);
//          last_hidden_state = final_layer_norm(x).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "dagalign/models/clip_encoder.h"

namespace dagalign {

struct ClipTextConfig {
  int64_t vocab_size = 49408;
  int64_t hidden_size = 512;  // transformers CLIPTextConfig defaults for keys a config.json omits
  int64_t intermediate_size = 2048;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 8;
  int64_t max_position_embeddings = 77;
  std::string hidden_act = "quick_gelu";
  double layer_norm_eps = 1e-5;
  int64_t eos_token_id = 49407;  // SD 1.5 configs say 2 (a legacy default): pooled token = argmax(ids) then

  // From a CLIPTextConfig (or a CLIPModel config's "text_config"); errors name `file` and the key.
  static ClipTextConfig from_json(const nlohmann::json& j, const std::string& file);
  static ClipTextConfig sd15();  // openai/clip-vit-large-patch14 text tower as in SD 1.5
  ClipEncoderOptions encoder() const;
};

class ClipTextEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit ClipTextEmbeddingsImpl(const ClipTextConfig& c);
  at::Tensor forward(const at::Tensor& input_ids);  // [B, L] int64 -> [B, L, C]
  torch::nn::Embedding token_embedding{nullptr}, position_embedding{nullptr};
};
TORCH_MODULE(ClipTextEmbeddings);

struct ClipTextOutput {
  at::Tensor last_hidden_state;           // [B, L, C], after final_layer_norm
  at::Tensor pooler_output;               // [B, C], last_hidden_state at the end-of-text token
  std::vector<at::Tensor> hidden_states;  // filled when asked: [embeddings, layer 1, ..., layer N]
};

class ClipTextTransformerImpl : public torch::nn::Module {
 public:
  explicit ClipTextTransformerImpl(const ClipTextConfig& c);
  ClipTextOutput forward(const at::Tensor& input_ids, bool output_hidden_states = false);
  ClipTextConfig config;
  ClipTextEmbeddings embeddings{nullptr};
  ClipEncoder encoder{nullptr};
  torch::nn::LayerNorm final_layer_norm{nullptr};
};
TORCH_MODULE(ClipTextTransformer);

class ClipTextModelImpl : public torch::nn::Module {
 public:
  explicit ClipTextModelImpl(const ClipTextConfig& c);
  ClipTextOutput forward(const at::Tensor& input_ids, bool output_hidden_states = false);
  // The Stable Diffusion conditioning: clip_skip = 0 -> last_hidden_state; k > 0 -> final_layer_norm of
  // hidden_states[-(k+1)] (diffusers encode_prompt); only the layers needed are run.
  at::Tensor encode(const at::Tensor& input_ids, int64_t clip_skip = 0);
  ClipTextTransformer text_model{nullptr};
};
TORCH_MODULE(ClipTextModel);

// Loads <folder>/text_encoder (config.json + model[.variant].safetensors): optional "text_model." prefix,
// position_ids ignored, strict about everything else. Returns the model in eval mode, float32, CPU.
ClipTextModel load_clip_text_model(const std::string& folder, const std::string& component = "text_encoder",
                                   const std::string& variant = "");

}  // namespace dagalign
