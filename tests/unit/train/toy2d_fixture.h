#pragma once
// Helpers for the 2-D world tests: train in-process from an INI text, then sample and measure.
#include <cstdio>
#include <string>

#include <ATen/ATen.h>

#include "dagalign/core/config.h"
#include "dagalign/core/rng.h"
#include "dagalign/diffusion/sampler.h"
#include "dagalign/dist/communicator.h"
#include "dagalign/train/toy2d.h"
#include "dagalign/train/trainer.h"
#include "statistics.h"

namespace dagalign::testing {

struct Toy2dRun {
  TrainerConfig train;
  Toy2dConfig toy;
  std::unique_ptr<World> world;
  std::unique_ptr<Communicator> comm = make_self_communicator();
  std::unique_ptr<Trainer> trainer;

  // `overrides` (INI text) win over `ini`, as command-line keys win over files.
  explicit Toy2dRun(const std::string& ini, const std::string& overrides = "") {
    Config c("test");
    train.add_to(c);
    toy.add_to(c);
    if (!overrides.empty()) c.parse_ini_text(overrides, "overrides");
    c.parse_ini_text(ini, "test.ini");
    train.finalize();
    world = make_toy2d_world(toy, train.schedule, train.run.seed);
    trainer = std::make_unique<Trainer>(train, *world, *comm);
  }
  // trace > 0: print the binned TV to the target every `trace` epochs.
  void train_epochs(int n, int trace = 0) {
    for (int e = 0; e < n; ++e) {
      trainer->train_on(trainer->sample_epoch(e), e);
      if (trace > 0 && (e + 1) % trace == 0) std::printf("epoch %d: TV %.3f\n", e + 1, tv_to_target(2048, 5, 8));
    }
  }
  // n fresh samples x_0 of the current policy (seeded apart from training).
  at::Tensor samples(int64_t n, uint64_t seed) {
    std::vector<at::Generator> gens;
    for (int64_t i = 0; i < n; ++i) gens.push_back(make_generator(stream_seed(seed, Purpose::kEval, i)));
    auto b = sample_chain(world->policy(), trainer->schedule(), train.sampler, {2}, gens, {}, {});
    return b.latents.select(1, train.sampler.steps);
  }
  double tv_to_target(int64_t n, uint64_t seed, int64_t bins = 16) {
    return total_variation(toy2d_histogram(toy, samples(n, seed), bins),
                           toy2d_target_bins(toy, train.objective.reward_exp, bins));
  }
  double mean_reward(int64_t n, uint64_t seed) { return toy2d_log_reward(toy, samples(n, seed)).mean().item<double>(); }
};

}  // namespace dagalign::testing
