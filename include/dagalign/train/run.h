#pragma once
// The worlds a run can train (the one place that names them) and `dagalign train`: the training loop
// (train/loop.h) with on-policy batches in a run directory. Returns the process exit code.
#include "dagalign/dist/communicator.h"
#include "dagalign/io/trajectory_store.h"
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
// A diffusers model.path: schedule.* <- the folder's scheduler/scheduler_config.json (the schedule the world
// uses), so the resolved configuration shows what the run uses. Returns true when it applied.
bool apply_model_schedule(TrainerConfig& cfg);
// What stored trajectories of the configured world must be (model id, state shape, steps), read from the
// configuration and the model folder's unet/config.json without loading any weights.
TrajectoryExpect expected_trajectories(const RunInputs& in);

int run_training(const RunInputs& in, Communicator& comm);

}  // namespace dagalign
