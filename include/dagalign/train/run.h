#pragma once
// A whole training run in a run directory: set-up, resume, the epoch loop with its one-line log,
// metrics, checkpoints, preemption, and the final export. Returns the process exit code.
#include "dagalign/dist/communicator.h"
#include "dagalign/train/diffusers_world.h"
#include "dagalign/train/train_config.h"
#include "dagalign/train/toy2d.h"

namespace dagalign {

struct RunInputs {
  TrainerConfig train;
  Toy2dConfig toy2d;
  DiffusersWorldConfig diffusers;
  std::string resolved_config;  // INI text of every key
};

// model.path = toy2d -> the 2-D world; a directory with model_index.json -> the diffusers world;
// anything else: ConfigError.
std::unique_ptr<World> make_world(const RunInputs& in);
// A diffusers model.path: schedule.* <- the folder's scheduler/scheduler_config.json (the schedule the model
// was trained with), so the resolved configuration shows what the run uses. Returns true when it applied.
bool apply_model_schedule(TrainerConfig& cfg);

int run_training(const RunInputs& in, Communicator& comm);

}  // namespace dagalign
