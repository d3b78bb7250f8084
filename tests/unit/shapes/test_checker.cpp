#include "dagalign/shapes/checker.h"

#include <cstdio>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "dagalign/core/error.h"
#include "dagalign/core/rng.h"
#include "dagalign/shapes/generator.h"

using namespace dagalign::shapes;

namespace {

struct Accuracy {
  int n = 0, found = 0, shape = 0, colour = 0, background = 0, size = 0, position = 0;
  void print(const char* what) const {
    std::printf("[checker %s] n=%d shape %.4f colour %.4f background %.4f size %.4f position %.4f\n", what, n,
                shape / double(n), colour / double(n), background / double(n), size / double(n),
                position / double(n));
  }
};

Accuracy measure(const Batch& b, const at::Tensor& images) {
  Accuracy acc;
  std::vector<Reading> rs = read_images(images);
  for (size_t i = 0; i < rs.size(); ++i) {
    const Attributes& t = b.attributes[i];
    const Reading& r = rs[i];
    ++acc.n;
    acc.found += r.found;
    acc.shape += r.found && r.shape == t.shape;
    acc.colour += r.colour == t.colour;
    acc.background += r.background == t.background;
    acc.size += r.found && r.size == t.size;
    acc.position += r.found && r.position == t.position;
  }
  return acc;
}

}  // namespace

TEST(ShapesChecker, ReadsCleanImagesAtLeast99Percent) {
  Batch b = generate_batch(2024, 0, 3000);
  Accuracy acc = measure(b, b.images);
  acc.print("clean");
  EXPECT_EQ(acc.found, acc.n);
  for (int v : {acc.shape, acc.colour, acc.background, acc.size, acc.position}) EXPECT_GE(v, 0.99 * acc.n);
}

TEST(ShapesChecker, ReadsHardEdgedImages) {
  WorldSpec spec;
  spec.supersample = 1;
  Batch b = generate_batch(99, 0, 1000, spec);
  Accuracy acc = measure(b, b.images);
  acc.print("hard-edged");
  for (int v : {acc.shape, acc.colour, acc.background, acc.size, acc.position}) EXPECT_GE(v, 0.97 * acc.n);
}

// Gaussian pixel noise: accuracy falls gracefully (colours and background stay exact, geometry degrades).
TEST(ShapesChecker, DegradesGracefullyWithNoise) {
  Batch b = generate_batch(77, 0, 1000);
  at::Generator g = dagalign::make_generator(5);
  for (double sigma : {0.05, 0.1}) {
    at::Tensor noisy = (b.images + sigma * at::randn(b.images.sizes(), g)).clamp(0, 1);
    Accuracy acc = measure(b, noisy);
    acc.print(sigma == 0.05 ? "noise 0.05" : "noise 0.10");
    const double floor = sigma == 0.05 ? 0.93 : 0.85;  // measured: 0.96, 0.90
    EXPECT_GE(acc.colour, 0.99 * acc.n);
    EXPECT_GE(acc.background, 0.99 * acc.n);
    for (int v : {acc.shape, acc.size, acc.position}) EXPECT_GE(v, floor * acc.n) << sigma;
  }
  // pure noise around a grey level: no confident shape reading
  at::Tensor flat = at::full({3, 32, 32}, 0.5f);
  Reading r = read_image(flat);
  EXPECT_FALSE(r.found);
}

// Blur (a model's soft edges): a [1 2 1]/4 x [1 2 1]/4 filter keeps every attribute readable.
TEST(ShapesChecker, ReadsBlurredImages) {
  Batch b = generate_batch(78, 0, 1000);
  at::Tensor k1 = at::tensor({0.25f, 0.5f, 0.25f});
  at::Tensor k = (k1.view({3, 1}) * k1.view({1, 3})).view({1, 1, 3, 3}).repeat({3, 1, 1, 1});
  at::Tensor padded = at::replication_pad2d(b.images, {1, 1, 1, 1});
  at::Tensor blurred = at::conv2d(padded, k, at::Tensor(), at::IntArrayRef{1, 1}, at::IntArrayRef{0, 0}, at::IntArrayRef{1, 1}, 3);
  ASSERT_EQ(blurred.sizes(), b.images.sizes());
  Accuracy acc = measure(b, blurred);
  acc.print("blur [1 2 1]");
  for (int v : {acc.shape, acc.colour, acc.background, acc.size, acc.position}) EXPECT_GE(v, 0.95 * acc.n);
}

