// Must-show 5 of the engine: the autograd gradient of each objective equals a central finite difference
// in float64, for parameters of the policy and of the flow.
#include <cmath>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "dagalign/algo/dag_db.h"
#include "dagalign/algo/dag_kl.h"
#include "dagalign/algo/ddpo.h"
#include "dagalign/core/rng.h"
#include "dagalign/models/toy_mlp.h"

using namespace dagalign;

namespace {

struct GradSetup {
  NoiseSchedule schedule;
  ToyEps policy{ToyMlpConfig{2, 16, 2, 8}};
  ToyFlow flow{ToyMlpConfig{2, 16, 2, 8}};
  Transitions tr;
  SamplerConfig sampler;

  GradSetup() {
    at::manual_seed(3);
    policy = ToyEps(ToyMlpConfig{2, 16, 2, 8});
    flow = ToyFlow(ToyMlpConfig{2, 16, 2, 8});
    sampler.steps = 10;
    sampler.guidance = 1.0;
    sampler.reduce = LogProbReduce::kSum;
    // A batch of transitions with one terminal step, sampled from the policy itself.
    std::vector<at::Generator> gens;
    for (int i = 0; i < 6; ++i) gens.push_back(make_generator(100 + i));
    auto b = sample_chain(policy, schedule, sampler, {2}, gens, {}, {});
    auto traj = at::arange(6, at::kLong);
    auto step = at::tensor(std::vector<int64_t>{0, 3, 9, 5, 9, 1});
    b.rewards = at::randn({6});
    tr = gather_transitions(b, traj, step, schedule, 10, at::randn({6, 10}), at::randn({6}));
    policy.net->to(at::kDouble);  // sampled in float32 (as in training), differentiated in float64
    flow.net->to(at::kDouble);
    for (auto* t : {&tr.x_t, &tr.x_prev, &tr.log_pf_old, &tr.log_pb, &tr.eps_old, &tr.fl_t, &tr.fl_prev, &tr.advantages})
      *t = t->to(at::kDouble);
    // Old log-probs a little away from the current ones: ratios inside (1 - 0.5, 1 + 0.5), off the kinks.
    tr.log_pf_old = tr.log_pf_old + 0.05 * at::randn({6}, at::kDouble);
    tr.eps_old = tr.eps_old + 0.1 * at::randn_like(tr.eps_old);
  }
};

// Compares d loss / d p[idx] from autograd with (S(p + h) - S(p - h)) / 2h, where S is the loss itself
// or, for objectives with stop-gradients, the surrogate with the stopped terms frozen at the current point.
void check_gradient(const std::function<at::Tensor()>& loss, const std::function<at::Tensor()>& surrogate,
                    at::Tensor param, const std::vector<int64_t>& idx, const std::string& what) {
  param.mutable_grad() = at::Tensor();
  loss().backward();
  auto g = param.grad().flatten().clone();
  const double h = 1e-6;
  at::NoGradGuard ng;
  auto flat = param.view(-1);
  for (int64_t i : idx) {
    const double v = flat[i].item<double>();
    flat[i].fill_(v + h);
    const double lp = surrogate().item<double>();
    flat[i].fill_(v - h);
    const double lm = surrogate().item<double>();
    flat[i].fill_(v);
    const double fd = (lp - lm) / (2 * h), ad = g[i].item<double>();
    EXPECT_NEAR(ad, fd, 1e-6 + 1e-5 * std::abs(fd)) << what << " element " << i;
  }
}

void check_gradient(const std::function<at::Tensor()>& loss, at::Tensor param, const std::vector<int64_t>& idx,
                    const std::string& what) {
  check_gradient(loss, loss, param, idx, what);
}

}  // namespace

TEST(Gradients, DagDbMatchesFiniteDifferences) {
  GradSetup s;
  ObjectiveConfig cfg;
  cfg.unetreg = 0.7;
  PolicyContext ctx{s.policy, &s.flow, s.schedule, s.sampler, {}};
  auto loss = [&] { return dag_db_loss(ctx, s.tr, cfg, 1.3).loss; };
  check_gradient(loss, s.policy.net->parameters()[0], {0, 5, 17}, "policy layer 0");
  check_gradient(loss, s.policy.net->parameters().back(), {0, 1}, "policy output bias");
  check_gradient(loss, s.flow.net->parameters()[2], {1, 9}, "flow layer 1");
}

TEST(Gradients, DagKlMatchesFiniteDifferences) {
  GradSetup s;
  ObjectiveConfig cfg;
  cfg.clip_range = 0.5;
  cfg.klpf = 0.8;
  cfg.unetreg = 0.3;
  PolicyContext ctx{s.policy, &s.flow, s.schedule, s.sampler, {}};
  auto loss = [&] { return dag_kl_loss(ctx, s.tr, cfg, 1.3).loss; };
  // Frozen at the current point: the advantages (from the detached residual) and log P_F inside L_flow.
  const double beta = 1.3;
  at::Tensor adv0, log_pf0;
  {
    at::NoGradGuard ng;
    log_pf0 = evaluate_policy(ctx, s.tr).log_pf;
    adv0 = rloo_advantages(-db_residual(ctx, s.tr, log_pf0, beta), cfg.adv_clip_max);
  }
  auto policy_surrogate = [&] {  // theta enters through the PPO term and the regulariser only
    auto pe = evaluate_policy(ctx, s.tr);
    auto reg = (pe.eps - s.tr.eps_old).pow(2).flatten(1).mean(1);
    return (cfg.klpf * ppo_clip_loss(adv0, pe.log_pf, s.tr.log_pf_old, cfg.clip_range) + cfg.unetreg * reg).mean();
  };
  auto flow_surrogate = [&] { return db_residual(ctx, s.tr, log_pf0, beta).pow(2).mean(); };  // phi: L_flow only
  check_gradient(loss, policy_surrogate, s.policy.net->parameters()[0], {0, 5, 17}, "policy layer 0");
  check_gradient(loss, flow_surrogate, s.flow.net->parameters()[0], {3, 11}, "flow layer 0");
}

TEST(Gradients, DdpoMatchesFiniteDifferences) {
  GradSetup s;
  ObjectiveConfig cfg;
  cfg.clip_range = 0.5;
  PolicyContext ctx{s.policy, nullptr, s.schedule, s.sampler, {}};
  auto loss = [&] { return ddpo_loss(ctx, s.tr, cfg).loss; };
  check_gradient(loss, s.policy.net->parameters()[0], {0, 5, 17}, "policy layer 0");
  check_gradient(loss, s.policy.net->parameters()[2], {4}, "policy layer 1");
}
