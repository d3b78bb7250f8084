#pragma once
// Diversity of a set of images of the tiny world, to put a model's samples next to the training data's:
//   pixel:     mean over pairs i < j of the RMS difference ||x_i - x_j||_2 / sqrt(D)   (D = 3 S S)
//   semantic:  Shannon entropies (bits) of the checker's readings: shape, colour, background and the joint
//              (shape, colour, background) triple, H = -sum_k p_k log2 p_k; and the fraction of distinct triples.
// A set of copies of one image scores 0 everywhere; uniform over k values gives log2 k.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace dagalign::shapes {

struct Diversity {
  int64_t n = 0;
  double pairwise_rms = 0;       // mean pairwise RMS pixel distance
  double shape_entropy = 0;      // bits (max log2 4 = 2)
  double colour_entropy = 0;     // bits (max log2 8 = 3)
  double background_entropy = 0; // bits (max 3)
  double joint_entropy = 0;      // bits of the (shape, colour, background) triple (max log2 224 = 7.81)
  double distinct_fraction = 0;  // distinct triples / n
  double found_fraction = 0;     // images in which the checker found a shape
  std::string summary() const;   // one line: "n=256 pixel 0.312 | entropy shape 1.99 colour 2.98 ... bits"
};

// images: (B, 3, S, S) float in [0, 1], B >= 2.
Diversity measure_diversity(const at::Tensor& images);

// Mean over pairs i < j of ||x_i - x_j||_2 / sqrt(D) for x: (B, ...) (B >= 2).
double mean_pairwise_rms(const at::Tensor& x);
// Shannon entropy in bits of the empirical distribution of labels.
double entropy_bits(const std::vector<int64_t>& labels);

}  // namespace dagalign::shapes
