#include "dagalign/train/run.h"

#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/core/timer.h"
#include "dagalign/io/metrics.h"
#include "dagalign/io/trajectory_store.h"
#include "dagalign/train/signals.h"
#include "dagalign/train/state.h"
#include "dagalign/train/trainer.h"
#include "dagalign/weights/safetensors.h"

namespace fs = std::filesystem;

namespace dagalign {

namespace {

std::unique_ptr<World> make_world(const RunInputs& in) {
  if (in.train.model == "toy2d") return make_toy2d_world(in.toy2d, NoiseSchedule(in.train.schedule), in.train.run.seed);
  throw ConfigError(cat("model.path: '", in.train.model, "' is not a supported model (expected toy2d)"));
}

std::string epoch_line(const EpochStats& s, int epochs, double seconds) {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(4);
  os << "epoch " << s.epoch + 1 << "/" << epochs << " | reward " << s.reward_mean << " ± " << s.reward_std
     << " (max " << s.reward_max << ") | beta " << s.beta;
  for (const auto& [k, v] : s.loss) os << " | " << k << " " << v;
  os.precision(1);
  os << " | " << s.trajectories / std::max(seconds, 1e-9) << " traj/s | time";
  for (const auto& [k, v] : s.seconds) os << " " << k << " " << v << "s";
  return os.str();
}

std::map<std::string, double> epoch_metrics(const EpochStats& s, double seconds) {
  std::map<std::string, double> m = {{"beta", s.beta},
                                     {"reward_mean", s.reward_mean}, {"reward_std", s.reward_std},
                                     {"reward_max", s.reward_max},   {"reward_min", s.reward_min},
                                     {"grad_norm_policy", s.grad_norm_policy}, {"grad_norm_flow", s.grad_norm_flow},
                                     {"trajectories", double(s.trajectories)}, {"transitions", double(s.transitions)},
                                     {"seconds", seconds}};
  for (const auto& [k, v] : s.loss) m[k] = v;
  for (const auto& [k, v] : s.seconds) m["seconds_" + k] = v;
  return m;
}

void write_params(const std::string& path, const NamedTensors& params) {
  TensorMap m;
  for (const auto& [name, t] : params) m[name] = t.detach().to(at::kFloat).contiguous();
  write_safetensors(path, m);
}

// The checkpoint to resume from: none, the newest valid one in the run directory, or a named file.
std::optional<std::string> resume_file(const RunConfig& run) {
  if (run.resume == "none") return std::nullopt;
  if (run.resume == "auto") return checkpoint::find_latest_valid((fs::path(run.dir) / "checkpoints").string());
  if (!fs::exists(run.resume)) throw ConfigError(cat("run.resume: checkpoint file '", run.resume, "' does not exist"));
  return run.resume;
}

}  // namespace

int run_training(const RunInputs& in, Communicator& comm) {
  const auto& cfg = in.train;
  install_preempt_handler(cfg.run.preempt_signal);
  const fs::path dir(cfg.run.dir);
  if (comm.rank() == 0) {
    fs::create_directories(dir / "checkpoints");
    fs::create_directories(dir / "trajectories");
    std::ofstream(dir / "config.ini") << in.resolved_config;
  }
  comm.barrier();
  auto world = make_world(in);
  Trainer trainer(cfg, *world, comm);

  int start = 0;
  if (auto file = resume_file(cfg.run)) {
    start = restore_state(trainer, checkpoint::read(*file));
    log::info(cat("resumed from ", *file, ": continuing at epoch ", start + 1, ", optimiser step ", trainer.steps()));
  }
  std::unique_ptr<MetricsWriter> metrics;
  // Metrics rows are numbered from 1: a run resumed at 0-based epoch `start` keeps rows 1..start.
  if (comm.rank() == 0) metrics = std::make_unique<MetricsWriter>(dir.string(), start + 1);
  auto save = [&](int next_epoch) {
    if (comm.rank() == 0)
      checkpoint::write(checkpoint::path((dir / "checkpoints").string(), next_epoch),
                        capture_state(trainer, next_epoch, in.resolved_config), {cfg.run.keep_checkpoints, true});
    comm.barrier();
  };

  for (int epoch = start; epoch < cfg.epochs; ++epoch) {
    Stopwatch sw;
    trainer.timer().clear();
    std::unique_ptr<TrajectoryWriter> store;
    if (cfg.run.save_trajectories) {
      TrajectoryFileMeta meta;
      meta.run_name = cfg.run.name;
      meta.rank = comm.rank();
      meta.world_size = comm.size();
      meta.segment = epoch;
      meta.model_id = world->model_id();
      meta.steps = cfg.sampler.steps;
      meta.eta = cfg.sampler.eta;
      meta.guidance = cfg.sampler.guidance;
      meta.algorithm = cfg.objective.algorithm;
      meta.config = in.resolved_config;
      TrajectoryStoreOptions opt;
      opt.deflate = cfg.run.trajectory_deflate;
      store = std::make_unique<TrajectoryWriter>(trajectory_segment_path(dir.string(), epoch, comm.rank()), meta, opt);
      trainer.set_batch_sink([&store](const TrajectoryBatch& b) { store->append(b); });
    }
    auto batch = trainer.sample_epoch(epoch);
    if (store) store->close();
    auto stats = trainer.train_on(batch, epoch);
    trainer.reward_stats(batch, stats);
    stats.seconds = trainer.timer().all();
    const double seconds = sw.seconds();
    log::info(epoch_line(stats, cfg.epochs, seconds));
    if (metrics) metrics->write(epoch + 1, epoch_metrics(stats, seconds));
    const bool preempted = comm.allreduce_max(preempt_requested() ? 1 : 0) != 0;
    if (preempted || (epoch + 1) % cfg.run.checkpoint_every == 0 || epoch + 1 == cfg.epochs) save(epoch + 1);
    if (preempted) {
      ignore_termination();  // the ranks agreed to stop: a late SIGTERM from srun must not turn 75 into 143
      log::info(cat("preemption signal: checkpointed after epoch ", epoch + 1, ", exiting with code ",
                    kPreemptedExitCode, " (requeue to resume)"));
      return kPreemptedExitCode;
    }
  }
  if (comm.rank() == 0) {
    write_trajectory_index(dir.string());
    write_params((dir / "params-final.safetensors").string(), trainer.trainables());
  }
  return 0;
}

}  // namespace dagalign
