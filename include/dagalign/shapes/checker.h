#pragma once
// Rule-based attribute checker: reads background colour, shape colour, shape class, size and position back
// from an image of the tiny world, parses a caption into the attributes it asks for, and grades how well
// an image matches a caption (the prompt_alignment reward).
//
// Reading an image (3, S, S), float in [0, 1]:
//   1. background b = per-channel median of the border ring -> nearest palette colour; when the ring is noisy
//      (MAD sigma > 0.02) the image is 3x3 box-filtered first
//   2. shape colour f = per-channel median of pixels far from b (|p - b| > 0.2, then refined on the pixels
//      with coverage > 0.75) -> nearest palette colour other than the background
//   3. coverage a(p) = (p - b).(f - b) / |f - b|^2 (the anti-aliasing mix, unclamped so noise averages out);
//      the shape = largest 8-connected component of {a > 0.5}; soft sums over its box grown by 1 pixel,
//      always on the unfiltered pixels (f re-read there from the well-covered pixels)
//   4. soft width w = max_row sum_x a, height h = max_col sum_y a, area A = sum a;
//      fill = A / (w h): square 1, circle pi/4, cross 5/9, triangle 1/2;
//      top = (mass in the upper half of the box) / A: upward triangle 1/4, the others 1/2
//      class: top < 0.38 -> triangle; else fill > 0.89 -> square; fill > 0.67 -> circle; else cross
//   5. size: max(w, h) > 3/8 S -> large; position: box centre offset from S/2 beyond 2.5/32 S along the
//      axis of larger offset -> left/right/top/bottom, else center
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "dagalign/shapes/world.h"

namespace dagalign::shapes {

struct Reading {
  bool found = false;  // a shape (a component of at least 2 pixels) was seen
  int background = -1;
  int colour = -1;
  Shape shape = Shape::kCircle;
  Size size = Size::kSmall;
  Position position = Position::kCenter;
  // the measurements behind the decisions
  float fill = 0, top = 0, width = 0, height = 0, area = 0, cx = 0, cy = 0;
};

// image: (3, S, S) float (any device/dtype; copied to CPU float32).
Reading read_image(const at::Tensor& image);
std::vector<Reading> read_images(const at::Tensor& images);  // (B, 3, S, S)

// What a caption asks for; -1 where it does not say.
struct PromptAttributes {
  int shape = -1, colour = -1, background = -1, size = -1, position = -1;
};
// Parses a caption of the grammar (case and punctuation ignored; "centre"/"middle" mean center).
// Throws dagalign::Error naming the prompt when it names no shape or names a colour with no role.
PromptAttributes parse_prompt(const std::string& prompt);

// Graded alignment in [0, 1]: the fraction of the attributes the prompt names that the reading matches
// (shape, colour, background, and size / position where named). With no shape found only the background
// can match.
double alignment_score(const Reading& r, const PromptAttributes& p);

// True when every attribute the prompt names is matched (prompt fidelity).
bool faithful(const Reading& r, const PromptAttributes& p);

}  // namespace dagalign::shapes
