// CLIP vision tower + projection vs transformers' CLIPModel.get_image_features, and CLIP preprocessing vs
// transformers' CLIPImageProcessor (tests/data/clip, tools/golden/clip_models.py).
#include <cstdio>
#include <set>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "dagalign/core/error.h"
#include "dagalign/models/clip_vision_model.h"
#include "dagalign/weights/safetensors.h"
#include "dagalign/weights/state_dict.h"

using namespace dagalign;

namespace {
const std::string kData = std::string(DAGALIGN_TEST_DATA) + "/clip";
}

TEST(ClipVisionModel, ImageFeaturesMatchTransformers) {
  auto model = load_clip_vision(kData + "/tiny_clip");
  EXPECT_EQ(model->config.hidden_act, "gelu");
  EXPECT_EQ(model->config.projection_dim, 16);
  const auto g = read_safetensors(kData + "/vision_golden.safetensors");
  at::NoGradGuard no_grad;
  const auto f = model->get_image_features(g.at("pixel_values"));
  const double d = (f - g.at("image_features")).abs().max().item<double>();
  std::printf("max |dagalign - transformers| image features: %.2e\n", d);
  EXPECT_EQ(f.sizes(), at::IntArrayRef({2, 16}));
  EXPECT_LE(d, 1e-4);
  EXPECT_GT(g.at("image_features").abs().max().item<double>(), 0.1);
}

TEST(ClipVisionModel, LoadsOnlyTheVisionHalfByName) {
  auto model = load_clip_vision(kData + "/tiny_clip");
  std::set<std::string> expected;
  for (const auto& [k, t] : read_safetensors(kData + "/tiny_clip/model.safetensors"))
    if (k.rfind("vision_model.", 0) == 0 || k.rfind("visual_projection.", 0) == 0) expected.insert(k);
  std::set<std::string> names;
  for (const auto& [k, t] : state_dict(*model)) names.insert(k);
  EXPECT_EQ(names, expected);
  EXPECT_TRUE(names.count("vision_model.pre_layrnorm.weight"));  // HF's spelling
  EXPECT_TRUE(names.count("vision_model.embeddings.class_embedding"));
  EXPECT_FALSE(names.count("vision_model.embeddings.patch_embedding.bias"));
}

TEST(ClipVisionModel, VitL14Shapes) {
  // Shapes of openai/clip-vit-large-patch14's vision half (docs/design.md), from a 1-layer variant
  // (cheap to allocate) plus the per-layer count written out from the shapes.
  auto c = ClipVisionConfig::vit_l14();
  c.num_hidden_layers = 1;
  ClipVisionWithProjection m(c);
  const auto sd = state_dict(*m);
  EXPECT_EQ(sd.at("vision_model.embeddings.class_embedding").sizes(), at::IntArrayRef({1024}));
  EXPECT_EQ(sd.at("vision_model.embeddings.patch_embedding.weight").sizes(), at::IntArrayRef({1024, 3, 14, 14}));
  EXPECT_EQ(sd.at("vision_model.embeddings.position_embedding.weight").sizes(), at::IntArrayRef({257, 1024}));
  EXPECT_EQ(sd.at("vision_model.encoder.layers.0.mlp.fc1.weight").sizes(), at::IntArrayRef({4096, 1024}));
  EXPECT_EQ(sd.at("visual_projection.weight").sizes(), at::IntArrayRef({768, 1024}));
  // 24 layers of 12,596,224 parameters + embeddings/norms/projection: the vision half of CLIP ViT-L/14.
  int64_t one = 0;
  for (const auto& p : m->parameters()) one += p.numel();
  const int64_t per_layer = 4 * (1024 * 1024 + 1024) + 2 * 2 * 1024 + (4096 * 1024 + 4096) + (1024 * 4096 + 1024);
  EXPECT_EQ(per_layer, 12596224);
  EXPECT_EQ(one + 23 * per_layer, 303966208);
}

TEST(ClipPreprocess, ResizeCropMatchesClipImageProcessorAt224) {
  const auto g = read_safetensors(kData + "/preprocess_golden.safetensors");
  const auto img = g.at("image").unsqueeze(0);  // [1, 3, 300, 257] uint8
  const auto ours = clip_resize_crop(img.to(at::kFloat));
  const auto ref = g.at("resized_cropped").unsqueeze(0);
  ASSERT_EQ(ours.sizes(), ref.sizes());
  const auto diff = (ours.to(at::kInt) - ref.to(at::kInt)).abs();
  const int64_t max_diff = diff.max().item<int64_t>();
  const double frac = diff.gt(0).to(at::kDouble).mean().item<double>();
  std::printf("resize+crop vs CLIPImageProcessor: max %lld uint8 levels, %.4f%% pixels differ\n",
              static_cast<long long>(max_diff), frac * 100);
  EXPECT_EQ(max_diff, 0);  // bit-exact with torch's uint8 antialiased bicubic
  EXPECT_EQ(frac, 0.0);
}

TEST(ClipPreprocess, PixelValuesMatchProcessorForUpAndDownscaling) {
  const auto g = read_safetensors(kData + "/vision_golden.safetensors");
  ClipPreprocessOptions o;
  o.shortest_edge = o.crop_size = 32;
  for (int i = 0; i < 2; ++i) {
    const auto pv = clip_preprocess(g.at("image_" + std::to_string(i)), o);
    const auto& ref = g.at("processed_" + std::to_string(i));
    ASSERT_EQ(pv.sizes(), ref.sizes());
    const double d = (pv - ref).abs().max().item<double>();
    EXPECT_LE(d, 1e-5) << "image " << i;  // one uint8 level is 1 / 255 / 0.27 = 0.0145
  }
  EXPECT_THROW(clip_preprocess(at::rand({1, 4, 8, 8}), o), Error);
}
