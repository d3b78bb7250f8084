#include "dagalign/shapes/diversity.h"

#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/shapes/checker.h"

namespace dagalign::shapes {

double mean_pairwise_rms(const at::Tensor& x) {
  DAG_CHECK(x.dim() >= 1 && x.size(0) >= 2, "diversity: need at least 2 samples, found shape ", x.sizes());
  const int64_t B = x.size(0);
  at::Tensor f = x.to(at::kCPU, at::kDouble).reshape({B, -1});
  const double D = static_cast<double>(f.size(1));
  // ||x_i - x_j||^2 = |x_i|^2 + |x_j|^2 - 2 x_i.x_j, clamped at 0 against rounding
  at::Tensor sq = (f * f).sum(1);
  at::Tensor d2 = (sq.unsqueeze(1) + sq.unsqueeze(0) - 2.0 * at::matmul(f, f.t())).clamp_min(0);
  at::Tensor upper = at::triu(d2.sqrt(), 1);
  return upper.sum().item<double>() / (static_cast<double>(B) * (B - 1) / 2.0) / std::sqrt(D);
}

double entropy_bits(const std::vector<int64_t>& labels) {
  if (labels.empty()) return 0.0;
  std::map<int64_t, int64_t> counts;
  for (int64_t l : labels) ++counts[l];
  double h = 0;
  const double n = static_cast<double>(labels.size());
  for (const auto& [label, c] : counts) {
    const double p = c / n;
    h -= p * std::log2(p);  // H = -sum p log2 p
  }
  return h;
}

Diversity measure_diversity(const at::Tensor& images) {
  DAG_CHECK(images.dim() == 4 && images.size(1) == 3 && images.size(0) >= 2,
            "diversity: expected (B >= 2, 3, S, S) images, found shape ", images.sizes());
  Diversity d;
  d.n = images.size(0);
  d.pairwise_rms = mean_pairwise_rms(images);
  std::vector<int64_t> shape, colour, background, joint;
  int64_t found = 0;
  for (const Reading& r : read_images(images)) {
    // a reading without a shape counts as its own value (-1) for shape and colour
    const int64_t s = r.found ? static_cast<int64_t>(r.shape) : -1, c = r.found ? r.colour : -1;
    shape.push_back(s), colour.push_back(c), background.push_back(r.background);
    joint.push_back(((s + 1) * 16 + (c + 1)) * 16 + r.background);
    found += r.found;
  }
  d.shape_entropy = entropy_bits(shape);
  d.colour_entropy = entropy_bits(colour);
  d.background_entropy = entropy_bits(background);
  d.joint_entropy = entropy_bits(joint);
  d.distinct_fraction = static_cast<double>(std::set<int64_t>(joint.begin(), joint.end()).size()) / d.n;
  d.found_fraction = static_cast<double>(found) / d.n;
  return d;
}

std::string Diversity::summary() const {
  std::ostringstream os;
  os.precision(3);
  os << std::fixed << "n=" << n << " pixel rms " << pairwise_rms << " | entropy bits: shape " << shape_entropy
     << " colour " << colour_entropy << " background " << background_entropy << " joint " << joint_entropy
     << " | distinct " << distinct_fraction << " | shape found " << found_fraction;
  return os.str();
}

}  // namespace dagalign::shapes
