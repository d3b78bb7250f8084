#include "dagalign/shapes/diversity.h"

#include <cmath>
#include <cstdio>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "dagalign/core/error.h"
#include "dagalign/shapes/generator.h"

using namespace dagalign::shapes;

TEST(ShapesDiversity, PairwiseRmsClosedForm) {
  // three 2-D points (0,0), (3,4), (0,4): distances 5, 4, 3; mean 4; / sqrt(D = 2)
  at::Tensor x = at::tensor({0.0, 0.0, 3.0, 4.0, 0.0, 4.0}).view({3, 2});
  EXPECT_NEAR(mean_pairwise_rms(x), 4.0 / std::sqrt(2.0), 1e-12);
  // brute force on random images
  at::manual_seed(0);
  at::Tensor y = at::rand({6, 3, 4, 4});
  double s = 0;
  for (int i = 0; i < 6; ++i)
    for (int j = i + 1; j < 6; ++j) s += (y[i] - y[j]).to(at::kDouble).pow(2).sum().sqrt().item<double>();
  EXPECT_NEAR(mean_pairwise_rms(y), s / 15 / std::sqrt(48.0), 1e-9);
  EXPECT_THROW(mean_pairwise_rms(y.slice(0, 0, 1)), dagalign::Error);
}

TEST(ShapesDiversity, EntropyClosedForm) {
  EXPECT_DOUBLE_EQ(entropy_bits({7, 7, 7}), 0.0);
  EXPECT_DOUBLE_EQ(entropy_bits({0, 1, 2, 3}), 2.0);
  EXPECT_NEAR(entropy_bits({0, 0, 0, 1}), -(0.75 * std::log2(0.75) + 0.25 * std::log2(0.25)), 1e-12);
}

TEST(ShapesDiversity, GeneratedDataIsMoreDiverseThanRepeats) {
  Batch b = generate_batch(2025, 0, 256);
  Diversity data = measure_diversity(b.images);
  std::printf("[diversity training data] %s\n", data.summary().c_str());
  Diversity same = measure_diversity(b.images[0].unsqueeze(0).expand({256, 3, 32, 32}).contiguous());
  std::printf("[diversity one image x256] %s\n", same.summary().c_str());
  // one caption, many samples: only size/position jitter varies
  Attributes a = b.attributes[0];
  std::vector<at::Tensor> v;
  for (int i = 0; i < 64; ++i) {
    a.cx = 16.0f + 0.05f * (i % 8), a.cy = 16.0f + 0.05f * (i / 8);
    v.push_back(render(a));
  }
  Diversity narrow = measure_diversity(at::stack(v));
  std::printf("[diversity one caption]    %s\n", narrow.summary().c_str());
  EXPECT_NEAR(same.pairwise_rms, 0.0, 1e-6);  // Gram-form rounding
  EXPECT_EQ(same.joint_entropy, 0.0);
  EXPECT_GT(data.pairwise_rms, 0.3);
  EXPECT_GT(data.pairwise_rms, 10 * narrow.pairwise_rms);
  EXPECT_EQ(narrow.joint_entropy, 0.0);
  // near the uniform maxima: shape log2 4 = 2, colours log2 8 = 3 (256 samples)
  EXPECT_GT(data.shape_entropy, 1.9);
  EXPECT_GT(data.colour_entropy, 2.8);
  EXPECT_GT(data.background_entropy, 2.8);
  EXPECT_GT(data.joint_entropy, 6.5);
  EXPECT_EQ(data.found_fraction, 1.0);
}
