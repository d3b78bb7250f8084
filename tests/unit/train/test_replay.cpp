// Off-policy replay: a stored on-policy epoch, read back from its HDF5 file and trained with the same
// parameters, gives the objective values and the update the on-policy step computed; row sampling follows
// its stated distributions.
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "dagalign/core/error.h"
#include "dagalign/io/trajectory_store.h"
#include "dagalign/train/replay.h"
#include "toy2d_fixture.h"

using dagalign::testing::Toy2dRun;
namespace fs = std::filesystem;

static const char* kIni =
    "[sample]\nsteps = 6\nbatch_size = 16\nbatches_per_epoch = 2\nlog_prob_reduce = sum\nguidance = 1\n"
    "[train]\nepochs = 4\nbatch_size = 16\ngrad_accum = 1\nreward_exp = 1\nanneal = none\nlr = 3e-3\n"
    "[toy2d]\npretrain_steps = 50\nhidden = 32\n";

static std::vector<at::Tensor> params(Toy2dRun& r) {
  std::vector<at::Tensor> out;
  for (const auto& [n, t] : r.trainer->trainables()) out.push_back(t.detach().clone());
  return out;
}

TEST(Replay, StoredEpochReproducesTheOnPolicyObjective) {
  at::set_num_threads(1);
  const fs::path dir = fs::temp_directory_path() / ("dagalign-replay-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const char* algo : {"dagdb", "dagkl", "ddpo"}) {
    Toy2dRun a(kIni, std::string("[train]\nalgorithm = ") + algo + "\n");
    a.train_epochs(1);  // parameters, optimiser moments and policy version away from their initial values
    const std::string file = (dir / (std::string(algo) + ".h5")).string();
    {
      dagalign::TrajectoryFileMeta meta;
      meta.model_id = a.world->model_id();
      meta.steps = a.train.sampler.steps;
      meta.algorithm = algo;
      dagalign::TrajectoryWriter w(file, meta);
      auto batch = a.trainer->sample_epoch(1, &w);
      w.close();
      auto saved = a.trainer->state_dict();
      auto online = a.trainer->train_on(batch, 1);
      auto p_online = params(a);

      a.trainer->load_state_dict(saved);
      dagalign::TrajectoryExpect expect{a.world->model_id(), a.world->state_shape(), a.train.sampler.steps};
      auto stored = dagalign::read_trajectories(file, expect);
      ASSERT_EQ(stored.size(), batch.size());
      EXPECT_TRUE(stored.seeds.equal(batch.seeds));
      EXPECT_TRUE(stored.latents.equal(batch.latents));
      auto replayed = a.trainer->train_on(stored, 1);
      auto p_replayed = params(a);

      ASSERT_EQ(online.loss.size(), replayed.loss.size()) << algo;
      ASSERT_GE(online.loss.count("loss"), 1u);
      for (const auto& [k, v] : online.loss) {
        ASSERT_TRUE(replayed.loss.count(k)) << algo << " " << k;
        EXPECT_NEAR(replayed.loss.at(k), v, 1e-6 * std::max(1.0, std::abs(v))) << algo << " " << k;
      }
      EXPECT_NEAR(replayed.grad_norm_policy, online.grad_norm_policy, 1e-6 * std::max(1.0, online.grad_norm_policy));
      ASSERT_EQ(p_online.size(), p_replayed.size());
      for (size_t i = 0; i < p_online.size(); ++i)
        EXPECT_TRUE(p_online[i].equal(p_replayed[i])) << algo << " tensor " << i;
      std::printf("%s: on-policy loss %.9g, replayed %.9g\n", algo, online.loss.at("loss"), replayed.loss.at("loss"));
    }
  }
  fs::remove_all(dir);
}

static dagalign::ReplayConfig replay_config(dagalign::ReplaySampling sampling, int batch, double beta = 1.0) {
  dagalign::ReplayConfig rc;
  rc.sampling = sampling;
  rc.batch = batch;
  rc.priority_beta = beta;
  return rc;
}

TEST(Replay, PrioritizedRowsFollowTheSoftmaxOfTheRewards) {
  // 5 rows, one NaN reward (never drawn); P(i) = exp(beta r_i) / sum_j exp(beta r_j) over the finite ones.
  const std::vector<double> r = {0.0, 1.0, NAN, -0.5, 2.0};
  const double beta = 0.8;
  auto rewards = at::tensor(r, at::kDouble).to(at::kFloat);
  auto rc = replay_config(dagalign::ReplaySampling::kPrioritized, 20000, beta);
  auto gen = dagalign::make_generator(7);
  auto rows = dagalign::replay_rows(rewards, rc, 0, 0, 1, gen);
  ASSERT_EQ(rows.size(), 20000u);
  std::vector<double> count(r.size(), 0.0);
  for (auto i : rows) count.at(i) += 1;
  double z = 0;
  for (double x : r)
    if (std::isfinite(x)) z += std::exp(beta * x);
  EXPECT_EQ(count[2], 0.0);
  for (size_t i = 0; i < r.size(); ++i) {
    if (!std::isfinite(r[i])) continue;
    const double p = std::exp(beta * r[i]) / z, f = count[i] / rows.size();
    // 5 binomial standard deviations
    EXPECT_NEAR(f, p, 5 * std::sqrt(p * (1 - p) / rows.size())) << "row " << i;
  }
}

