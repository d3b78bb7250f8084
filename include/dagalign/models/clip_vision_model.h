#pragma once
// CLIP vision tower with projection (transformers CLIPVisionModelWithProjection / the vision half of
// CLIPModel) and CLIP image preprocessing. Module paths = HF keys: vision_model.embeddings.class_embedding,
// vision_model.embeddings.patch_embedding.weight (no bias), vision_model.embeddings.position_embedding.weight,
// vision_model.pre_layrnorm.* (sic), vision_model.encoder.layers.N.*, vision_model.post_layernorm.*,
// visual_projection.weight (no bias). The encoder layers are the text tower's (clip_encoder.h).
//
// forward: patches = patch_embedding(pixels) -> [B, N, C]; x = [class_embedding; patches] + position_embedding;
//          x = encoder(pre_layrnorm(x)) (no mask); pooled = post_layernorm(x[:, 0]);
//          image features = visual_projection(pooled).
#include <array>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "dagalign/models/clip_encoder.h"

namespace dagalign {

struct ClipVisionConfig {
  int64_t hidden_size = 768;  // transformers CLIPVisionConfig defaults for keys a config omits
  int64_t intermediate_size = 3072;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t num_channels = 3;
  int64_t image_size = 224;
  int64_t patch_size = 32;
  std::string hidden_act = "quick_gelu";
  double layer_norm_eps = 1e-5;
  int64_t projection_dim = 512;

  // From a CLIPModel config (its "vision_config" + top-level "projection_dim") or a CLIPVisionConfig.
  static ClipVisionConfig from_json(const nlohmann::json& j, const std::string& file);
  static ClipVisionConfig vit_l14();  // openai/clip-vit-large-patch14 (the aesthetic predictor's backbone)
  ClipEncoderOptions encoder() const;
};

class ClipVisionEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit ClipVisionEmbeddingsImpl(const ClipVisionConfig& c);
  at::Tensor forward(const at::Tensor& pixel_values);  // [B, 3, S, S] -> [B, 1 + (S/P)^2, C]
  int64_t image_size;
  at::Tensor class_embedding;
  torch::nn::Conv2d patch_embedding{nullptr};
  torch::nn::Embedding position_embedding{nullptr};
};
TORCH_MODULE(ClipVisionEmbeddings);

class ClipVisionTransformerImpl : public torch::nn::Module {
 public:
  explicit ClipVisionTransformerImpl(const ClipVisionConfig& c);
  // Returns the pooled output post_layernorm(h[:, 0]) [B, C]; last_hidden_state (optional) gets h.
  at::Tensor forward(const at::Tensor& pixel_values, at::Tensor* last_hidden_state = nullptr);
  ClipVisionEmbeddings embeddings{nullptr};
  torch::nn::LayerNorm pre_layrnorm{nullptr};
  ClipEncoder encoder{nullptr};
  torch::nn::LayerNorm post_layernorm{nullptr};
};
TORCH_MODULE(ClipVisionTransformer);

class ClipVisionWithProjectionImpl : public torch::nn::Module {
 public:
  explicit ClipVisionWithProjectionImpl(const ClipVisionConfig& c);
  // CLIPModel.get_image_features: visual_projection(post_layernorm(h[:, 0])), [B, projection_dim].
  at::Tensor get_image_features(const at::Tensor& pixel_values);
  ClipVisionConfig config;
  ClipVisionTransformer vision_model{nullptr};
  torch::nn::Linear visual_projection{nullptr};
};
TORCH_MODULE(ClipVisionWithProjection);

// Loads the vision half of a transformers CLIPModel folder (config.json + model.safetensors): keys under
// vision_model. and visual_projection. are loaded strictly, text_model.*, text_projection.*, logit_scale
// (the other half) are skipped. Eval mode, float32, CPU.
ClipVisionWithProjection load_clip_vision(const std::string& model_dir);

// CLIPImageProcessor (transformers >= 5 default, torchvision backend), applied to float images in [0, 1]
// the way DDPO feeds its reward: uint8 = round(x * 255).clamp(0, 255); resize so the shortest side is
// `shortest_edge` (long side int(S * long / short)) with antialiased bicubic on uint8 (Keys a = -0.5,
// fixed-point weights, bit-exact with torch's uint8 kernel that torchvision's resize(antialias=True)
// runs); center crop `crop_size` (top = int((H - crop) / 2)); (x - 255 mean) / (255 std).
// PIL's bicubic (CLIPImageProcessorPil, older transformers) uses other fixed-point precision: it differs
// by at most 1 uint8 level on ~0.3% of pixels (tests/data/clip/README.md).
struct ClipPreprocessOptions {
  int64_t shortest_edge = 224;
  int64_t crop_size = 224;
  std::array<double, 3> mean = {0.48145466, 0.4578275, 0.40821073};
  std::array<double, 3> std = {0.26862954, 0.26130258, 0.27577711};
};
// images: [B, 3, H, W] float in [0, 1] -> [B, 3, crop, crop] float32 pixel_values.
at::Tensor clip_preprocess(const at::Tensor& images, const ClipPreprocessOptions& o = {});
// The resize + crop stage alone on [B, 3, H, W] uint8-valued float images; returns uint8 [B, 3, crop, crop].
at::Tensor clip_resize_crop(const at::Tensor& images_0_255, const ClipPreprocessOptions& o = {});

}  // namespace dagalign
