#include "dagalign/cli/train_timing.h"

#include <ATen/ATen.h>

#include "dagalign/core/timer.h"
#include "dagalign/train/trainer.h"

namespace dagalign::cli {

WeightSnapshot::WeightSnapshot(World& world) {
  for (const auto& named : {world.policy_trainables(), world.flow_trainables()})
    for (const auto& [name, t] : named) {
      live_.push_back(t);
      saved_.push_back(t.detach().clone());
    }
}

void WeightSnapshot::restore() {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < live_.size(); ++i) live_[i].copy_(saved_[i]);
}

TrainTiming time_train_on(const TrainerConfig& cfg, World& world, Communicator& comm, const TrajectoryBatch& batch,
                          WeightSnapshot& start, int runs) {
  TrainTiming out;
  out.updates = batch.size() / (static_cast<int64_t>(cfg.batch_size) * cfg.grad_accum);
  out.transitions = batch.size() * batch.steps();
  std::vector<double> t;
  for (int r = 0; r < runs; ++r) {
    start.restore();
    Trainer trainer(cfg, world, comm);
    Stopwatch sw;
    auto stats = trainer.train_on(batch, 0);
    t.push_back(sw.seconds());
    if (r == 0) out.loss = stats.loss;
  }
  out.seconds = median(t);
  return out;
}

}  // namespace dagalign::cli
