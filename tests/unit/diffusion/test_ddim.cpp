// Must-show 1 of the engine: timesteps, log P_F and log P_B against independent float64 computations,
// and the P_B kernel composed over the strided chain against the closed-form marginal.
#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "dagalign/core/error.h"
#include "dagalign/core/rng.h"
#include "dagalign/diffusion/ddim.h"

using namespace dagalign;

TEST(Schedule, FiftyLeadingStepsAre981To1) {
  NoiseSchedule s;
  auto ts = s.timesteps(50);
  ASSERT_EQ(ts.size(), 50u);
  for (int k = 0; k < 50; ++k) EXPECT_EQ(ts[k], 981 - 20 * k) << "k=" << k;
  EXPECT_EQ(s.prev_timestep(1, 50), -19);
  EXPECT_DOUBLE_EQ(s.abar(-19), s.abar(0));  // clamp: the last step uses abar_0
}

TEST(Schedule, AlphasCumprodEqualsLogSumOfScaledLinearBetas) {
  NoiseSchedule s;
  // Independent: log abar_t = sum_i log(1 - beta_i), beta_i = (sqrt(b0) + i/999 (sqrt(b1) - sqrt(b0)))^2.
  double log_abar = 0;
  for (int i = 0; i < 1000; ++i) {
    const double r = std::sqrt(0.00085) + i / 999.0 * (std::sqrt(0.012) - std::sqrt(0.00085));
    log_abar += std::log1p(-r * r);
    if (i % 111 == 0 || i == 999) EXPECT_NEAR(s.abar(i), std::exp(log_abar), 1e-12 * std::exp(log_abar)) << i;
  }
  EXPECT_NEAR(s.abar(999), 0.0047, 0.0001);  // SD's final abar, widely quoted as ~0.0047
}

// Scalar float64 reference of one DDIM step's mean/std and the Gaussian log-density.
struct RefStep {
  double mean, std;
};
static RefStep ref_step(const NoiseSchedule& s, double x, double eps, int64_t t, int64_t tp, double eta) {
  const double at = s.abar(t), ap = s.abar(tp);
  const double x0 = (x - std::sqrt(1 - at) * eps) / std::sqrt(at);
  const double var = eta * eta * (1 - ap) / (1 - at) * (1 - at / ap);
  return {std::sqrt(ap) * x0 + std::sqrt(1 - ap - var) * eps, std::sqrt(var)};
}
static double log_normal(double x, double m, double sd) {
  return -(x - m) * (x - m) / (2 * sd * sd) - std::log(sd) - 0.5 * std::log(2 * M_PI);
}

TEST(Ddim, LogProbsEqualFloat64GaussianDensities) {
  NoiseSchedule s;
  auto gen = make_generator(7);
  const int64_t B = 6, D = 5;
  auto x = at::randn({B, D}, gen, at::kFloat);
  auto eps = at::randn({B, D}, gen, at::kFloat);
  auto prev = at::randn({B, D}, gen, at::kFloat) * 0.5 + x * 0.9;
  std::vector<int64_t> tv = {981, 501, 21, 1, 301, 41};
  auto t = at::tensor(tv, at::kLong);
  auto tp = t - 20;
  for (double eta : {1.0, 0.7}) {
    auto step = ddim_step(s, x, eps, t, tp, eta, prev, true, LogProbReduce::kSum);
    auto step_mean = ddim_step(s, x, eps, t, tp, eta, prev, true, LogProbReduce::kMean);
    auto pb = backward_log_prob(s, x, prev, t, tp, LogProbReduce::kSum);
    for (int64_t b = 0; b < B; ++b) {
      double lp = 0, lb = 0;
      for (int64_t d = 0; d < D; ++d) {
        const double xv = x[b][d].item<double>(), ev = eps[b][d].item<double>(), pv = prev[b][d].item<double>();
        auto r = ref_step(s, xv, ev, tv[b], tv[b] - 20, eta);
        lp += log_normal(pv, r.mean, r.std);
        const double a = s.abar(tv[b]) / s.abar(tv[b] - 20);
        lb += log_normal(xv, std::sqrt(a) * pv, std::sqrt(1 - a));
        EXPECT_NEAR(step.mean[b][d].item<double>(), r.mean, 1e-5 * (1 + std::abs(r.mean)));
      }
      EXPECT_NEAR(step.log_prob[b].item<double>(), lp, 2e-4 * (1 + std::abs(lp))) << "eta " << eta << " b " << b;
      EXPECT_NEAR(step_mean.log_prob[b].item<double>(), lp / D, 2e-4 * (1 + std::abs(lp / D)));
      EXPECT_NEAR(pb[b].item<double>(), lb, 2e-4 * (1 + std::abs(lb))) << "b " << b;
    }
  }
}

