// dagalign bench fl: the forward-looking term of DAG-DB / DAG-KL computed once per state per update (the cache,
// train.fl_cache = true, Trainer::fl_rewards) against the official form (Trainer::fill_fl_naive: the policy's
// x0_hat, a decode and a reward call at both ends of every transition), on any world a train config builds.
//
// Per update of U = batch_size * grad_accum trajectories of T steps the cache makes U * T evaluations of
// r(decode(x0_hat(x_t))) (the terminal state's reward is stored), the naive form 2 * U * T. Both train the
// same sampled batch from the same weights; in exact arithmetic they give the same losses, and the bench
// exits 1 when any loss term differs by more than bench.tolerance (relative).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "dagalign/algo/objective.h"
#include "dagalign/cli/commands.h"
#include "dagalign/cli/train_timing.h"
#include "dagalign/core/config.h"
#include "dagalign/core/error.h"
#include "dagalign/core/runtime.h"
#include "dagalign/core/timer.h"
#include "dagalign/dist/communicator.h"
#include "dagalign/train/run.h"
#include "dagalign/train/trainer.h"

namespace dagalign::cli {

int bench_fl(const Args& args) {
  int runs = 3, threads = 1;
  // The two forms evaluate the same states in batches of other shapes, which BLAS kernels round differently
  // (1.05e-6 measured under OpenBLAS Haswell on the 2-D world's DAG-KL): 1e-5 float32 relative.
  double tolerance = 1e-5;
  RunInputs in;
  Config config("dagalign bench fl");
  in.train.add_to(config);
  in.toy2d.add_to(config);
  in.diffusers.add_to(config);
  config.add("bench.runs", &runs, "timed rounds, each trains both forms once, interleaved (medians are reported)")
      .add("bench.threads", &threads, "LibTorch threads (0: all cores)")
      .add("bench.tolerance", &tolerance, "largest relative difference of a loss term between the two forms before the bench exits 1");
  if (!config.parse(args)) {
    std::printf("usage: dagalign bench fl --config TRAIN.ini [--bench.runs N] [--bench.threads N] [--section.key v]\n\n"
                "Times one epoch's updates with the forward-looking term cached per state (train.fl_cache = true)\n"
                "and in the official per-transition form, on the sampled batch of the config's world, and checks\n"
                "that both give the same losses. Sampling: sample.batch_size x sample.batches_per_epoch.\n\n%s",
                config.help().c_str());
    return 0;
  }
  in.train.run.save_trajectories = false;
  in.train.finalize();
  apply_model_schedule(in.train);
  const Algorithm algo = in.train.objective.algorithm;
  if (algo == Algorithm::kDdpo)
    throw ConfigError("train.algorithm: ddpo has no forward-looking term (bench fl needs dagdb or dagkl)");
  const int used = set_threads(threads);
  auto comm = make_self_communicator();
  auto world = make_world(in);
  const auto& c = in.train;
  const int64_t N = c.trajectories_per_epoch(), T = c.sampler.steps, U = int64_t(c.batch_size) * c.grad_accum;
  std::printf("bench fl: %s, %s, %d thread(s); %lld trajectories x %lld steps, %lld per update (%d x grad_accum %d), "
              "%lld update(s); median of %d run(s)\n",
              world->model_id().c_str(), algorithm_name(algo).c_str(), used, (long long)N, (long long)T, (long long)U,
              c.batch_size, c.grad_accum, (long long)(N / U), runs);

  WeightSnapshot initial(*world);
  TrajectoryBatch batch;
  {
    Stopwatch sw;
    Trainer trainer(c, *world, *comm);
    batch = trainer.sample_epoch(0);
    std::printf("sampled the batch in %.2f s (reward mean %.4f)\n", sw.seconds(), batch.rewards.mean().item<double>());
  }
  std::vector<TrainerConfig> forms(2, c);
  forms[0].objective.fl_cache = true;
  forms[1].objective.fl_cache = false;
  const auto timing = time_train_on(forms, *world, *comm, batch, initial, runs);
  for (int i = 0; i < 2; ++i) {
    const auto& t = timing[i];
    std::printf("FL %-6s: %8.3f s per update (CPU %8.3f s), %7.1f transitions/s, %lld forward-looking evaluations "
                "per update\n",
                i == 0 ? "cache" : "naive", t.seconds_per_update(), t.cpu_seconds_per_update(), t.transitions / t.seconds,
                (long long)((i + 1) * U * T));
  }
  std::printf("speed-up of the cache: %.2fx per update (CPU time: %.2fx)\n", timing[1].seconds / timing[0].seconds,
              timing[1].cpu_seconds / timing[0].cpu_seconds);
  // The naive form makes U * T evaluations more per update than the cache: their cost, and the share of the
  // update that evaluations take in each form (an estimate from the difference of two CPU times).
  const double per_eval = (timing[1].cpu_seconds_per_update() - timing[0].cpu_seconds_per_update()) / double(U * T);
  std::printf("one forward-looking evaluation (UNet forward + decode + reward) ~ %.2f ms CPU; share of the update: "
              "cache %.0f %%, naive %.0f %%\n",
              1e3 * per_eval, 100 * per_eval * U * T / timing[0].cpu_seconds_per_update(),
              100 * per_eval * 2 * U * T / timing[1].cpu_seconds_per_update());

  // The same losses: every term of the first run of each form (same batch, same starting weights).
  double worst = 0;
  bool identical = true;
  for (const auto& [name, a] : timing[0].loss) {
    const auto it = timing[1].loss.find(name);
    DAG_CHECK(it != timing[1].loss.end(), "bench fl: loss term ", name, " missing in the naive form");
    const double b = it->second, rel = std::abs(a - b) / std::max(std::abs(a), 1e-30);
    identical = identical && a == b;
    worst = std::max(worst, rel);
    std::printf("  %-16s cache %.9g  naive %.9g\n", name.c_str(), a, b);
  }
  if (identical)
    std::printf("losses: identical (bitwise)\n");
  else
    std::printf("losses: largest relative difference %.3g (tolerance %.3g)\n", worst, tolerance);
  return worst <= tolerance ? 0 : 1;
}

}  // namespace dagalign::cli
