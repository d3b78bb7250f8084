#pragma once
// A "world" bundles what the trainer needs of a model family: the policy (eps-model) and flow network, the
// noise schedule the model was trained with, prompts and their conditioning, the decoder from final states
// to reward inputs, and the reward. Implementations: the 2-D world (toy2d) and text-to-image diffusers
// folders; train/run.h's make_world() is the one place that names them (the loop never does).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "dagalign/diffusion/schedule.h"
#include "dagalign/diffusion/eps_model.h"
#include "dagalign/rewards/reward.h"

namespace dagalign {

struct PromptBatch {
  std::vector<std::string> prompts;  // one per trajectory
  at::Tensor ids;                    // (N, L) int64 token ids, or undefined
  at::Tensor cond;                   // (N, ...) conditioning, or undefined
};

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

class World {
 public:
  virtual ~World() = default;
  virtual std::string model_id() const = 0;
  virtual std::vector<int64_t> state_shape() const = 0;
  // The noise schedule of the model: a diffusers folder's scheduler/, or the schedule.* keys (toy2d).
  virtual const ScheduleConfig& schedule() const = 0;
  virtual EpsModel& policy() = 0;
  virtual FlowModel& flow() = 0;
  // One prompt per seed (each trajectory's prompt depends only on its own seed).
  virtual PromptBatch prompts(const std::vector<uint64_t>& seeds) = 0;
  virtual at::Tensor uncond() = 0;  // (1, ...) empty-prompt conditioning, or undefined
  // Final states x_0 -> reward inputs (images in [0, 1], or points).
  virtual at::Tensor decode(const at::Tensor& x0) = 0;
  virtual Reward& reward() = 0;
  // Trainable tensors by name: "policy.<name>" and "flow.<name>".
  virtual NamedTensors policy_trainables() = 0;
  virtual NamedTensors flow_trainables() = 0;

  // Every prompt prompts() draws from (empty for an unconditional world): the before/after sample grids
  // pick from it.
  virtual std::vector<std::string> prompt_list() const { return {}; }
  // Conditioning of the given prompts, as prompts() returns it for its own draws.
  virtual PromptBatch encode(const std::vector<std::string>& prompts) { return {prompts, {}, {}}; }
  // The policy in the model family's own format beside a checkpoint or at the end of a run, e.g. the LoRA
  // adapters as a diffusers/peft safetensors file; returns false when the world has no such format (toy2d).
  virtual bool export_policy(const std::string& path) { return false; }
};

}  // namespace dagalign
