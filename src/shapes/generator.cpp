#include "dagalign/shapes/generator.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <ATen/Functions.h>

#include "dagalign/core/error.h"
#include "dagalign/core/rng.h"

namespace dagalign::shapes {

namespace {

// splitmix64 stream: x_{k+1} = splitmix64(state += k); uniform draws by rejection-free modulo of the
// top bits (bias < 2^-32 for the small ranges used here).
struct Stream {
  uint64_t state;
  uint64_t next() { return splitmix64(state++); }
  int below(int n) { return static_cast<int>((next() >> 32) % static_cast<uint64_t>(n)); }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
};

// Is the point (x, y) (pixel units) inside the shape centred at (cx, cy) with half-extent r?
bool inside(Shape s, float x, float y, float cx, float cy, float r) {
  const float dx = x - cx, dy = y - cy;
  switch (s) {
    case Shape::kCircle:
      return dx * dx + dy * dy <= r * r;  // |p - c| <= r
    case Shape::kSquare:
      return std::fabs(dx) <= r && std::fabs(dy) <= r;  // max(|dx|, |dy|) <= r
    case Shape::kTriangle: {
      // apex at (cx, cy - r), base from (cx - r, cy + r) to (cx + r, cy + r): |dx| <= (dy + r) / 2
      if (dy < -r || dy > r) return false;
      return std::fabs(dx) <= 0.5f * (dy + r);
    }
    case Shape::kCross: {
      // two bars of width 2r/3: (|dx| <= r/3 and |dy| <= r) or (|dy| <= r/3 and |dx| <= r)
      const float a = r / 3.0f;
      return (std::fabs(dx) <= a && std::fabs(dy) <= r) || (std::fabs(dy) <= a && std::fabs(dx) <= r);
    }
  }
  return false;
}

}  // namespace

Attributes draw_attributes(uint64_t seed, uint64_t index, const WorldSpec& spec, bool* size_word,
                           bool* position_word) {
  DAG_CHECK(spec.image_size >= 8, "shapes: image_size must be >= 8, found ", spec.image_size);
  Stream rng{stream_seed(seed, Purpose::kData, index)};
  Attributes a;
  const int nc = num_colours();
  a.shape = static_cast<Shape>(rng.below(kNumShapes));
  a.colour = rng.below(nc);
  a.background = rng.below(nc - 1);  // uniform over the other colours
  if (a.background >= a.colour) ++a.background;
  a.size = static_cast<Size>(rng.below(kNumSizes));
  a.position = static_cast<Position>(rng.below(kNumPositions));
  const float S = static_cast<float>(spec.image_size);
  const float jitter = Geometry::kJitter * S;
  auto jit = [&] { return static_cast<float>((2.0 * rng.uniform() - 1.0) * jitter); };
  a.extent = (a.size == Size::kLarge ? Geometry::kLargeExtent : Geometry::kSmallExtent) * S + jit();
  float cx = 0.5f * S, cy = 0.5f * S;
  switch (a.position) {
    case Position::kCenter: break;
    case Position::kLeft: cx = Geometry::kNear * S; break;
    case Position::kRight: cx = Geometry::kFar * S; break;
    case Position::kTop: cy = Geometry::kNear * S; break;
    case Position::kBottom: cy = Geometry::kFar * S; break;
  }
  a.cx = cx + jit();
  a.cy = cy + jit();
  const bool sw = rng.uniform() < spec.p_size_word;
  const bool pw = rng.uniform() < spec.p_position_word;
  if (size_word) *size_word = sw;
  if (position_word) *position_word = pw;
  return a;
}

void render_into(const Attributes& a, const WorldSpec& spec, float* chw) {
  const int S = spec.image_size, ss = std::max(1, spec.supersample);
  const auto& fg = palette().at(a.colour).rgb;
  const auto& bg = palette().at(a.background).rgb;
  const float r = 0.5f * a.extent;
  const float inv = 1.0f / static_cast<float>(ss * ss);
  for (int y = 0; y < S; ++y) {
    for (int x = 0; x < S; ++x) {
      // coverage = fraction of the ss x ss sub-pixel centres inside the shape
      int hits = 0;
      for (int sy = 0; sy < ss; ++sy)
        for (int sx = 0; sx < ss; ++sx)
          hits += inside(a.shape, x + (sx + 0.5f) / ss, y + (sy + 0.5f) / ss, a.cx, a.cy, r);
      const float cov = hits * inv;
      for (int c = 0; c < 3; ++c) chw[(c * S + y) * S + x] = cov * fg[c] + (1.0f - cov) * bg[c];
    }
  }
}

at::Tensor render(const Attributes& a, const WorldSpec& spec) {
  at::Tensor img = at::empty({3, spec.image_size, spec.image_size}, at::kFloat);
  render_into(a, spec, img.data_ptr<float>());
  return img;
}

std::string caption(const Attributes& a, bool size_word, bool position_word) {
  std::string s = "a ";
  if (size_word) s += cat(size_name(a.size), " ");
  s += cat(palette().at(a.colour).name, " ", shape_name(a.shape));
  if (position_word) s += cat(" ", position_phrase(a.position));
  s += cat(" on a ", palette().at(a.background).name, " background");
  return s;
}

Sample generate(uint64_t seed, uint64_t index, const WorldSpec& spec) {
  bool sw = false, pw = false;
  Sample s;
  s.attributes = draw_attributes(seed, index, spec, &sw, &pw);
  s.image = render(s.attributes, spec);
  s.caption = caption(s.attributes, sw, pw);
  return s;
}

Batch generate_batch(uint64_t seed, uint64_t first, int64_t n, const WorldSpec& spec) {
  DAG_CHECK(n >= 0, "shapes: batch size must be >= 0, found ", n);
  const int S = spec.image_size;
  Batch b;
  b.images = at::empty({n, 3, S, S}, at::kFloat);
  float* out = b.images.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    bool sw = false, pw = false;
    Attributes a = draw_attributes(seed, first + static_cast<uint64_t>(i), spec, &sw, &pw);
    render_into(a, spec, out + i * 3 * S * S);
    b.captions.push_back(caption(a, sw, pw));
    b.attributes.push_back(a);
  }
  return b;
}

std::vector<std::string> all_captions() {
  std::vector<std::string> out;
  const int nc = num_colours();
  for (int c = 0; c < nc; ++c)
    for (int b = 0; b < nc; ++b) {
      if (b == c) continue;
      for (int s = 0; s < kNumShapes; ++s)
        for (int z = -1; z < kNumSizes; ++z)
          for (int p = -1; p < kNumPositions; ++p) {
            Attributes a;
            a.shape = static_cast<Shape>(s);
            a.colour = c;
            a.background = b;
            a.size = static_cast<Size>(std::max(z, 0));
            a.position = static_cast<Position>(std::max(p, 0));
            out.push_back(caption(a, z >= 0, p >= 0));
          }
    }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> caption_words() {
  std::set<std::string> words;
  for (const std::string& c : all_captions()) {
    size_t i = 0;
    while (i < c.size()) {
      size_t j = c.find(' ', i);
      if (j == std::string::npos) j = c.size();
      words.insert(c.substr(i, j - i));
      i = j + 1;
    }
  }
  return {words.begin(), words.end()};
}

}  // namespace dagalign::shapes
