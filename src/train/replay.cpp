#include "dagalign/train/replay.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/core/rng.h"
#include "dagalign/io/trajectory_store.h"
#include "dagalign/train/sources.h"
#include "dagalign/train/trainer.h"

namespace fs = std::filesystem;

namespace dagalign {

namespace {
const Choices<ReplaySampling>& sampling_names() {
  static const Choices<ReplaySampling> names = {{"uniform", ReplaySampling::kUniform},
                                                {"prioritized", ReplaySampling::kPrioritized},
                                                {"sequential", ReplaySampling::kSequential}};
  return names;
}
}  // namespace

void ReplayConfig::add_to(Config& c) {
  c.add("replay.trajectories", &trajectories, "glob of trajectory files to train from (also --trajectories GLOB)")
      .add("replay.sampling", &sampling, sampling_names(),
           "rows drawn uniformly (distinct rows), prioritized (P ∝ exp(priority_beta * reward), with replacement) "
           "or sequentially (stored order)")
      .add("replay.priority_beta", &priority_beta, "prioritized: inverse temperature on the reward")
      .add("replay.epochs", &epochs, "replay epochs", positive())
      .add("replay.batch", &batch, "rows per replay epoch and rank (0: sample.batch_size * sample.batches_per_epoch)",
           at_least(0))
      .add("replay.init", &init, "checkpoint to start from (parameters, optimiser state, statistics); empty: the initial model")
      .add("replay.dir", &dir, "output directory (metrics, params-final.safetensors); empty: <run.dir>/replay");
}

void ReplayConfig::finalize(const TrainerConfig& train) {
  if (trajectories.empty()) throw ConfigError("replay.trajectories (--trajectories GLOB) is required");
  if (batch == 0) batch = train.trajectories_per_epoch();
  const int per_update = train.batch_size * train.grad_accum;
  if (batch % per_update != 0)
    throw ConfigError(cat("replay.batch (", batch, ") must be a multiple of train.batch_size * train.grad_accum (",
                          per_update, ")"));
  if (!init.empty() && !fs::exists(init)) throw ConfigError(cat("replay.init: checkpoint file '", init, "' does not exist"));
  if (dir.empty()) dir = (fs::path(train.run.dir) / "replay").string();
}

std::vector<int64_t> replay_rows(const at::Tensor& rewards, const ReplayConfig& rc, int64_t epoch, int rank,
                                 int world_size, at::Generator& gen) {
  auto r = rewards.to(at::kDouble).contiguous();
  std::vector<int64_t> valid;
  for (int64_t i = 0; i < r.numel(); ++i)
    if (std::isfinite(r.data_ptr<double>()[i])) valid.push_back(i);
  const int64_t V = static_cast<int64_t>(valid.size()), n = rc.batch;
  if (V == 0) throw Error(cat("replay: none of the ", r.numel(), " stored rows has a finite reward"));
  std::vector<int64_t> out;
  out.reserve(n);
  if (rc.sampling == ReplaySampling::kSequential) {
    const int64_t start = (epoch * world_size + rank) * n;
    for (int64_t k = 0; k < n; ++k) out.push_back(valid[(start + k) % V]);
  } else if (rc.sampling == ReplaySampling::kUniform) {
    auto pick = n <= V ? at::randperm(V, gen, at::kLong).slice(0, 0, n) : at::randint(V, {n}, gen, at::kLong);
    for (int64_t k = 0; k < n; ++k) out.push_back(valid[pick[k].item<int64_t>()]);
  } else {
    // P(i) = exp(beta r_i - max_j beta r_j) / sum_j exp(beta r_j - max_j beta r_j)
    auto rv = r.index_select(0, at::tensor(valid, at::kLong));
    auto p = at::softmax(rc.priority_beta * rv, 0);
    auto pick = at::multinomial(p, n, /*replacement=*/true, gen).contiguous();
    for (int64_t k = 0; k < n; ++k) out.push_back(valid[pick.data_ptr<int64_t>()[k]]);
  }
  return out;
}

TrajectoryBatch mix_stored_rows(const TrajectoryBatch& fresh, const std::string& run_dir, int64_t epoch, int rank,
                                double fraction, int64_t per_update, uint64_t seed, const TrajectoryExpect& expect) {
  DAG_CHECK(fraction >= 0 && fraction < 1, "mix_stored_rows: fraction ", fraction);
  DAG_CHECK(per_update > 0, "mix_stored_rows: per_update ", per_update);
  // k / (N + k) = f  =>  k = f / (1 - f) * N, rounded to whole updates.
  const int64_t k =
      std::llround(fraction / (1 - fraction) * double(fresh.size()) / double(per_update)) * per_update;
  if (k == 0 || epoch == 0) return fresh;
  std::vector<std::string> files;
  for (int64_t s = 0; s < epoch; ++s) {
    auto f = trajectory_segment_path(run_dir, s, rank);
    if (fs::exists(f)) files.push_back(f);
  }
  if (files.empty()) return fresh;
  TrajectorySet set(files, expect);
  if (set.rows() == 0) return fresh;
  ReplayConfig rc;
  rc.sampling = ReplaySampling::kUniform;
  rc.batch = static_cast<int>(k);
  auto gen = make_generator(stream_seed(seed, Purpose::kReplay, epoch, (uint64_t(1) << 32) + uint64_t(rank)));
  auto stored = set.gather(replay_rows(set.rewards(), rc, epoch, rank, 1, gen));
  return TrajectoryBatch::cat({fresh, stored});
}

int run_replay(const RunInputs& in, const ReplayConfig& rc, Communicator& comm) {
  // Every file is checked against the configured world before any model is built: a file of another model,
  // state shape or step count is refused naming the file and the field.
  TrajectorySet set(rc.trajectories, expected_trajectories(in));
  log::info(cat("replay: ", set.rows(), " stored trajectories in ", set.files().size(), " file(s) matching '",
                rc.trajectories, "', sampling ", name_of(sampling_names(), rc.sampling), ", ", rc.batch,
                " rows per epoch and rank; beta over ", in.train.epochs, " epochs (train.epochs)"));
  auto world = make_world(in);
  Trainer trainer(in.train, *world, comm);
  auto source = make_stored_source(trainer, set, rc, comm);
  LoopConfig lc;
  lc.dir = rc.dir;
  lc.label = "replay epoch";
  lc.epochs = rc.epochs;
  lc.run = in.train.run;
  lc.init = rc.init;
  return run_loop(lc, trainer, *world, *source, comm, in.resolved_config);
}

}  // namespace dagalign
