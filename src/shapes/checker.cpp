#include "dagalign/shapes/checker.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <limits>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"

namespace dagalign::shapes {

namespace {

using RGB = std::array<float, 3>;

float dist2(const RGB& a, const RGB& b) {
  float s = 0;
  for (int c = 0; c < 3; ++c) s += (a[c] - b[c]) * (a[c] - b[c]);
  return s;
}

// Nearest palette colour to rgb, skipping index `skip` (-1: none).
int nearest_colour(const RGB& rgb, int skip) {
  const auto& p = palette();
  int best = -1;
  float bd = std::numeric_limits<float>::max();
  for (int i = 0; i < static_cast<int>(p.size()); ++i) {
    if (i == skip) continue;
    const float d = dist2(rgb, p[i].rgb);
    if (d < bd) bd = d, best = i;
  }
  return best;
}

// Per-channel median of the pixels listed in idx (indices into an HW plane).
RGB median_rgb(const float* chw, int64_t plane, const std::vector<int>& idx) {
  RGB m{0, 0, 0};
  if (idx.empty()) return m;
  std::vector<float> v(idx.size());
  for (int c = 0; c < 3; ++c) {
    for (size_t k = 0; k < idx.size(); ++k) v[k] = chw[c * plane + idx[k]];
    auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
    std::nth_element(v.begin(), mid, v.end());
    m[c] = *mid;
  }
  return m;
}

constexpr float kFarFromBackground = 0.2f;  // half the smallest palette distance (0.40, yellow-orange)

// Noise level of the border ring: sigma = 1.4826 * median |p - median| (MAD), averaged over channels.
float border_noise(const float* chw, int64_t plane, const std::vector<int>& border, const RGB& med) {
  std::vector<float> dev(border.size());
  float s = 0;
  for (int c = 0; c < 3; ++c) {
    for (size_t k = 0; k < border.size(); ++k) dev[k] = std::fabs(chw[c * plane + border[k]] - med[c]);
    auto mid = dev.begin() + static_cast<std::ptrdiff_t>(dev.size() / 2);
    std::nth_element(dev.begin(), mid, dev.end());
    s += 1.4826f * *mid / 3.0f;
  }
  return s;
}

// 3x3 box filter with edge replication (cuts i.i.d. noise by 3; preserves row sums of interior rows).
std::vector<float> box3(const float* chw, int S) {
  std::vector<float> out(static_cast<size_t>(3) * S * S);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x) {
        float s = 0;
        for (int dy = -1; dy <= 1; ++dy)
          for (int dx = -1; dx <= 1; ++dx) {
            const int yy = std::clamp(y + dy, 0, S - 1), xx = std::clamp(x + dx, 0, S - 1);
            s += chw[(c * S + yy) * S + xx];
          }
        out[(c * S + y) * S + x] = s / 9.0f;
      }
  return out;
}

constexpr float kNoisy = 0.02f;  // border noise above which the image is box-filtered before reading

Reading read_plane(const float* input, int S) {
  const int64_t plane = static_cast<int64_t>(S) * S;
  Reading r;
  // 1. background: median of the border ring; a noisy image is box-filtered first
  std::vector<int> border;
  for (int x = 0; x < S; ++x) border.push_back(x), border.push_back((S - 1) * S + x);
  for (int y = 1; y < S - 1; ++y) border.push_back(y * S), border.push_back(y * S + S - 1);
  RGB b = median_rgb(input, plane, border);
  std::vector<float> smoothed;
  const float* chw = input;
  if (border_noise(input, plane, border, b) > kNoisy) {
    smoothed = box3(input, S);
    chw = smoothed.data();
    b = median_rgb(chw, plane, border);
  }
  auto px = [&](int i) { return RGB{chw[i], chw[plane + i], chw[2 * plane + i]}; };
  r.background = nearest_colour(b, -1);

  // 2. shape colour: median of the pixels far from the background, refined on the well-covered ones
  std::vector<int> far;
  for (int i = 0; i < plane; ++i)
    if (dist2(px(i), b) > kFarFromBackground * kFarFromBackground) far.push_back(i);
  if (far.size() < 2) return r;
  RGB f = median_rgb(chw, plane, far);
  std::array<float, 3> d{f[0] - b[0], f[1] - b[1], f[2] - b[2]};
  float dd = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
  if (dd < 1e-6f) return r;
  // coverage a(p) = (p - b).(f - b) / |f - b|^2
  std::vector<float> a(plane);
  auto coverage = [&] {
    for (int i = 0; i < plane; ++i) {
      const RGB p = px(i);
      a[i] = ((p[0] - b[0]) * d[0] + (p[1] - b[1]) * d[1] + (p[2] - b[2]) * d[2]) / dd;
    }
  };
  coverage();
  std::vector<int> core;
  for (int i : far)
    if (a[i] > 0.75f) core.push_back(i);
  if (core.size() >= 2) {
    f = median_rgb(chw, plane, core);
    d = {f[0] - b[0], f[1] - b[1], f[2] - b[2]};
    dd = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
    if (dd < 1e-6f) return r;
    coverage();
  }
  r.colour = nearest_colour(f, r.background);

  // 3. largest 8-connected component of {a > 0.5}
  std::vector<int> label(plane, -1), stack, best_members;
  for (int s = 0; s < plane; ++s) {
    if (a[s] <= 0.5f || label[s] >= 0) continue;
    std::vector<int> members;
    stack.assign(1, s);
    label[s] = s;
    while (!stack.empty()) {
      const int i = stack.back();
      stack.pop_back();
      members.push_back(i);
      const int y = i / S, x = i % S;
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int yy = y + dy, xx = x + dx;
          if (yy < 0 || yy >= S || xx < 0 || xx >= S) continue;
          const int j = yy * S + xx;
          if (a[j] > 0.5f && label[j] < 0) label[j] = s, stack.push_back(j);
        }
    }
    if (members.size() > best_members.size()) best_members.swap(members);
  }
  if (best_members.size() < 2) return r;
  int x0 = S, x1 = -1, y0 = S, y1 = -1;
  for (int i : best_members) {
    const int y = i / S, x = i % S;
    x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
  }
  // 4. soft measurements over the box grown by one pixel, on the coverage of the unfiltered image (linear in
  //    the pixels, so zero-mean noise averages out and filtering does not blur the geometry)
  if (chw != input) {
    // the shape colour on the unfiltered pixels: median over the well-covered ones (filtered a > 0.9)
    std::vector<int> inner;
    for (int i = 0; i < plane; ++i)
      if (a[i] > 0.9f) inner.push_back(i);
    if (inner.size() >= 2) {
      const RGB fr = median_rgb(input, plane, inner);
      const RGB dr{fr[0] - b[0], fr[1] - b[1], fr[2] - b[2]};
      const float ddr = dr[0] * dr[0] + dr[1] * dr[1] + dr[2] * dr[2];
      if (ddr > 1e-6f) d = dr, dd = ddr, r.colour = nearest_colour(fr, r.background);
    }
    for (int i = 0; i < plane; ++i) {
      const RGB p{input[i], input[plane + i], input[2 * plane + i]};
      a[i] = ((p[0] - b[0]) * d[0] + (p[1] - b[1]) * d[1] + (p[2] - b[2]) * d[2]) / dd;
    }
  }
  const int gx0 = std::max(0, x0 - 1), gx1 = std::min(S - 1, x1 + 1);
  const int gy0 = std::max(0, y0 - 1), gy1 = std::min(S - 1, y1 + 1);
  const float ymid = 0.5f * (y0 + y1 + 1);  // box centre line (pixel y spans [y, y+1))
  float area = 0, top = 0, w = 0, h = 0;
  for (int y = gy0; y <= gy1; ++y) {
    float row = 0;
    for (int x = gx0; x <= gx1; ++x) row += a[y * S + x];
    w = std::max(w, row);
    area += row;
    // mass above the centre line; the row straddling it counts by its part above
    top += row * std::clamp(ymid - static_cast<float>(y), 0.0f, 1.0f);
  }
  for (int x = gx0; x <= gx1; ++x) {
    float col = 0;
    for (int y = gy0; y <= gy1; ++y) col += a[y * S + x];
    h = std::max(h, col);
  }
  r.found = true;
  r.area = area, r.width = w, r.height = h;
  r.fill = (w > 0 && h > 0) ? area / (w * h) : 0.0f;
  r.top = area > 0 ? top / area : 0.0f;
  if (r.top < 0.38f) r.shape = Shape::kTriangle;
  else if (r.fill > 0.89f) r.shape = Shape::kSquare;
  else if (r.fill > 0.67f) r.shape = Shape::kCircle;
  else r.shape = Shape::kCross;

