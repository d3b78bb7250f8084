#include "dagalign/train/loop.h"

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/core/timer.h"
#include "dagalign/io/checkpoint.h"
#include "dagalign/io/metrics.h"
#include "dagalign/train/sample_grid.h"
#include "dagalign/train/signals.h"
#include "dagalign/weights/safetensors.h"

namespace fs = std::filesystem;

namespace dagalign {

namespace {

std::string epoch_line(const std::string& label, const EpochStats& s, int epochs, double seconds) {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(4);
  os << label << " " << s.epoch + 1 << "/" << epochs << " | reward " << s.reward_mean << " ± " << s.reward_std
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

// The checkpoint to resume from: none, the newest valid one in the folder, or a named file.
std::optional<std::string> resume_file(const RunConfig& run, const fs::path& checkpoints) {
  if (run.resume == "none") return std::nullopt;
  if (run.resume == "auto") return checkpoint::find_latest_valid(checkpoints.string());
  if (!fs::exists(run.resume)) throw ConfigError(cat("run.resume: checkpoint file '", run.resume, "' does not exist"));
  return run.resume;
}

// checkpoints/epoch-000020.h5 -> checkpoints/epoch-000020.lora.safetensors (dagalign sample --lora takes either).
std::string policy_export_path(const std::string& checkpoint_file) {
  return fs::path(checkpoint_file).replace_extension(".lora.safetensors").string();
}

// Removes the policy exports whose checkpoint was pruned.
void prune_policy_exports(const fs::path& checkpoints) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(checkpoints, ec)) {
    const std::string name = e.path().filename().string(), suffix = ".lora.safetensors";
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    const auto h5 = checkpoints / (name.substr(0, name.size() - suffix.size()) + ".h5");
    if (!fs::exists(h5)) fs::remove(e.path(), ec);
  }
}

}  // namespace

int run_loop(const LoopConfig& lc, Trainer& trainer, World& world, BatchSource& source, Communicator& comm,
             const std::string& resolved_config) {
  install_preempt_handler(lc.run.preempt_signal);
  const fs::path dir(lc.dir), checkpoints = dir / "checkpoints";
  if (comm.rank() == 0) {
    fs::create_directories(checkpoints);
    std::ofstream(dir / "config.ini") << resolved_config;
  }
  comm.barrier();

  // Loop epoch e trains as epoch e + offset of the schedules (beta, lr, flow warm-up): a loop started from a
  // checkpoint saved before epoch k continues its run's schedules at k.
  int start = 0, offset = 0;
  if (auto file = resume_file(lc.run, checkpoints)) {
    const auto c = checkpoint::read(*file);
    trainer.load_state_dict(c);
    start = static_cast<int>(c.int_attr("epoch"));
    offset = c.ints.count("schedule_offset") ? static_cast<int>(c.int_attr("schedule_offset")) : 0;  // older: 0
    log::info(cat("resumed from ", *file, ": continuing at ", lc.label, " ", start + 1, ", optimiser step ",
                  trainer.steps()));
  } else if (!lc.init.empty()) {
    const auto c = checkpoint::read(lc.init);
    trainer.load_state_dict(c);
    offset = static_cast<int>(c.int_attr("epoch"));
    log::info(cat("starting from ", lc.init, " (optimiser step ", trainer.steps(), "; schedules continue at epoch ",
                  offset + 1, ")"));
  }
  std::unique_ptr<MetricsWriter> metrics;
  // Metrics rows are numbered from 1: a loop resumed at 0-based epoch `start` keeps rows 1..start.
  if (comm.rank() == 0) metrics = std::make_unique<MetricsWriter>(dir.string(), start + 1);
  auto save = [&](int next_epoch) {
    if (comm.rank() == 0) {
      const auto file = checkpoint::path(checkpoints.string(), next_epoch);
      world.export_policy(policy_export_path(file));  // before the checkpoint: a valid checkpoint has its export
      CheckpointData c = trainer.state_dict();
      c.ints["epoch"] = next_epoch;
      c.ints["schedule_offset"] = offset;
      c.texts["config"] = resolved_config;
      checkpoint::write(file, c, {lc.run.keep_checkpoints, true});
      prune_policy_exports(checkpoints);
    }
    comm.barrier();
  };
  if (comm.rank() == 0 && start == 0)
    write_sample_grid(world, trainer.config(), trainer.schedule(), (dir / "samples-before.png").string());

  for (int epoch = start; epoch < lc.epochs; ++epoch) {
    Stopwatch sw;
    trainer.timer().clear();
    EpochRows rows = source.next(epoch);
    auto stats = trainer.train_on(rows.batch, epoch + offset);
    stats.epoch = epoch;
    trainer.reward_stats(rows.batch.slice(0, rows.reward_rows), stats);
    stats.seconds = trainer.timer().all();
    const double seconds = sw.seconds();
    log::info(epoch_line(lc.label, stats, lc.epochs, seconds));
    if (metrics) metrics->write(epoch + 1, epoch_metrics(stats, seconds));
    const bool preempted = comm.allreduce_max(preempt_requested() ? 1 : 0) != 0;
    if (preempted || (epoch + 1) % lc.run.checkpoint_every == 0 || epoch + 1 == lc.epochs) save(epoch + 1);
    if (preempted) {
      ignore_termination();  // the ranks agreed to stop: a late SIGTERM from srun must not turn 75 into 143
      log::info(cat("preemption signal: checkpointed after ", lc.label, " ", epoch + 1, ", exiting with code ",
                    kPreemptedExitCode, " (requeue to resume)"));
      return kPreemptedExitCode;
    }
  }
  if (comm.rank() == 0) {
    source.finish();
    write_params((dir / "params-final.safetensors").string(), trainer.trainables());
    world.export_policy((dir / "lora-final.safetensors").string());  // the same policy tensors, the world's format
    write_sample_grid(world, trainer.config(), trainer.schedule(), (dir / "samples-after.png").string());
  }
  return 0;
}

}  // namespace dagalign
