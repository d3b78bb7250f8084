// dagalign bench toy2d: sampling and training throughput of the 2-D world, per objective, and the
// forward-looking term computed once per state (cache) against twice per transition (official form).
#include <cstdio>

#include <ATen/ATen.h>

#include "dagalign/cli/commands.h"
#include "dagalign/cli/train_timing.h"
#include "dagalign/core/config.h"
#include "dagalign/core/runtime.h"
#include "dagalign/core/timer.h"
#include "dagalign/dist/communicator.h"
#include "dagalign/train/toy2d.h"
#include "dagalign/train/trainer.h"

namespace dagalign::cli {

int bench_toy2d(const Args& args) {
  int runs = 5, threads = 0;
  TrainerConfig train;
  Toy2dConfig toy;
  Config config("dagalign bench toy2d");
  train.add_to(config);
  toy.add_to(config);
  config.add("bench.runs", &runs, "timed repetitions (the median is reported)")
      .add("bench.threads", &threads, "LibTorch threads (0: all cores)");
  if (!config.parse(args)) {
    std::printf("usage: dagalign bench toy2d [--config FILE] [--bench.runs N] [--bench.threads N] [--section.key v]\n\n%s",
                config.help().c_str());
    return 0;
  }
  train.run.save_trajectories = false;
  train.finalize();
  const int used = set_threads(threads);
  auto comm = make_self_communicator();
  auto world = make_toy2d_world(toy, train.schedule, train.run.seed);
  const int64_t T = train.sampler.steps, N = train.trajectories_per_epoch();
  // FLOPs of one MLP evaluation per sample: 2 * (in*h + (L-1)*h*h + h*out) for eps (out 2) and flow (out 1).
  const double h = toy.hidden, L = toy.layers, in = 2 + 32;
  const double mlp = 2 * (in * h + (L - 1) * h * h);
  std::printf("bench toy2d: %d thread(s), %lld trajectories x %lld steps per epoch, MLP %lldx%lld, median of %d runs\n",
              used, (long long)N, (long long)T, (long long)toy.hidden, (long long)toy.layers, runs);
  {
    Trainer trainer(train, *world, *comm);
    std::vector<double> t;
    for (int r = 0; r < runs; ++r) {
      Stopwatch sw;
      trainer.sample_epoch(r);
      t.push_back(sw.seconds());
    }
    const double s = median(t);
    std::printf("sampling: %.0f trajectories/s (%.1f GFLOP/s in the eps-model)\n", N / s,
                N * T * (mlp + 2 * h * 2) / s / 1e9);
  }
  // Every configuration trains the same batch from the same weights (cli/train_timing.h).
  WeightSnapshot initial(*world);
  TrajectoryBatch batch;
  {
    Trainer trainer(train, *world, *comm);
    batch = trainer.sample_epoch(0);
  }
  std::vector<TrainerConfig> configs;
  std::vector<std::string> names;
  for (Algorithm algo : {Algorithm::kDagDb, Algorithm::kDagKl, Algorithm::kDdpo}) {
    for (bool cache : {true, false}) {
      if (!cache && algo == Algorithm::kDdpo) continue;  // DDPO has no forward-looking term
      TrainerConfig c = train;
      c.objective.algorithm = algo;
      c.objective.fl_cache = cache;
      c.finalize();
      configs.push_back(c);
      char name[32];
      std::snprintf(name, sizeof name, "%-5s %-9s", algorithm_name(algo).c_str(),
                    algo == Algorithm::kDdpo ? "" : cache ? "FL cache" : "FL naive");
      names.push_back(name);
    }
  }
  const auto timings = time_train_on(configs, *world, *comm, batch, initial, runs);
  for (size_t i = 0; i < configs.size(); ++i)
    std::printf("training %s: %.0f transitions/s, first-update loss %.6f\n", names[i].c_str(),
                timings[i].transitions / timings[i].seconds, timings[i].loss.at("loss"));
  return 0;
}

}  // namespace dagalign::cli
