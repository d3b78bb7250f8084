#pragma once
// The tiny procedural world: one coloured shape on a plain background, described by a caption from a
// small grammar. This header holds the vocabulary (shapes, colours, sizes, positions) and the geometry
// shared by the generator (generator.h) and the rule-based checker (checker.h).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace dagalign::shapes {

enum class Shape : int { kCircle = 0, kSquare = 1, kTriangle = 2, kCross = 3 };
enum class Size : int { kSmall = 0, kLarge = 1 };
enum class Position : int { kCenter = 0, kLeft = 1, kRight = 2, kTop = 3, kBottom = 4 };

constexpr int kNumShapes = 4;
constexpr int kNumSizes = 2;
constexpr int kNumPositions = 5;

// A named palette colour, RGB in [0, 1]. Colours are far apart (min pairwise RGB distance >= 0.4) so a
// checker can read them back by nearest neighbour even from noisy or blurred pixels.
struct Colour {
  const char* name;
  std::array<float, 3> rgb;
};
const std::vector<Colour>& palette();
int num_colours();

const char* shape_name(Shape s);
const char* size_name(Size s);
// The caption phrase of a position: "in the center", "on the left", "on the right", "at the top", "at the bottom".
const char* position_phrase(Position p);
const char* position_name(Position p);  // "center", "left", ...

// Looks a word up; returns -1 when it is not a shape/colour/size/position word.
int shape_index(const std::string& word);
int colour_index(const std::string& word);
int size_index(const std::string& word);
int position_index(const std::string& word);  // by the last word of the phrase: center, left, right, top, bottom

// Ground truth of one image. cx, cy: shape centre in pixels (pixel i spans [i, i+1)); extent: side of the
// shape's bounding square in pixels.
struct Attributes {
  Shape shape = Shape::kCircle;
  int colour = 0;      // palette index of the shape
  int background = 1;  // palette index of the background, != colour
  Size size = Size::kLarge;
  Position position = Position::kCenter;
  float cx = 16, cy = 16, extent = 16;
};

// Geometry as fractions of the image side S (32 by default): large shapes span S/2, small ones S/4;
// centres sit at S/2 (center) or 11/32 S and 21/32 S (left/right, top/bottom), jittered by up to S/32.
struct Geometry {
  static constexpr float kLargeExtent = 0.5f;
  static constexpr float kSmallExtent = 0.25f;
  static constexpr float kNear = 11.0f / 32.0f;  // left / top centre
  static constexpr float kFar = 21.0f / 32.0f;   // right / bottom centre
  static constexpr float kJitter = 1.0f / 32.0f;
};

}  // namespace dagalign::shapes
