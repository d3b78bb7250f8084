#pragma once
// prompt_alignment: a black-box text-image alignment reward for the tiny shapes world. Each image is read
// by the rule-based checker (shapes/checker.h) and graded against its prompt:
//   r = (# attributes the prompt names that the image shows) / (# attributes the prompt names)   in [0, 1]
// e.g. "a red circle on a blue background" -> (shape ok + colour ok + background ok) / 3.
#include "dagalign/rewards/reward.h"

namespace dagalign {

class PromptAlignmentReward : public Reward {
 public:
  std::string name() const override { return "prompt_alignment"; }
  // Throws Error naming the prompt when it is not a caption of the shapes grammar.
  at::Tensor score(const at::Tensor& samples, const std::vector<std::string>& prompts) override;
};

}  // namespace dagalign
