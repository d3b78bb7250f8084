#pragma once
// One rank's trainer: samples and scores an epoch's trajectories, and trains the chosen objective on every
// transition of a batch (sampled or stored), averaging gradients over ranks once per optimiser step. The
// loop around it is train/loop.h.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dagalign/algo/adamw.h"
#include "dagalign/algo/stat_tracker.h"
#include "dagalign/core/timer.h"
#include "dagalign/dist/communicator.h"
#include "dagalign/dist/flat_grads.h"
#include "dagalign/io/checkpoint.h"
#include "dagalign/train/train_config.h"
#include "dagalign/train/world.h"

namespace dagalign {

class TrajectoryWriter;

struct EpochStats {
  int epoch = 0;
  double beta = 0;
  double reward_mean = 0, reward_std = 0, reward_max = 0, reward_min = 0;  // over all ranks
  std::map<std::string, double> loss;    // loss terms, mean over micro-batches and ranks
  double grad_norm_policy = 0, grad_norm_flow = 0;
  int64_t trajectories = 0;              // sampled this epoch, all ranks
  int64_t transitions = 0;               // trained this epoch, all ranks
  std::map<std::string, double> seconds; // sample, reward, train, io
};

class Trainer {
 public:
  Trainer(const TrainerConfig& cfg, World& world, Communicator& comm);

  // Samples this rank's trajectories of `epoch` and scores them (rewards, prompts, seeds filled in). With a
  // store, each sampling batch is appended to it as soon as it is scored (unscored, NaN rewards, when the
  // reward fails, before the error propagates).
  TrajectoryBatch sample_epoch(int epoch, TrajectoryWriter* store = nullptr);
  // Trains the objective on a batch of this rank's trajectories (every transition once); returns stats.
  EpochStats train_on(const TrajectoryBatch& batch, int epoch);
  // Reward statistics over all ranks into stats.
  void reward_stats(const TrajectoryBatch& batch, EpochStats& stats);

  // The state a resumed run needs to continue bitwise (docs/hdf5-schema.md, checkpoints): params/<name>,
  // optim/exp_avg/<name>, optim/exp_avg_sq/<name>, optim/step/<name> (AdamW's per-parameter step), the
  // optimiser-step counter "step" (the policy version) and DDPO's per-prompt statistics. No generator
  // state: every random stream is a function of (seed, purpose, epoch, trajectory) (core/rng.h).
  CheckpointData state_dict();
  // Restores state_dict()'s entries; errors name the checkpoint (c.source) and the tensor.
  void load_state_dict(const CheckpointData& c);

  const NamedTensors& trainables() const { return trainables_; }
  const NoiseSchedule& schedule() const { return schedule_; }
  int64_t steps() const { return steps_; }
  const TrainerConfig& config() const { return cfg_; }
  PhaseTimer& timer() { return timer_; }

 private:
  at::Tensor advantages(const TrajectoryBatch& batch);
  at::Tensor fl_rewards(const TrajectoryBatch& batch, int64_t begin, int64_t end);
  RewardOfX0 reward_of_x0(const TrajectoryBatch& batch);
  void fill_fl_naive(Transitions& tr, const TrajectoryBatch& batch, const at::Tensor& traj);
  void optimiser_step(EpochStats& stats);

  TrainerConfig cfg_;
  World& world_;
  Communicator& comm_;
  NoiseSchedule schedule_;
  Algorithm algo_;
  NamedTensors trainables_;
  std::vector<at::Tensor> policy_params_, flow_params_;
  std::unique_ptr<FlatGrads> grads_;
  std::unique_ptr<AdamW> opt_;
  PerPromptStatTracker tracker_;
  PhaseTimer timer_;
  int64_t steps_ = 0;
};

}  // namespace dagalign