  // 5. size and position
  const float Sf = static_cast<float>(S);
  r.size = std::max(w, h) > 0.375f * Sf ? Size::kLarge : Size::kSmall;
  r.cx = 0.5f * (x0 + x1 + 1), r.cy = ymid;
  const float ox = r.cx - 0.5f * Sf, oy = r.cy - 0.5f * Sf, t = 2.5f / 32.0f * Sf;
  if (std::fabs(ox) >= std::fabs(oy)) {
    r.position = ox < -t ? Position::kLeft : ox > t ? Position::kRight : Position::kCenter;
  } else {
    r.position = oy < -t ? Position::kTop : oy > t ? Position::kBottom : Position::kCenter;
  }
  return r;
}

at::Tensor as_cpu_float(const at::Tensor& t) { return t.to(at::kCPU, at::kFloat).contiguous(); }

}  // namespace

Reading read_image(const at::Tensor& image) {
  DAG_CHECK(image.dim() == 3 && image.size(0) == 3 && image.size(1) == image.size(2) && image.size(1) >= 4,
            "checker: expected a (3, S, S) image, found shape ", image.sizes());
  at::Tensor x = as_cpu_float(image);
  return read_plane(x.data_ptr<float>(), static_cast<int>(x.size(1)));
}

std::vector<Reading> read_images(const at::Tensor& images) {
  DAG_CHECK(images.dim() == 4 && images.size(1) == 3 && images.size(2) == images.size(3) && images.size(2) >= 4,
            "checker: expected (B, 3, S, S) images, found shape ", images.sizes());
  at::Tensor x = as_cpu_float(images);
  const int S = static_cast<int>(x.size(2));
  std::vector<Reading> out;
  out.reserve(static_cast<size_t>(x.size(0)));
  for (int64_t i = 0; i < x.size(0); ++i) out.push_back(read_plane(x.data_ptr<float>() + i * 3 * S * S, S));
  return out;
}

