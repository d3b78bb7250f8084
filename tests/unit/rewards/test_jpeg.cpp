#include "dagalign/rewards/jpeg.h"

#include <fstream>
#include <iterator>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dagalign/core/error.h"
#include "dagalign/rewards/images.h"

using namespace dagalign;

namespace {
std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << path;
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
}  // namespace

// Sizes equal PIL's Image.save(format="JPEG", quality=95) byte for byte (tools/golden/jpeg_sizes.py).
TEST(JpegReward, SizesEqualPilGolden) {
  const std::string dir = std::string(DAGALIGN_TEST_DATA) + "/jpeg/";
  std::ifstream f(dir + "sizes.json");
  ASSERT_TRUE(f.good()) << dir << "sizes.json";
  nlohmann::json meta = nlohmann::json::parse(f);
  ASSERT_GE(meta["images"].size(), 8u);
  JpegReward incompress(false), compress(true);
  for (const auto& e : meta["images"]) {
    const std::string name = e["name"];
    const int h = e["height"], w = e["width"];
    const size_t want = e["bytes"];
    std::vector<uint8_t> px = read_bytes(dir + name + ".u8");
    ASSERT_EQ(px.size(), static_cast<size_t>(h * w * 3)) << name;
    EXPECT_EQ(jpeg_size(px.data(), h, w, 95), want) << name;
    // through the reward: uint8 -> float v/255 -> round(v*255) is the identity, r = bytes/1000
    at::Tensor hwc = at::from_blob(px.data(), {h, w, 3}, at::kByte).to(at::kFloat) / 255.0f;
    at::Tensor img = hwc.permute({2, 0, 1}).unsqueeze(0).repeat({2, 1, 1, 1});
    at::Tensor r = incompress.score(img, {"a", "b"});
    ASSERT_EQ(r.sizes(), (std::vector<int64_t>{2}));
    EXPECT_FLOAT_EQ(r[0].item<float>(), static_cast<float>(want / 1000.0)) << name;
    EXPECT_FLOAT_EQ(r[1].item<float>(), r[0].item<float>());
    EXPECT_FLOAT_EQ(compress.score(img, {"a", "b"})[0].item<float>(), -static_cast<float>(want / 1000.0));
  }
}

TEST(JpegReward, NoiseIsLessCompressibleThanFlat) {
  at::Tensor flat = at::full({1, 3, 32, 32}, 0.3f);
  at::Tensor noise = at::rand({1, 3, 32, 32});
  JpegReward r(false);
  EXPECT_GT(r.score(noise, {""})[0].item<float>(), r.score(flat, {""})[0].item<float>() + 0.5f);
}

// uint8 = round(img * 255).clamp(0, 255), round half to even like torch.round.
TEST(RewardImages, Uint8ConversionRoundsAndClamps) {
  at::Tensor x = at::tensor({-0.1f, 0.0f, 0.5f / 255, 1.5f / 255, 2.5f / 255, 0.5f, 1.0f, 1.2f}).view({1, 1, 1, 8});
  at::Tensor u = to_uint8_nhwc(x, "test");
  ASSERT_EQ(u.sizes(), (std::vector<int64_t>{1, 1, 8, 1}));
  const std::vector<int> want = {0, 0, 0, 2, 2, 128, 255, 255};  // 0.5->0, 1.5->2, 2.5->2, 127.5->128
  for (int i = 0; i < 8; ++i) EXPECT_EQ(u[0][0][i][0].item<uint8_t>(), want[i]) << i;
  at::Tensor chw = at::arange(12, at::kFloat).view({1, 3, 2, 2}) / 255.0f;
  at::Tensor nhwc = to_uint8_nhwc(chw, "test");
  EXPECT_EQ(nhwc[0][1][0][2].item<uint8_t>(), 10);  // channel 2, row 1, col 0 -> 2*4 + 1*2 + 0
  EXPECT_THROW(to_uint8_nhwc(at::zeros({3, 4, 4}), "test"), Error);
}
