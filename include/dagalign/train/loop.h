#pragma once
// The one training loop (docs/design.md "One loop"): `dagalign train` and `dagalign replay` are two
// configurations of it. Each epoch a batch source gives this rank's trajectories (fresh samples, stored
// rows, or both), the trainer takes its optimiser steps on them, then the loop logs one line, writes the
// metrics row, checkpoints (with the policy in the world's own format beside it), and the ranks agree on
// stopping for a preemption signal (checkpoint, exit 75). A resumed loop continues bitwise.
#include <string>

#include "dagalign/dist/communicator.h"
#include "dagalign/train/trainer.h"
#include "dagalign/train/world.h"

namespace dagalign {

// One epoch's rows for the update, and which of them give the epoch's reward statistics.
struct EpochRows {
  TrajectoryBatch batch;
  int64_t reward_rows = 0;  // the first reward_rows rows: the fresh samples, or every replayed row
};

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual EpochRows next(int epoch) = 0;  // this rank's rows of `epoch` (0-based), scored
  virtual void finish() {}                // after the last epoch, on rank 0
};

struct LoopConfig {
  std::string dir;              // config.ini, metrics.{jsonl,h5}, checkpoints/, params-final.safetensors, grids
  std::string label = "epoch";  // the log line's first word(s)
  int epochs = 1;
  RunConfig run;                // resume, checkpoints, preemption signal, sample grids
  std::string init;             // a checkpoint to start from when none is resumed (its epoch is not used)
};

// Runs epochs [resumed epoch, lc.epochs); returns the exit code (0, or 75 after a preemption signal).
int run_loop(const LoopConfig& lc, Trainer& trainer, World& world, BatchSource& source, Communicator& comm,
             const std::string& resolved_config);

}  // namespace dagalign