TEST(Replay, UniformRowsAreDistinctAndSequentialRowsFollowTheStoredOrder) {
  auto rewards = at::tensor(std::vector<float>{0, 1, NAN, 3, 4, 5, 6, 7}, at::kFloat);
  auto gen = dagalign::make_generator(3);
  auto u = dagalign::replay_rows(rewards, replay_config(dagalign::ReplaySampling::kUniform, 7), 0, 0, 1, gen);
  std::set<int64_t> distinct(u.begin(), u.end());
  EXPECT_EQ(distinct, (std::set<int64_t>{0, 1, 3, 4, 5, 6, 7}));
  // Rank 1 of 2, epoch 1, 3 rows: valid rows [0 1 3 4 5 6 7], start (1*2+1)*3 = 9 -> positions 2, 3, 4.
  auto s = dagalign::replay_rows(rewards, replay_config(dagalign::ReplaySampling::kSequential, 3), 1, 1, 2, gen);
  EXPECT_EQ(s, (std::vector<int64_t>{3, 4, 5}));
  // Same seed, same rows: the stream is the generator's.
  auto g1 = dagalign::make_generator(11), g2 = dagalign::make_generator(11);
  EXPECT_EQ(dagalign::replay_rows(rewards, replay_config(dagalign::ReplaySampling::kPrioritized, 16), 0, 0, 1, g1),
            dagalign::replay_rows(rewards, replay_config(dagalign::ReplaySampling::kPrioritized, 16), 0, 0, 1, g2));
}

TEST(Replay, MixingAppendsDistinctStoredRowsOfEarlierSegments) {
  at::set_num_threads(1);
  const fs::path dir = fs::temp_directory_path() / ("dagalign-mix-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  Toy2dRun a(kIni, "[train]\nalgorithm = dagdb\n");
  dagalign::TrajectoryExpect expect{a.world->model_id(), a.world->state_shape(), a.train.sampler.steps};
  dagalign::TrajectoryBatch seg0;
  {
    dagalign::TrajectoryFileMeta meta;
    meta.model_id = a.world->model_id();
    meta.steps = a.train.sampler.steps;
    dagalign::TrajectoryWriter w(dagalign::trajectory_segment_path(dir.string(), 0, 0), meta);
    seg0 = a.trainer->sample_epoch(0, &w);
    w.close();
  }
  auto fresh = a.trainer->sample_epoch(1);
  const int64_t N = fresh.size(), U = a.train.batch_size * a.train.grad_accum;  // 32, 16
  // Epoch 0: nothing earlier is stored; f = 0: nothing mixed.
  EXPECT_EQ(dagalign::mix_stored_rows(fresh, dir.string(), 0, 0, 0.5, U, 1, expect).size(), N);
  EXPECT_EQ(dagalign::mix_stored_rows(fresh, dir.string(), 1, 0, 0.0, U, 1, expect).size(), N);
  // f = 0.5: k = N; f = 0.25: k = round(N / 3 / U) * U = 16.
  auto half = dagalign::mix_stored_rows(fresh, dir.string(), 1, 0, 0.5, U, 1, expect);
  ASSERT_EQ(half.size(), 2 * N);
  EXPECT_EQ(dagalign::mix_stored_rows(fresh, dir.string(), 1, 0, 0.25, U, 1, expect).size(), N + 16);
  EXPECT_TRUE(half.latents.slice(0, 0, N).equal(fresh.latents));
  // The appended rows are the N distinct stored rows of segment 0 (each with its latents), in some order.
  std::map<int64_t, int64_t> row_of_seed;
  for (int64_t i = 0; i < N; ++i) row_of_seed[seg0.seeds[i].item<int64_t>()] = i;
  std::set<int64_t> seen;
  for (int64_t i = N; i < 2 * N; ++i) {
    auto it = row_of_seed.find(half.seeds[i].item<int64_t>());
    ASSERT_NE(it, row_of_seed.end()) << "row " << i << " is not a stored row";
    seen.insert(it->second);
    EXPECT_TRUE(half.latents[i].equal(seg0.latents[it->second]));
  }
  EXPECT_EQ(static_cast<int64_t>(seen.size()), N);
  // Same arguments, same rows; the mixed batch trains.
  auto again = dagalign::mix_stored_rows(fresh, dir.string(), 1, 0, 0.5, U, 1, expect);
  EXPECT_TRUE(again.seeds.equal(half.seeds));
  auto stats = a.trainer->train_on(half, 1);
  EXPECT_TRUE(std::isfinite(stats.loss.at("loss")));
  EXPECT_THROW(dagalign::mix_stored_rows(fresh, dir.string(), 1, 0, 1.0, U, 1, expect), dagalign::Error);
  fs::remove_all(dir);
}
