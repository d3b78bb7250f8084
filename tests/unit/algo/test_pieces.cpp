// The objectives' building blocks against brute-force or second implementations.
#include <cmath>
#include <deque>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adamw.h>

#include "dagalign/algo/adamw.h"
#include "dagalign/algo/dag_kl.h"
#include "dagalign/algo/stat_tracker.h"
#include "dagalign/core/error.h"

using namespace dagalign;

TEST(Rloo, AdvantagesEqualLeaveOneOutLoops) {
  auto rho = at::tensor({0.3, -1.2, 2.0, 0.1, 0.9}, at::kDouble);
  auto adv = rloo_advantages(rho, 5.0);
  const int n = 5;
  std::vector<double> r(rho.data_ptr<double>(), rho.data_ptr<double>() + n), b(n), c(n);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) if (j != i) b[i] += r[j] / (n - 1);
  }
  for (int i = 0; i < n; ++i) c[i] = (r[i] - b[i]) * (r[i] - b[i]);
  for (int i = 0; i < n; ++i) {
    double v = 0;
    for (int j = 0; j < n; ++j) if (j != i) v += c[j] / (n - 1);
    EXPECT_NEAR(adv[i].item<double>(), std::clamp((r[i] - b[i]) / (std::sqrt(v) + 1e-8), -5.0, 5.0), 1e-12);
  }
  EXPECT_LE(rloo_advantages(rho * 1e6, 2.0).abs().max().item<double>(), 2.0);
}

TEST(PpoClip, TakesThePessimisticBranch) {
  auto adv = at::tensor({1.0, -1.0, 1.0, -1.0}, at::kDouble);
  auto lp = at::tensor({0.5, 0.5, -0.5, -0.5}, at::kDouble), old = at::zeros({4}, at::kDouble);
  auto l = ppo_clip_loss(adv, lp, old, 0.2);
  const double up = std::exp(0.5), down = std::exp(-0.5);
  EXPECT_NEAR(l[0].item<double>(), -1.2, 1e-12);    // A > 0, ratio above the range: clipped
  EXPECT_NEAR(l[1].item<double>(), up, 1e-12);       // A < 0, ratio above: unclipped (pessimistic)
  EXPECT_NEAR(l[2].item<double>(), -down, 1e-12);    // A > 0, ratio below: unclipped
  EXPECT_NEAR(l[3].item<double>(), 0.8, 1e-12);      // A < 0, ratio below: clipped
}

TEST(StatTracker, PerPromptBuffersAndBatchFallback) {
  PerPromptStatTracker t(3, 2);
  // First call: "a" has 1 reward (< min_count 2) -> batch statistics; "b" has 2 -> its own.
  auto adv = t.update({"a", "b", "b"}, {1.0, 2.0, 4.0});
  const double bm = 7.0 / 3, bs = std::sqrt(((1 - bm) * (1 - bm) + (2 - bm) * (2 - bm) + (4 - bm) * (4 - bm)) / 3);
  EXPECT_NEAR(adv[0], (1.0 - bm) / (bs + 1e-6), 1e-12);
  EXPECT_NEAR(adv[1], (2.0 - 3.0) / (1.0 + 1e-6), 1e-12);
  EXPECT_NEAR(adv[2], (4.0 - 3.0) / (1.0 + 1e-6), 1e-12);
  // The buffer keeps the last 3: "b" -> {4, 6, 8}.
  adv = t.update({"b", "b"}, {6.0, 8.0});
  const std::deque<double> expect{4.0, 6.0, 8.0};
  EXPECT_EQ(t.state().at("b"), expect);
  EXPECT_NEAR(adv[1], (8.0 - 6.0) / (std::sqrt(8.0 / 3) + 1e-6), 1e-12);
}

