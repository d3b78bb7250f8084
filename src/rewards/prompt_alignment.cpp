#include "dagalign/rewards/prompt_alignment.h"

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/shapes/checker.h"

namespace dagalign {

at::Tensor PromptAlignmentReward::score(const at::Tensor& samples, const std::vector<std::string>& prompts) {
  DAG_CHECK(samples.dim() == 4 && samples.size(1) == 3, "reward 'prompt_alignment': expected (B, 3, S, S) images, found shape ",
            samples.sizes());
  const int64_t B = samples.size(0);
  DAG_CHECK(static_cast<int64_t>(prompts.size()) == B, "reward 'prompt_alignment': ", B, " images but ",
            prompts.size(), " prompts");
  std::vector<shapes::Reading> readings = shapes::read_images(samples);
  at::Tensor out = at::empty({B}, at::kFloat);
  float* o = out.data_ptr<float>();
  for (int64_t i = 0; i < B; ++i) {
    shapes::PromptAttributes want;
    try {
      want = shapes::parse_prompt(prompts[i]);
    } catch (const Error& e) {
      throw Error(cat("reward 'prompt_alignment': sample ", i, ": ", e.what()));
    }
    o[i] = static_cast<float>(shapes::alignment_score(readings[i], want));
  }
  check_scores(name(), out, B);
  return out;
}

}  // namespace dagalign
