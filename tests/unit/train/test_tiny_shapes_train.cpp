// End to end on the real tiny model (models/tiny-shapes): a few epochs of the main job's DAG-DB configuration
// raise a black-box reward served by an external scorer process. The reward is compared on the same eval
// seeds before and after training (paired, so the sampling noise of the two policies is shared) and must
// rise by more than 3 standard errors of the paired difference.
// The task is one prompt (tests/data/prompts-brightness.txt) and the mean brightness, at beta 1000 (a
// brightness difference of 0.001 is one nat) with 48 trajectories per optimiser step: the gradient must point
// the same way on every seed. With the main job's 8 prompts and 16 trajectories per step, the reward's spread
// between prompts, which the policy cannot change, swamps its spread within a prompt, and Adam turns that
// noisy gradient into steps of full size in a seed-dependent direction (docs/results.md "Statistical tests").
// Skipped (with a message) while models/tiny-shapes is absent.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <ATen/ATen.h>

#include "dagalign/core/rng.h"
#include "dagalign/diffusion/sampler.h"
#include "dagalign/dist/communicator.h"
#include "dagalign/train/run.h"
#include "dagalign/train/trainer.h"
#include "diffusers_fixture.h"
#include "statistics.h"

namespace dagalign {
namespace {

struct TinyRun {
  RunInputs in;
  std::unique_ptr<World> world;
  std::unique_ptr<Communicator> comm = make_self_communicator();
  std::unique_ptr<Trainer> trainer;

  TinyRun(const std::string& ini_file, const std::string& overrides) {
    Config c("test");
    in.train.add_to(c);
    in.toy2d.add_to(c);
    in.diffusers.add_to(c);
    c.parse_ini_text(testing::test_overrides(), "DAGALIGN_TEST_OVERRIDES");  // experiments: win over both
    c.parse_ini_text(overrides, "overrides");  // as on the command line: wins over the file
    std::ifstream f(ini_file);
    std::stringstream text;
    text << f.rdbuf();
    c.parse_ini_text(text.str(), ini_file);
    in.train.model = testing::tiny_shapes_folder();
    in.train.finalize();
    apply_model_schedule(in.train);
    world = make_world(in);
    trainer = std::make_unique<Trainer>(in.train, *world, *comm);
  }

  // Rewards of n samples of the current policy: prompt i and noise i from fixed eval seeds.
  at::Tensor eval_rewards(int n) {
    std::vector<std::string> prompts;
    std::vector<at::Generator> gens;
    const auto list = world->prompt_list();
    for (int i = 0; i < n; ++i) {
      prompts.push_back(list[prompt_index(stream_seed(99, Purpose::kEval, 1, i), list.size())]);
      gens.push_back(make_generator(stream_seed(99, Purpose::kEval, 2, i)));
    }
    SamplerConfig sc = in.train.sampler;
    sc.keep_eps = false;
    at::NoGradGuard ng;
    auto enc = world->encode(prompts);
    auto chain = sample_chain(world->policy(), trainer->schedule(), sc, world->state_shape(), gens, enc.cond,
                              world->uncond());
    return world->reward().score(world->decode(chain.latents.select(1, chain.steps())), prompts).to(at::kDouble);
  }
};

// Six epochs of the main job's DAG-DB (configs/tiny-shapes/compress-dagdb.ini, one process, 5 DDIM steps, the
// one-step forward-looking term) against an external scorer, tools/rewards/brightness_scorer.py (mean pixel
// value in [0, 1]) spoken to over the pipe protocol, must raise that reward by more than 3 standard errors
// of the paired difference.
TEST(TinyShapesTrain, DagDbRaisesAnExternalReward) {
  if (!testing::have_tiny_shapes())
    GTEST_SKIP() << "models/tiny-shapes is absent (dagalign pretrain --config configs/tiny-shapes/pretrain.ini)";
  at::set_num_threads(1);
  const std::string src = DAGALIGN_SOURCE_DIR;
  for (int seed : testing::test_seeds({0})) {
    TinyRun run(src + "/configs/tiny-shapes/compress-dagdb.ini",
                "[run]\nseed = " + std::to_string(seed) + "\n"
                "[model]\nprompts = " + src + "/tests/data/prompts-brightness.txt\n"
                "[reward]\nname = external\nexternal_command = /usr/bin/python3 " + src +
                    "/tools/rewards/brightness_scorer.py\n"
                "[sample]\nsteps = 5\nbatches_per_epoch = 3\n"
                "[train]\nepochs = 6\nflow_warmup_epochs = 2\nanneal = none\nreward_exp = 1000\nfl_steps = 1\n"
                "grad_accum = 6\n");
    ASSERT_EQ(run.in.train.objective.algorithm, Algorithm::kDagDb);
    auto before = run.eval_rewards(32);
    for (int e = 0; e < run.in.train.epochs; ++e) {
      auto batch = run.trainer->sample_epoch(e);
      auto stats = run.trainer->train_on(batch, e);
      std::printf("epoch %d: reward %.4f, loss %.4f\n", e + 1, batch.rewards.mean().item<double>(), stats.loss["loss"]);
    }
    auto after = run.eval_rewards(32);
    auto d = after - before;
    const double mean = d.mean().item<double>(), se = d.std().item<double>() / std::sqrt(32.0);
    std::printf("seed %d: eval reward %.4f -> %.4f (paired gain %.4f, s.e. %.4f, %.1f s.e.)\n", seed,
                before.mean().item<double>(), after.mean().item<double>(), mean, se, mean / se);
    EXPECT_GT(mean, 3 * se) << "seed " << seed << ": the paired reward gain is not significant";
  }
}

}  // namespace
}  // namespace dagalign
