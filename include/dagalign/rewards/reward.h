#pragma once
// A black-box reward: decoded samples (+ their prompts) -> one score each. Scores are used as log-rewards
// (log R = beta * r) by DAG and as returns by DDPO (docs/rewards.md).
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace dagalign {

class Reward {
 public:
  virtual ~Reward() = default;
  virtual std::string name() const = 0;
  // samples: (B, 3, H, W) float images in [0, 1] for image models, (B, D) points for the 2-D world.
  // Returns (B,) float32 on the CPU. Throws dagalign::Error naming the reward and the sample on a
  // non-finite score, a wrong count, or a failed scorer.
  virtual at::Tensor score(const at::Tensor& samples, const std::vector<std::string>& prompts) = 0;
};

// Checks a scorer's output: count == B and every value finite, else Error naming reward and sample index.
void check_scores(const std::string& reward, const at::Tensor& scores, int64_t expected);

}  // namespace dagalign
