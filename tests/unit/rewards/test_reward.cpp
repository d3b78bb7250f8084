#include "dagalign/rewards/reward.h"

#include <cmath>
#include <limits>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "dagalign/core/config.h"
#include "dagalign/core/error.h"
#include "dagalign/rewards/factory.h"
#include "dagalign/shapes/generator.h"

using namespace dagalign;

namespace {
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(CheckScores, NamesRewardAndSample) {
  check_scores("r", at::tensor({1.0f, 2.0f}), 2);
  const std::string nan = error_of([] {
    check_scores("myreward", at::tensor({1.0f, std::numeric_limits<float>::quiet_NaN(), 3.0f}), 3);
  });
  EXPECT_NE(nan.find("myreward"), std::string::npos) << nan;
  EXPECT_NE(nan.find("sample 1"), std::string::npos) << nan;
  const std::string inf = error_of([] { check_scores("r", at::tensor({INFINITY}), 1); });
  EXPECT_NE(inf.find("sample 0"), std::string::npos) << inf;
  const std::string count = error_of([] { check_scores("myreward", at::tensor({1.0f, 2.0f}), 3); });
  EXPECT_NE(count.find("expected 3 scores"), std::string::npos) << count;
}

TEST(RewardFactory, KnownNamesAndErrors) {
  for (const std::string n : {"jpeg_compressibility", "jpeg_incompressibility", "prompt_alignment"})
    EXPECT_EQ(make_reward(n)->name(), n);
  const std::string unknown = error_of([] { make_reward("aesthetics"); });
  EXPECT_NE(unknown.find("'aesthetics'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("jpeg_compressibility"), std::string::npos) << unknown;
  EXPECT_THROW(make_reward("external"), ConfigError);  // no command
  Config c("test");
  RewardOptions o;
  o.add_to(c);
  c.parse_ini_text("[reward]\njpeg_quality = 80\nexternal_timeout = 5\n", "inline");
  EXPECT_EQ(o.jpeg_quality, 80);
  EXPECT_EQ(o.external_timeout_s, 5.0);
  o.jpeg_quality = 0;
  EXPECT_THROW(make_reward("jpeg_compressibility", o), Error);
}

// prompt_alignment on generated data: its own captions score 1, shuffled captions score lower, and the
// score equals the hand count for a changed attribute.
TEST(PromptAlignmentReward, GradesGeneratedImages) {
  auto reward = make_reward("prompt_alignment");
  shapes::Batch b = shapes::generate_batch(12, 0, 64);
  at::Tensor own = reward->score(b.images, b.captions);
  EXPECT_EQ(own.min().item<float>(), 1.0f);
  std::vector<std::string> shifted(b.captions.begin() + 1, b.captions.end());
  shifted.push_back(b.captions.front());
  at::Tensor other = reward->score(b.images, shifted);
  EXPECT_LT(other.mean().item<float>(), 0.7f);
  EXPECT_GE(other.min().item<float>(), 0.0f);
  shapes::Attributes a = b.attributes[0];
  a.background = (a.background + 1) % shapes::num_colours();
  if (a.background == a.colour) a.background = (a.background + 1) % shapes::num_colours();
  at::Tensor one = reward->score(b.images.slice(0, 0, 1), {shapes::caption(a, false, false)});
  EXPECT_FLOAT_EQ(one[0].item<float>(), 2.0f / 3.0f);
  const std::string bad = error_of([&] { reward->score(b.images.slice(0, 0, 2), {b.captions[0], "a cat"}); });
  EXPECT_NE(bad.find("sample 1"), std::string::npos) << bad;
  EXPECT_NE(bad.find("'a cat'"), std::string::npos) << bad;
  EXPECT_THROW(reward->score(b.images.slice(0, 0, 2), {b.captions[0]}), Error);
}
