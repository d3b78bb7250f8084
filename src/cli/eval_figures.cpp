#include "dagalign/cli/eval_figures.h"

#include <cmath>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/core/rng.h"
#include "dagalign/shapes/checker.h"
#include "dagalign/shapes/generator.h"
#include "dagalign/shapes/prompt_sets.h"

namespace dagalign::cli {

std::vector<std::string> load_prompts(const std::string& spec) { return shapes::load_prompts(spec, "prompts"); }

RewardStats reward_stats(const at::Tensor& rewards) {
  DAG_CHECK(rewards.dim() == 1 && rewards.numel() >= 1, "reward_stats: expected (n >= 1,) rewards, found shape ",
            rewards.sizes());
  at::Tensor r = rewards.to(at::kCPU, at::kDouble);
  RewardStats s;
  s.n = r.numel();
  s.mean = r.mean().item<double>();
  s.std = std::sqrt(((r - s.mean) * (r - s.mean)).mean().item<double>());  // sqrt(1/n sum (r - mean)^2)
  s.min = r.min().item<double>();
  s.max = r.max().item<double>();
  return s;
}

bool shapes_prompts(const std::vector<std::string>& prompts, std::string* reason) {
  for (const auto& p : prompts) {
    try {
      shapes::parse_prompt(p);
    } catch (const Error& e) {
      if (reason) *reason = e.what();
      return false;
    }
  }
  return true;
}

Fidelity prompt_fidelity(const at::Tensor& images, const std::vector<std::string>& prompts) {
  DAG_CHECK(images.dim() == 4 && images.size(1) == 3 && images.size(0) == static_cast<int64_t>(prompts.size()),
            "prompt_fidelity: expected (", prompts.size(), ", 3, S, S) images, found shape ", images.sizes());
  Fidelity f;
  if (images.size(2) != images.size(3)) {
    f.reason = cat("images are not square (", images.size(2), "x", images.size(3), ")");
    return f;
  }
  if (!shapes_prompts(prompts, &f.reason)) return f;
  f.applicable = true;
  const std::vector<shapes::Reading> readings = shapes::read_images(images);
  int64_t faithful = 0;
  double alignment = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const shapes::PromptAttributes p = shapes::parse_prompt(prompts[i]);
    const bool ok = shapes::faithful(readings[i], p);
    const double a = shapes::alignment_score(readings[i], p);
    f.faithful.push_back(ok ? 1 : 0);
    f.alignment_per.push_back(a);
    faithful += ok;
    alignment += a;
  }
  const double n = static_cast<double>(prompts.size());
  f.fidelity = static_cast<double>(faithful) / n;
  f.alignment = alignment / n;
  return f;
}

at::Tensor reference_images(const std::vector<std::string>& prompts, uint64_t seed, int image_size) {
  shapes::WorldSpec spec;
  spec.image_size = image_size;
  const int64_t n = static_cast<int64_t>(prompts.size()), S = image_size;
  at::Tensor out = at::empty({n, 3, S, S}, at::kFloat);
  constexpr uint64_t kMaxDraws = 100000;  // acceptance >= 1/10 * 7/8: never reached in practice
  for (int64_t i = 0; i < n; ++i) {
    const shapes::PromptAttributes p = shapes::parse_prompt(prompts[i]);
    const uint64_t stream = stream_seed(seed, Purpose::kData, static_cast<uint64_t>(i));
    bool done = false;
    for (uint64_t k = 0; k < kMaxDraws && !done; ++k) {
      shapes::Attributes a = shapes::draw_attributes(stream, k, spec, nullptr, nullptr);
      // the geometry (extent, centre) follows size and position: keep draws that agree with the caption
      if (p.size >= 0 && static_cast<int>(a.size) != p.size) continue;
      if (p.position >= 0 && static_cast<int>(a.position) != p.position) continue;
      a.shape = static_cast<shapes::Shape>(p.shape);
      if (p.colour >= 0) a.colour = p.colour;
      if (p.background >= 0) a.background = p.background;
      if (a.colour == a.background && !(p.colour >= 0 && p.background >= 0)) continue;
      shapes::render_into(a, spec, out.data_ptr<float>() + i * 3 * S * S);
      done = true;
    }
    DAG_CHECK(done, "reference_images: no draw agrees with prompt '", prompts[i], "'");
  }
  return out;
}

}  // namespace dagalign::cli
