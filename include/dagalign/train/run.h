#pragma once
// A whole training run in a run directory: set-up, resume, the epoch loop with its one-line log,
// metrics, checkpoints, preemption, and the final export. Returns the process exit code.
#include "dagalign/dist/communicator.h"
#include "dagalign/train/train_config.h"
#include "dagalign/train/toy2d.h"

namespace dagalign {

struct RunInputs {
  TrainerConfig train;
  Toy2dConfig toy2d;
  std::string resolved_config;  // INI text of every key
};

int run_training(const RunInputs& in, Communicator& comm);

}  // namespace dagalign