TEST(Ddim, ClipSampleClampsThePredictedX0Only) {
  ScheduleConfig c;
  c.clip_sample_range = 1.0;
  NoiseSchedule clipped(c), plain;
  auto gen = make_generator(11);
  const int64_t B = 4, D = 64;
  auto x = at::randn({B, D}, gen, at::kFloat) * 2;  // at t = 901 most x0_hat fall outside [-1, 1]
  auto eps = at::randn({B, D}, gen, at::kFloat);
  auto t = at::tensor(std::vector<int64_t>{901, 501, 101, 21}, at::kLong), tp = t - 20;
  auto prev = at::randn({B, D}, gen, at::kFloat);
  auto a = ddim_step(clipped, x, eps, t, tp, 1.0, prev, true, LogProbReduce::kSum);
  auto b = ddim_step(plain, x, eps, t, tp, 1.0, prev, true, LogProbReduce::kSum);
  int64_t outside = 0;
  for (int64_t i = 0; i < B; ++i)
    for (int64_t d = 0; d < D; ++d) {
      const int64_t tv = t[i].item<int64_t>();
      const double at_ = clipped.abar(tv), ap = clipped.abar(tv - 20);
      const double xv = x[i][d].item<double>(), ev = eps[i][d].item<double>();
      const double x0 = (xv - std::sqrt(1 - at_) * ev) / std::sqrt(at_);
      outside += std::abs(x0) > 1;
      const double var = (1 - ap) / (1 - at_) * (1 - at_ / ap);
      const double mean = std::sqrt(ap) * std::clamp(x0, -1.0, 1.0) + std::sqrt(1 - ap - var) * ev;
      EXPECT_NEAR(a.mean[i][d].item<double>(), mean, 1e-5 * (1 + std::abs(mean)));
    }
  EXPECT_GT(outside, B * D / 4);                      // the clamp was exercised
  EXPECT_TRUE(at::allclose(a.std, b.std));            // the variance does not depend on x0_hat
  EXPECT_FALSE(at::allclose(a.mean, b.mean));
  ScheduleConfig bad;
  bad.clip_sample_range = -1;
  EXPECT_THROW(NoiseSchedule{bad}, ConfigError);
}

TEST(Ddim, SampledStepHasTheStatedMeanAndStd) {
  NoiseSchedule s;
  const int64_t n = 200000;
  auto gen = make_generator(3);
  auto x = at::full({n, 1}, 0.3f);
  auto eps = at::full({n, 1}, -0.8f);
  auto t = at::full({n}, 501, at::kLong), tp = t - 20;
  auto step = ddim_step(s, x, eps, t, tp, 1.0, at::randn({n, 1}, gen, at::kFloat), false);
  auto r = ref_step(s, 0.3, -0.8, 501, 481, 1.0);
  EXPECT_NEAR(step.prev.mean().item<double>(), r.mean, 5 * r.std / std::sqrt(n));
  EXPECT_NEAR(step.prev.std().item<double>(), r.std, 0.01 * r.std);
}

TEST(Ddim, BackwardKernelComposedOverTheChainIsTheForwardMarginal) {
  // From x at t = 0, applying P_B(x_t | x_t') = N(sqrt(a) x_t', (1 - a)) along 1, 21, ..., 981 must give
  // q(x_t | x_0) = N(sqrt(abar_t / abar_0) x_0, 1 - abar_t / abar_0) at every t of the chain.
  NoiseSchedule s;
  const int64_t n = 100000;
  const double x0 = 1.7;
  auto gen = make_generator(11);
  auto x = at::full({n, 1}, x0, at::kDouble);
  auto ts = s.timesteps(50);
  double mean_coef = 1, var = 0;  // the same composition computed analytically
  for (int k = 49; k >= 0; --k) {
    const int64_t t = ts[k], tp = s.prev_timestep(t, 50);
    const double a = s.abar(t) / s.abar(tp);
    x = std::sqrt(a) * x + std::sqrt(1 - a) * at::randn({n, 1}, gen, at::kDouble);
    mean_coef *= std::sqrt(a);
    var = a * var + (1 - a);
    const double m = std::sqrt(s.abar(t) / s.abar(0)) * x0, v = 1 - s.abar(t) / s.abar(0);
    EXPECT_NEAR(mean_coef * x0, m, 1e-12);
    EXPECT_NEAR(var, v, 1e-12);
    if (k % 7 == 0) {
      EXPECT_NEAR(x.mean().item<double>(), m, 5 * std::sqrt(v / n) + 1e-9) << "t=" << t;
      EXPECT_NEAR(x.var().item<double>(), v, 5 * v * std::sqrt(2.0 / n) + 1e-12) << "t=" << t;
    }
  }
}

TEST(Ddim, ClassifierFreeGuidanceCombination) {
  auto u = at::tensor({1.0, -2.0}), c = at::tensor({3.0, 0.5});
  auto g = guide(u, c, 5.0);
  EXPECT_DOUBLE_EQ(g[0].item<double>(), 1.0 + 5.0 * 2.0);
  EXPECT_DOUBLE_EQ(g[1].item<double>(), -2.0 + 5.0 * 2.5);
}

TEST(Ddim, PredictX0InvertsTheForwardNoising) {
  NoiseSchedule s;
  auto gen = make_generator(5);
  auto x0 = at::randn({4, 3}, gen, at::kDouble), eps = at::randn({4, 3}, gen, at::kDouble);
  auto t = at::tensor(std::vector<int64_t>{1, 200, 600, 999});
  auto a = abar_at(s, t, x0);
  auto xt = a.sqrt() * x0 + (1 - a).sqrt() * eps;
  EXPECT_LT((predict_x0(s, xt, eps, t) - x0).abs().max().item<double>(), 1e-10);
}
