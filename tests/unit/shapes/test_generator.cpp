#include "dagalign/shapes/generator.h"

#include <cmath>
#include <map>
#include <set>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

using namespace dagalign::shapes;

TEST(ShapesGenerator, SameSeedAndIndexGiveTheSameSample) {
  Sample a = generate(7, 123), b = generate(7, 123);
  EXPECT_TRUE(at::equal(a.image, b.image));
  EXPECT_EQ(a.caption, b.caption);
  Sample c = generate(7, 124), d = generate(8, 123);
  EXPECT_FALSE(at::equal(a.image, c.image) && a.caption == c.caption);
  EXPECT_FALSE(at::equal(a.image, d.image) && a.caption == d.caption);
}

TEST(ShapesGenerator, BatchEqualsIndividualSamples) {
  Batch b = generate_batch(3, 40, 6);
  ASSERT_EQ(b.images.sizes(), (std::vector<int64_t>{6, 3, 32, 32}));
  for (int i = 0; i < 6; ++i) {
    Sample s = generate(3, 40 + i);
    EXPECT_TRUE(at::equal(b.images[i], s.image)) << i;
    EXPECT_EQ(b.captions[i], s.caption);
  }
}

TEST(ShapesGenerator, ImagesInUnitRangeAndColoursDiffer) {
  Batch b = generate_batch(1, 0, 500);
  EXPECT_GE(b.images.min().item<float>(), 0.0f);
  EXPECT_LE(b.images.max().item<float>(), 1.0f);
  for (const Attributes& a : b.attributes) EXPECT_NE(a.colour, a.background);
}

TEST(ShapesGenerator, PaletteIsWellSeparated) {
  const auto& p = palette();
  float mind = 1e9f;
  for (size_t i = 0; i < p.size(); ++i)
    for (size_t j = i + 1; j < p.size(); ++j) {
      float d = 0;
      for (int c = 0; c < 3; ++c) d += (p[i].rgb[c] - p[j].rgb[c]) * (p[i].rgb[c] - p[j].rgb[c]);
      mind = std::min(mind, std::sqrt(d));
    }
  EXPECT_GE(mind, 0.4f);
}

// Attribute frequencies over 4000 samples are within 5 binomial standard deviations of uniform.
TEST(ShapesGenerator, AttributesAreUniform) {
  const int n = 4000;
  std::map<int, int> shape, size, pos, col, bg;
  int size_words = 0, pos_words = 0;
  for (int i = 0; i < n; ++i) {
    bool sw, pw;
    Attributes a = draw_attributes(11, i, WorldSpec{}, &sw, &pw);
    ++shape[static_cast<int>(a.shape)], ++size[static_cast<int>(a.size)], ++pos[static_cast<int>(a.position)];
    ++col[a.colour], ++bg[a.background];
    size_words += sw, pos_words += pw;
  }
  auto check = [&](const std::map<int, int>& m, int k, const char* what) {
    ASSERT_EQ(static_cast<int>(m.size()), k) << what;
    const double p = 1.0 / k, sd = std::sqrt(n * p * (1 - p));
    for (auto [v, c] : m) EXPECT_NEAR(c, n * p, 5 * sd) << what << " value " << v;
  };
  check(shape, kNumShapes, "shape");
  check(size, kNumSizes, "size");
  check(pos, kNumPositions, "position");
  check(col, num_colours(), "colour");
  check(bg, num_colours(), "background");
  EXPECT_NEAR(size_words, n / 2, 5 * std::sqrt(n * 0.25));
  EXPECT_NEAR(pos_words, n / 2, 5 * std::sqrt(n * 0.25));
}

// The rendered coverage sum(a) = sum((p - b).(f - b)) / |f - b|^2 equals the shape's closed-form area:
// square e^2, circle pi e^2 / 4, triangle e^2 / 2, cross 5 e^2 / 9 (to supersampling accuracy).
TEST(ShapesGenerator, RenderedAreaMatchesClosedForm) {
  WorldSpec spec;
  spec.supersample = 8;
  const double e = 16.0;
  const double want[kNumShapes] = {M_PI * e * e / 4, e * e, e * e / 2, 5 * e * e / 9};
  for (int s = 0; s < kNumShapes; ++s) {
    Attributes a;
    a.shape = static_cast<Shape>(s);
    a.colour = 0, a.background = 2, a.extent = static_cast<float>(e), a.cx = 15.3f, a.cy = 16.7f;
    at::Tensor img = render(a, spec).to(at::kDouble);
    const auto& f = palette()[a.colour].rgb;
    const auto& b = palette()[a.background].rgb;
    double dd = 0, cov = 0;
    for (int c = 0; c < 3; ++c) dd += (f[c] - b[c]) * (f[c] - b[c]);
    for (int c = 0; c < 3; ++c) cov += ((img[c] - b[c]) * (f[c] - b[c])).sum().item<double>();
    EXPECT_NEAR(cov / dd, want[s], 0.01 * want[s]) << shape_name(a.shape);
  }
}

TEST(ShapesGenerator, CaptionGrammar) {
  Attributes a;
  a.shape = Shape::kTriangle, a.colour = 0, a.background = 2, a.size = Size::kSmall, a.position = Position::kLeft;
  EXPECT_EQ(caption(a, false, false), "a red triangle on a blue background");
  EXPECT_EQ(caption(a, true, true), "a small red triangle on the left on a blue background");
  auto all = all_captions();
  EXPECT_EQ(all.size(), static_cast<size_t>(8 * 7 * kNumShapes * (kNumSizes + 1) * (kNumPositions + 1)));
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), all.size());
  // every word of every generated caption is in the vocabulary
  auto words = caption_words();
  std::set<std::string> vocab(words.begin(), words.end());
  EXPECT_EQ(vocab.size(), words.size());
  EXPECT_TRUE(vocab.count("background") && vocab.count("purple") && vocab.count("cross") && vocab.count("bottom"));
  EXPECT_EQ(words.size(), 8u + 4u + 2u + 5u + 6u);  // colours, shapes, sizes, positions, {a on the in at background}
  Batch b = generate_batch(5, 0, 200);
  for (const std::string& c : b.captions) {
    size_t i = 0;
    while (i < c.size()) {
      size_t j = c.find(' ', i);
      if (j == std::string::npos) j = c.size();
      EXPECT_TRUE(vocab.count(c.substr(i, j - i))) << c;
      i = j + 1;
    }
  }
}
