#pragma once
// Off-policy training from stored trajectories (`dagalign replay`): the configured objective is trained
// by Trainer::train_on on batches assembled from rows of HDF5 trajectory files (io/trajectory_store.h)
// instead of freshly sampled ones. Rows keep their seeds, so each trajectory visits its transitions in
// the same per-trajectory order as on-policy training, and DDPO's importance ratios use the stored
// sampling-time log P_F.
//
// Row sampling per replay epoch and rank (rows whose reward is not finite are never drawn):
//   uniform      n distinct rows uniformly at random (with replacement only when n > valid rows)
//   prioritized  n rows with replacement, P(i) = exp(beta r_i) / sum_j exp(beta r_j) (softmax of
//                replay.priority_beta * reward; beta = 0 is uniform with replacement)
//   sequential   the valid rows in stored order, rank r of W taking rows ((e W + r) n + k) mod valid,
//                k < n: replaying epoch e's segment of a 1-rank run with the same config reproduces its
//                on-policy update exactly
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include "dagalign/core/config.h"
#include "dagalign/dist/communicator.h"
#include "dagalign/io/trajectory_store.h"
#include "dagalign/train/run.h"

namespace dagalign {

enum class ReplaySampling { kUniform, kPrioritized, kSequential };

struct ReplayConfig {
  std::string trajectories;          // glob of trajectory files (index.h5 files are skipped)
  ReplaySampling sampling = ReplaySampling::kUniform;
  double priority_beta = 1.0;        // prioritized: P(i) ∝ exp(beta * reward_i)
  int epochs = 10;                   // replay epochs (one optimiser pass over `batch` rows each)
  int batch = 0;                     // rows per replay epoch and rank; 0: sample.batch_size * batches_per_epoch
  std::string dir;                   // output directory; empty: <run.dir>/replay
  std::string init;                  // checkpoint file to start from (parameters, optimiser, statistics);
                                     // empty: the configured world's initial parameters

  void add_to(Config& c);
  // Checks the keys against the training settings (throws ConfigError naming the key and value).
  void finalize(const TrainerConfig& train);
};

// The rows (indices into `rewards`) drawn for one replay epoch on one rank; see the header comment.
std::vector<int64_t> replay_rows(const at::Tensor& rewards, const ReplayConfig& rc, int64_t epoch, int rank,
                                 int world_size, at::Generator& gen);

// Online mixing (for train.replay_fraction f in [0, 1)): appends k stored rows to the N fresh rows of
// epoch `epoch`, k = round(f / (1 - f) * N / U) * U with U = train.batch_size * train.grad_accum, so
// that about a share f of the update is replayed and the batch stays a multiple of U. The stored rows are
// distinct rows (uniform; with replacement only if fewer are stored) of this rank's trajectory files of
// earlier segments, run_dir/trajectories/seg-<s>.rank-<rank>.h5 with s < epoch, drawn with a generator
// seeded by (seed, replay, epoch, 2^32 + rank), so a resumed run draws the same rows. Returns `fresh`
// unchanged when k = 0 or nothing is stored yet.
TrajectoryBatch mix_stored_rows(const TrajectoryBatch& fresh, const std::string& run_dir, int64_t epoch, int rank,
                                double fraction, int64_t per_update, uint64_t seed, const TrajectoryExpect& expect);

// `dagalign replay`: the training loop (train/loop.h) on rows of stored files, in replay.dir, with
// checkpoints, resume (run.resume) and preemption as `dagalign train`. Every file is validated against the
// configured world (model id, state shape, steps) before any model is built. Starts from replay.init if
// given. The objective's beta schedule is the configuration's (train.epochs, train.anneal: a stored run's
// own config.ini gives its schedule), not stretched over replay.epochs. Returns the exit code.
int run_replay(const RunInputs& in, const ReplayConfig& rc, Communicator& comm);

}  // namespace dagalign
