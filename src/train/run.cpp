#include "dagalign/train/run.h"

#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/core/timer.h"
#include "dagalign/train/signals.h"
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

nlohmann::json epoch_json(const EpochStats& s) {
  nlohmann::json j = {{"epoch", s.epoch + 1},       {"beta", s.beta},
                      {"reward_mean", s.reward_mean}, {"reward_std", s.reward_std},
                      {"reward_max", s.reward_max},   {"reward_min", s.reward_min},
                      {"grad_norm_policy", s.grad_norm_policy}, {"grad_norm_flow", s.grad_norm_flow},
                      {"trajectories", s.trajectories}, {"transitions", s.transitions}};
  for (const auto& [k, v] : s.loss) j[k] = v;
  for (const auto& [k, v] : s.seconds) j["seconds_" + k] = v;
  return j;
}

void write_params(const std::string& path, const NamedTensors& params) {
  TensorMap m;
  for (const auto& [name, t] : params) m[name] = t.detach().to(at::kFloat).contiguous();
  write_safetensors(path, m);
}

}  // namespace

int run_training(const RunInputs& in, Communicator& comm) {
  const auto& cfg = in.train;
  install_preempt_handler(cfg.run.preempt_signal);
  if (comm.rank() == 0) {
    fs::create_directories(cfg.run.dir);
    std::ofstream(fs::path(cfg.run.dir) / "config.ini") << in.resolved_config;
  }
  comm.barrier();
  auto world = make_world(in);
  Trainer trainer(cfg, *world, comm);
  std::ofstream metrics;
  if (comm.rank() == 0) metrics.open(fs::path(cfg.run.dir) / "metrics.jsonl", std::ios::app);
  int start = 0;
  for (int epoch = start; epoch < cfg.epochs; ++epoch) {
    Stopwatch sw;
    trainer.timer().clear();
    auto batch = trainer.sample_epoch(epoch);
    auto stats = trainer.train_on(batch, epoch);
    trainer.reward_stats(batch, stats);
    stats.seconds = trainer.timer().all();
    log::info(epoch_line(stats, cfg.epochs, sw.seconds()));
    if (metrics.is_open()) metrics << epoch_json(stats).dump() << "\n" << std::flush;
    if (comm.allreduce_max(preempt_requested() ? 1 : 0)) {
      log::info(cat("preempted after epoch ", epoch + 1, ": exiting with code ", kPreemptedExitCode));
      return kPreemptedExitCode;
    }
  }
  if (comm.rank() == 0) write_params((fs::path(cfg.run.dir) / "params-final.safetensors").string(), trainer.trainables());
  return 0;
}

}  // namespace dagalign
