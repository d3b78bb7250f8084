#include "dagalign/train/run.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/core/rng.h"
#include "dagalign/core/timer.h"
#include "dagalign/diffusion/sampler.h"
#include "dagalign/io/metrics.h"
#include "dagalign/io/png.h"
#include "dagalign/io/trajectory_store.h"
#include "dagalign/train/signals.h"
#include "dagalign/train/state.h"
#include "dagalign/train/trainer.h"
#include "dagalign/models/sd_pipeline.h"
#include "dagalign/weights/safetensors.h"

namespace fs = std::filesystem;

namespace dagalign {

namespace {

bool same_schedule(const ScheduleConfig& a, const ScheduleConfig& b) {
  return a.num_train_timesteps == b.num_train_timesteps && a.beta_start == b.beta_start && a.beta_end == b.beta_end &&
         a.beta_schedule == b.beta_schedule && a.steps_offset == b.steps_offset &&
         a.clip_sample_range == b.clip_sample_range;
}

std::string describe(const ScheduleConfig& s) {
  return cat(s.beta_schedule, " ", s.beta_start, "..", s.beta_end, ", N ", s.num_train_timesteps, ", steps_offset ",
             s.steps_offset);
}

// Row p of the sample grid shows prompt floor(frac(p * phi) * n) of the world's list (phi the golden ratio
// conjugate): spread over the list without aliasing with its sort order (evenly spaced picks of the sorted
// tiny-world captions would all name the same shape).
size_t preview_index(int p, size_t n) {
  const double phi = 0.6180339887498949;
  double f = p * phi;
  f -= std::floor(f);
  return std::min(n - 1, static_cast<size_t>(f * static_cast<double>(n)));
}

// The before/after sample grid: run.preview_prompts prompts spread over the world's prompt list (rows) x
// run.preview_seeds seeds (columns); cell (p, j) uses the seed stream_seed(run.seed, kEval, 0, j) whatever the
// epoch, so the two grids show the same noise under the policy before and after training. Labels: reward
// and prompt. No-op for worlds without prompts (toy2d).
void write_sample_grid(World& world, const TrainerConfig& cfg, const NoiseSchedule& schedule, const fs::path& path) {
  const auto list = world.prompt_list();
  const int P = std::min<int>(cfg.run.preview_prompts, static_cast<int>(list.size())), S = cfg.run.preview_seeds;
  if (P <= 0 || S <= 0) return;
  Stopwatch sw;
  std::vector<std::string> prompts;
  std::vector<uint64_t> seeds;
  for (int p = 0; p < P; ++p)
    for (int j = 0; j < S; ++j) {
      prompts.push_back(list[preview_index(p, list.size())]);
      seeds.push_back(stream_seed(cfg.run.seed, Purpose::kEval, 0, j));
    }
  SamplerConfig sc = cfg.sampler;
  sc.keep_eps = false;
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> images, rewards;
  const size_t chunk = static_cast<size_t>(std::max(cfg.sample_batch_size, 1));
  for (size_t lo = 0; lo < prompts.size(); lo += chunk) {
    const size_t hi = std::min(prompts.size(), lo + chunk);
    std::vector<std::string> bp(prompts.begin() + lo, prompts.begin() + hi);
    std::vector<at::Generator> gens;
    for (size_t i = lo; i < hi; ++i) gens.push_back(make_generator(seeds[i]));
    auto enc = world.encode(bp);
    auto chain = sample_chain(world.policy(), schedule, sc, world.state_shape(), gens, enc.cond, world.uncond());
    auto img = world.decode(chain.latents.select(1, chain.steps()));
    auto r = world.reward().score(img, bp);
    check_scores(world.reward().name(), r, img.size(0));
    images.push_back(img);
    rewards.push_back(r.to(at::kFloat));
  }
  auto all = at::cat(images), r = at::cat(rewards);
  GridOptions go;
  go.cols = S;
  go.scale = std::max<int>(1, static_cast<int>((128 + all.size(2) - 1) / all.size(2)));  // cells >= 128 px
  go.label_lines = 3;
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::ostringstream os;
    os.setf(std::ios::fixed);
    os.precision(3);
    os << "r=" << r[static_cast<int64_t>(i)].item<double>() << " " << prompts[i];
    go.labels.push_back(os.str());
  }
  write_image_grid(path.string(), all, go);
  log::info(cat("samples: ", path.string(), " (", P, " prompts x ", S, " seeds, mean reward ",
                r.mean().item<double>(), ") in ", sw.seconds(), " s"));
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

std::unique_ptr<World> make_world(const RunInputs& in) {
  if (in.train.model == "toy2d") return make_toy2d_world(in.toy2d, NoiseSchedule(in.train.schedule), in.train.run.seed);
  if (is_diffusers_folder(in.train.model)) return make_diffusers_world(in.diffusers, in.train.model, in.train.run.seed);
  throw ConfigError(cat("model.path: '", in.train.model,
                        "' is not a supported model (expected toy2d or a diffusers folder with model_index.json)"));
}

bool apply_model_schedule(TrainerConfig& cfg) {
  if (!is_diffusers_folder(cfg.model)) return false;
  cfg.schedule = read_scheduler_config((fs::path(cfg.model) / "scheduler" / "scheduler_config.json").string());
  return true;
}

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
  // The model's own noise schedule (a diffusers folder's scheduler/) wins over the schedule.* keys.
  TrainerConfig trainer_cfg = cfg;
  if (const ScheduleConfig* s = world->schedule(); s && !same_schedule(*s, cfg.schedule)) {
    log::info(cat("schedule from ", cfg.model, "/scheduler: ", describe(*s), " (schedule.* keys said ",
                  describe(cfg.schedule), ")"));
    trainer_cfg.schedule = *s;
  }
  Trainer trainer(trainer_cfg, *world, comm);

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

  if (comm.rank() == 0 && start == 0) write_sample_grid(*world, cfg, trainer.schedule(), dir / "samples-before.png");

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
    world->write_final(dir.string());  // e.g. lora-final.safetensors: the same policy tensors, diffusers' format
    write_sample_grid(*world, cfg, trainer.schedule(), dir / "samples-after.png");
  }
  return 0;
}

}  // namespace dagalign
