#pragma once
// Timing of Trainer::train_on for the benches (dagalign bench toy2d, dagalign bench fl): every configuration
// trains the same sampled batch from the same starting weights, so their losses can be compared exactly.
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "dagalign/diffusion/trajectory.h"
#include "dagalign/dist/communicator.h"
#include "dagalign/train/train_config.h"
#include "dagalign/train/world.h"

namespace dagalign::cli {

// A copy of the world's policy and flow trainables, written back by restore() (training changes the world's
// models in place).
class WeightSnapshot {
 public:
  explicit WeightSnapshot(World& world);
  void restore();

 private:
  std::vector<at::Tensor> live_, saved_;
};

struct TrainTiming {
  double seconds = 0;                   // median wall time of one train_on over the runs
  double cpu_seconds = 0;               // median process CPU time of one train_on (less sensitive to a busy machine)
  int64_t updates = 0;                  // optimiser steps per train_on: N / (batch_size * grad_accum)
  int64_t transitions = 0;              // transitions per train_on: N * T
  std::map<std::string, double> loss;   // loss terms of the first run (from the snapshot's weights)
  double seconds_per_update() const { return seconds / static_cast<double>(updates); }
  double cpu_seconds_per_update() const { return cpu_seconds / static_cast<double>(updates); }
};

// `runs` rounds; each round trains every config once, in order (interleaved, so that a machine whose load
// changes affects them alike): restore the snapshot, then train the config's objective on `batch` with a
// fresh Trainer (fresh optimiser state). One timing per config.
std::vector<TrainTiming> time_train_on(const std::vector<TrainerConfig>& configs, World& world, Communicator& comm,
                                       const TrajectoryBatch& batch, WeightSnapshot& start, int runs);

}  // namespace dagalign::cli
