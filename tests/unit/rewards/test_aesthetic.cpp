// LAION aesthetic reward: the whole chain (preprocess -> CLIP image features -> L2 normalise -> MLP head) vs
// transformers + torch (tests/data/clip/vision_golden.safetensors, tools/golden/clip_models.py).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "dagalign/core/error.h"
#include "dagalign/rewards/aesthetic.h"
#include "dagalign/weights/safetensors.h"
#include "dagalign/weights/state_dict.h"

using namespace dagalign;

namespace {
const std::string kData = std::string(DAGALIGN_TEST_DATA) + "/clip";
}

TEST(AestheticReward, MatchesReferenceChainOnTinyModels) {
  auto reward = AestheticReward::from_files(kData + "/tiny_clip", kData + "/aesthetic_head_tiny.safetensors");
  EXPECT_EQ(reward->name(), "aesthetic");
  const auto g = read_safetensors(kData + "/vision_golden.safetensors");
  for (int i = 0; i < 2; ++i) {
    const auto img = g.at("image_" + std::to_string(i));  // (1, 3, H, W) in [0, 1]
    const auto e = reward->embed(img);
    EXPECT_LE((e - g.at("embedding_" + std::to_string(i))).abs().max().item<double>(), 1e-5) << i;
    const auto s = reward->score(img, {"a prompt"});
    ASSERT_EQ(s.sizes(), at::IntArrayRef({1}));
    EXPECT_EQ(s.scalar_type(), at::kFloat);
    EXPECT_NEAR(s.item<double>(), g.at("score_" + std::to_string(i)).item<double>(), 1e-5) << i;
  }
}

TEST(AestheticReward, BatchesImagesOfOneSizeAndNormalises) {
  auto reward = AestheticReward::from_files(kData + "/tiny_clip", kData + "/aesthetic_head_tiny.safetensors");
  const auto imgs = at::rand({5, 3, 40, 36});
  const auto s = reward->score(imgs, std::vector<std::string>(5, ""));
  ASSERT_EQ(s.sizes(), at::IntArrayRef({5}));
  for (int64_t b = 0; b < 5; ++b)
    EXPECT_NEAR(s[b].item<double>(), reward->score(imgs.slice(0, b, b + 1), {""}).item<double>(), 1e-5);
  const auto e = reward->embed(imgs);
  EXPECT_TRUE(at::allclose(e.norm(2, {-1}), at::ones({5}), 0, 1e-5));  // unit L2 norm
  EXPECT_THROW(reward->score(at::rand({2, 1, 32, 32}), {"", ""}), Error);
}

TEST(AestheticMlp, HasNoActivationsAndLaionLayout) {
  // No activations: the head is affine, f(l x + (1 - l) y) = l f(x) + (1 - l) f(y).
  auto head = load_aesthetic_mlp(kData + "/aesthetic_head_tiny.safetensors");
  at::NoGradGuard no_grad;
  const auto x = at::randn({4, 16}), y = at::randn({4, 16});
  const double l = 0.3;
  EXPECT_TRUE(at::allclose(head->forward(l * x + (1 - l) * y), l * head->forward(x) + (1 - l) * head->forward(y), 1e-5,
                           1e-5));
  // The default head is the LAION one: keys layers.{0,2,4,6,7}.{weight,bias}, 768 -> 1024 -> 128 -> 64 -> 16 -> 1.
  AestheticMlp laion;
  const auto sd = state_dict(*laion);
  EXPECT_EQ(sd.size(), 10u);
  EXPECT_EQ(sd.at("layers.0.weight").sizes(), at::IntArrayRef({1024, 768}));
  EXPECT_EQ(sd.at("layers.2.weight").sizes(), at::IntArrayRef({128, 1024}));
  EXPECT_EQ(sd.at("layers.4.weight").sizes(), at::IntArrayRef({64, 128}));
  EXPECT_EQ(sd.at("layers.6.weight").sizes(), at::IntArrayRef({16, 64}));
  EXPECT_EQ(sd.at("layers.7.weight").sizes(), at::IntArrayRef({1, 16}));
}

TEST(AestheticMlp, ErrorsNameFileAndKey) {
  auto w = read_safetensors(kData + "/aesthetic_head_tiny.safetensors");
  w.erase("layers.4.weight");
  try {
    aesthetic_widths(w, "head.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("head.safetensors"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("'layers.4.weight'"), std::string::npos);
  }
  // A head whose input width is not the CLIP projection width is refused.
  auto clip = load_clip_vision(kData + "/tiny_clip");
  EXPECT_THROW(AestheticReward(clip, AestheticMlp(std::vector<int64_t>{8, 4, 4, 4, 4, 1})), Error);
}