namespace {
// Two identical Linear(4, 3) layers: `a` for our AdamW, `b` for LibTorch's.
std::pair<torch::nn::Linear, torch::nn::Linear> twin_layers(uint64_t seed) {
  at::manual_seed(seed);
  torch::nn::Linear a(4, 3), b(4, 3);
  at::NoGradGuard ng;
  for (size_t i = 0; i < a->parameters().size(); ++i) b->parameters()[i].copy_(a->parameters()[i]);
  return {a, b};
}

// 5 steps of both optimisers on the same random batches of the loss sum(layer(x)^2).
void step_both(torch::nn::Linear& a, torch::nn::Linear& b, AdamW& ours, torch::optim::Optimizer& ref) {
  for (int step = 0; step < 5; ++step) {
    auto x = at::randn({8, 4});
    for (auto* m : {&a, &b}) {
      for (auto& p : (*m)->parameters()) p.mutable_grad() = at::Tensor();
      (*m)->forward(x).pow(2).sum().backward();
    }
    ours.step();
    ref.step();
  }
}

torch::optim::AdamWOptions ref_options(double lr) {
  return torch::optim::AdamWOptions(lr).betas({0.9, 0.99}).eps(1e-8).weight_decay(0.05);
}
}  // namespace

TEST(AdamW, MatchesLibTorchAdamW) {
  auto [a, b] = twin_layers(0);
  AdamWConfig cfg{1e-2, 0.9, 0.99, 1e-8, 0.05};
  AdamW ours(a->parameters(), cfg);
  torch::optim::AdamW ref(b->parameters(), ref_options(1e-2));
  step_both(a, b, ours, ref);
  for (size_t i = 0; i < a->parameters().size(); ++i)
    EXPECT_LT((a->parameters()[i] - b->parameters()[i]).abs().max().item<double>(), 1e-6);
}

// Per-parameter lr scales (train.flow_lr): LibTorch's AdamW with two parameter groups at lr and 3 lr.
TEST(AdamW, LrScaleMatchesLibTorchParameterGroups) {
  auto [a, b] = twin_layers(1);
  AdamWConfig cfg{1e-2, 0.9, 0.99, 1e-8, 0.05};
  AdamW ours(a->parameters(), cfg, {1.0, 3.0});  // weight at lr, bias at 3 lr
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<at::Tensor>{b->weight}, std::make_unique<torch::optim::AdamWOptions>(ref_options(1e-2)));
  groups.emplace_back(std::vector<at::Tensor>{b->bias}, std::make_unique<torch::optim::AdamWOptions>(ref_options(3e-2)));
  torch::optim::AdamW ref(groups, ref_options(1e-2));
  step_both(a, b, ours, ref);
  EXPECT_LT((a->weight - b->weight).abs().max().item<double>(), 1e-6);
  EXPECT_LT((a->bias - b->bias).abs().max().item<double>(), 1e-6);
  EXPECT_THROW(AdamW(a->parameters(), cfg, {1.0}), dagalign::Error);
}

// A parameter at lr scale 0 (the policy during train.flow_warmup_epochs) keeps its value, its moments and its
// step count: after 3 frozen steps and 4 real ones it equals LibTorch's AdamW that saw no gradient for it
// (grad undefined) in the first 3 steps and so took its first step with the fourth.
TEST(AdamW, ZeroLrScaleFreezesValueMomentsAndStep) {
  auto [a, b] = twin_layers(2);
  AdamWConfig cfg{1e-2, 0.9, 0.99, 1e-8, 0.05};
  AdamW ours(a->parameters(), cfg);  // weight, bias
  torch::optim::AdamW ref(b->parameters(), ref_options(1e-2));
  const auto w0 = a->weight.detach().clone();
  for (int step = 0; step < 7; ++step) {
    const bool frozen = step < 3;
    ours.set_lr_scale(0, frozen ? 0.0 : 1.0);
    auto x = at::randn({8, 4});
    for (auto* m : {&a, &b}) {
      for (auto& p : (*m)->parameters()) p.mutable_grad() = at::Tensor();
      (*m)->forward(x).pow(2).sum().backward();
    }
    if (frozen) b->weight.mutable_grad() = at::Tensor();
    ours.step();
    ref.step();
    if (frozen) {
      EXPECT_TRUE(a->weight.equal(w0)) << "step " << step;
      EXPECT_EQ(ours.exp_avg()[0].abs().max().item<double>(), 0.0) << "step " << step;
      EXPECT_EQ(ours.steps()[0], 0);
    }
  }
  EXPECT_EQ(ours.steps(), (std::vector<int64_t>{4, 7}));
  EXPECT_LT((a->weight - b->weight).abs().max().item<double>(), 1e-6);
  EXPECT_LT((a->bias - b->bias).abs().max().item<double>(), 1e-6);
  EXPECT_GT((a->weight - w0).abs().max().item<double>(), 1e-3);  // it did move after the warm-up
}