PromptAttributes parse_prompt(const std::string& prompt) {
  std::vector<std::string> words;
  std::string w;
  for (char ch : prompt + " ") {
    if (std::isalpha(static_cast<unsigned char>(ch))) {
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    } else if (!w.empty()) {
      words.push_back(w);
      w.clear();
    }
  }
  PromptAttributes p;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& t = words[i];
    if (int k = shape_index(t); k >= 0) {
      p.shape = k;
    } else if (int z = size_index(t); z >= 0) {
      p.size = z;
    } else if (int q = position_index(t == "centre" || t == "middle" ? "center" : t); q >= 0) {
      p.position = q;
    } else if (int c = colour_index(t); c >= 0) {
      // "<colour> background" names the background; "<colour> [<size>] <shape>" the shape
      size_t j = i + 1;
      while (j < words.size() && size_index(words[j]) >= 0) ++j;
      if (j < words.size() && words[j] == "background") p.background = c;
      else if (j < words.size() && shape_index(words[j]) >= 0) p.colour = c;
      else throw Error(cat("prompt '", prompt, "': colour '", t, "' is followed by neither a shape nor 'background'"));
    }
  }
  DAG_CHECK(p.shape >= 0, "prompt '", prompt, "' names no shape (known: circle, square, triangle, cross)");
  return p;
}

double alignment_score(const Reading& r, const PromptAttributes& p) {
  int named = 0, matched = 0;
  auto term = [&](int want, bool ok) {
    if (want < 0) return;
    ++named;
    matched += ok ? 1 : 0;
  };
  term(p.background, r.background == p.background);
  term(p.shape, r.found && static_cast<int>(r.shape) == p.shape);
  term(p.colour, r.found && r.colour == p.colour);
  term(p.size, r.found && static_cast<int>(r.size) == p.size);
  term(p.position, r.found && static_cast<int>(r.position) == p.position);
  return named > 0 ? static_cast<double>(matched) / named : 0.0;
}

bool faithful(const Reading& r, const PromptAttributes& p) { return alignment_score(r, p) == 1.0; }

}  // namespace dagalign::shapes
