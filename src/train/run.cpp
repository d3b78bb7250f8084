#include "dagalign/train/run.h"

#include <filesystem>

#include "dagalign/core/error.h"
#include "dagalign/models/sd_pipeline.h"
#include "dagalign/models/unet_config.h"
#include "dagalign/train/loop.h"
#include "dagalign/train/sources.h"
#include "dagalign/train/trainer.h"

namespace fs = std::filesystem;

namespace dagalign {

std::unique_ptr<World> make_world(const RunInputs& in) {
  if (in.train.model == "toy2d") return make_toy2d_world(in.toy2d, in.train.schedule, in.train.run.seed);
  if (is_diffusers_folder(in.train.model)) return make_diffusers_world(in.diffusers, in.train.model, in.train.run.seed);
  throw ConfigError(cat("model.path: '", in.train.model,
                        "' is not a supported model (expected toy2d or a diffusers folder with model_index.json)"));
}

bool apply_model_schedule(TrainerConfig& cfg) {
  if (!is_diffusers_folder(cfg.model)) return false;
  cfg.schedule = read_scheduler_config((fs::path(cfg.model) / "scheduler" / "scheduler_config.json").string());
  return true;
}

TrajectoryExpect expected_trajectories(const RunInputs& in) {
  TrajectoryExpect e;
  e.model_id = in.train.model;
  e.steps = in.train.sampler.steps;
  if (in.train.model == "toy2d") {
    e.state_shape = {2};
  } else if (is_diffusers_folder(in.train.model)) {
    const auto u = UNetConfig::from_file((fs::path(in.train.model) / "unet" / "config.json").string());
    e.state_shape = {u.in_channels, u.sample_size, u.sample_size};
  } else {
    make_world(in);  // throws the ConfigError naming model.path
  }
  return e;
}

int run_training(const RunInputs& in, Communicator& comm) {
  auto world = make_world(in);
  Trainer trainer(in.train, *world, comm);
  auto source = make_on_policy_source(trainer, *world, comm, in.resolved_config);
  LoopConfig lc;
  lc.dir = in.train.run.dir;
  lc.epochs = in.train.epochs;
  lc.run = in.train.run;
  return run_loop(lc, trainer, *world, *source, comm, in.resolved_config);
}

}  // namespace dagalign