TEST(ShapesChecker, ParsesEveryCaptionOfTheGrammar) {
  const int nc = num_colours();
  int checked = 0;
  for (int c = 0; c < nc; ++c)
    for (int bgc = 0; bgc < nc; ++bgc) {
      if (bgc == c) continue;
      for (int s = 0; s < kNumShapes; ++s)
        for (int z = -1; z < kNumSizes; ++z)
          for (int p = -1; p < kNumPositions; ++p) {
            Attributes a;
            a.shape = static_cast<Shape>(s), a.colour = c, a.background = bgc;
            a.size = static_cast<Size>(std::max(z, 0)), a.position = static_cast<Position>(std::max(p, 0));
            PromptAttributes q = parse_prompt(caption(a, z >= 0, p >= 0));
            ASSERT_EQ(q.shape, s);
            ASSERT_EQ(q.colour, c);
            ASSERT_EQ(q.background, bgc);
            ASSERT_EQ(q.size, z);
            ASSERT_EQ(q.position, p);
            ++checked;
          }
    }
  EXPECT_EQ(checked, 8 * 7 * 4 * 3 * 6);
  PromptAttributes q = parse_prompt("A Large RED circle, in the middle, on a blue background.");
  EXPECT_EQ(q.position, static_cast<int>(Position::kCenter));
  EXPECT_EQ(q.size, static_cast<int>(Size::kLarge));
  EXPECT_THROW(parse_prompt("a cat on a sofa"), dagalign::Error);
  EXPECT_THROW(parse_prompt("a red circle and green"), dagalign::Error);
}

TEST(ShapesChecker, GradedAlignmentScore) {
  Sample s = generate(31, 0);
  Reading r = read_image(s.image);
  const Attributes& a = s.attributes;
  EXPECT_EQ(alignment_score(r, parse_prompt(caption(a, true, true))), 1.0);
  // change exactly one of the five named attributes -> 4/5
  Attributes wrong = a;
  wrong.shape = static_cast<Shape>((static_cast<int>(a.shape) + 1) % kNumShapes);
  EXPECT_DOUBLE_EQ(alignment_score(r, parse_prompt(caption(wrong, true, true))), 0.8);
  // three named attributes, colour wrong -> 2/3
  wrong = a;
  wrong.colour = (a.colour + 1) % num_colours();
  if (wrong.colour == a.background) wrong.colour = (wrong.colour + 1) % num_colours();
  EXPECT_DOUBLE_EQ(alignment_score(r, parse_prompt(caption(wrong, false, false))), 2.0 / 3.0);
  EXPECT_FALSE(faithful(r, parse_prompt(caption(wrong, false, false))));
  EXPECT_TRUE(faithful(r, parse_prompt(caption(a, false, true))));
  // a plain image of the right background: only the background matches
  at::Tensor plain = at::empty({3, 32, 32});
  for (int c = 0; c < 3; ++c) plain[c].fill_(palette()[a.background].rgb[c]);
  Reading rp = read_image(plain);
  EXPECT_FALSE(rp.found);
  EXPECT_DOUBLE_EQ(alignment_score(rp, parse_prompt(caption(a, false, false))), 1.0 / 3.0);
}

TEST(ShapesChecker, RejectsBadShapes) {
  EXPECT_THROW(read_image(at::zeros({1, 32, 32})), dagalign::Error);
  EXPECT_THROW(read_images(at::zeros({2, 3, 32, 16})), dagalign::Error);
}
