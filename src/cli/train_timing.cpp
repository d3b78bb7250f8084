#include "dagalign/cli/train_timing.h"

#include <ctime>

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

std::vector<TrainTiming> time_train_on(const std::vector<TrainerConfig>& configs, World& world, Communicator& comm,
                                       const TrajectoryBatch& batch, WeightSnapshot& start, int runs) {
  std::vector<TrainTiming> out(configs.size());
  std::vector<std::vector<double>> wall(configs.size()), cpu(configs.size());
  for (int r = 0; r < runs; ++r)
    for (size_t i = 0; i < configs.size(); ++i) {
      const auto& cfg = configs[i];
      start.restore();
      Trainer trainer(cfg, world, comm);
      const std::clock_t c0 = std::clock();
      Stopwatch sw;
      auto stats = trainer.train_on(batch, 0);
      wall[i].push_back(sw.seconds());
      cpu[i].push_back(static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
      if (r == 0) {
        out[i].loss = stats.loss;
        out[i].updates = batch.size() / (static_cast<int64_t>(cfg.batch_size) * cfg.grad_accum);
        out[i].transitions = batch.size() * batch.steps();
      }
    }
  for (size_t i = 0; i < configs.size(); ++i) {
    out[i].seconds = median(wall[i]);
    out[i].cpu_seconds = median(cpu[i]);
  }
  return out;
}

}  // namespace dagalign::cli
