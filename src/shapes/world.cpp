#include "dagalign/shapes/world.h"

#include <cstring>

namespace dagalign::shapes {

const std::vector<Colour>& palette() {
  static const std::vector<Colour> p = {
      {"red", {0.85f, 0.10f, 0.10f}},    {"green", {0.10f, 0.65f, 0.20f}},
      {"blue", {0.15f, 0.30f, 0.90f}},   {"yellow", {0.95f, 0.90f, 0.10f}},
      {"purple", {0.55f, 0.15f, 0.75f}}, {"orange", {0.95f, 0.50f, 0.05f}},
      {"white", {0.95f, 0.95f, 0.95f}},  {"black", {0.05f, 0.05f, 0.05f}},
  };
  return p;
}

int num_colours() { return static_cast<int>(palette().size()); }

namespace {
const char* const kShapes[kNumShapes] = {"circle", "square", "triangle", "cross"};
const char* const kSizes[kNumSizes] = {"small", "large"};
const char* const kPositions[kNumPositions] = {"center", "left", "right", "top", "bottom"};
const char* const kPhrases[kNumPositions] = {"in the center", "on the left", "on the right", "at the top",
                                             "at the bottom"};

int find(const char* const* names, int n, const std::string& w) {
  for (int i = 0; i < n; ++i)
    if (w == names[i]) return i;
  return -1;
}
}  // namespace

const char* shape_name(Shape s) { return kShapes[static_cast<int>(s)]; }
const char* size_name(Size s) { return kSizes[static_cast<int>(s)]; }
const char* position_phrase(Position p) { return kPhrases[static_cast<int>(p)]; }
const char* position_name(Position p) { return kPositions[static_cast<int>(p)]; }

int shape_index(const std::string& w) { return find(kShapes, kNumShapes, w); }
int size_index(const std::string& w) { return find(kSizes, kNumSizes, w); }
int position_index(const std::string& w) { return find(kPositions, kNumPositions, w); }
int colour_index(const std::string& w) {
  const auto& p = palette();
  for (size_t i = 0; i < p.size(); ++i)
    if (w == p[i].name) return static_cast<int>(i);
  return -1;
}

}  // namespace dagalign::shapes
