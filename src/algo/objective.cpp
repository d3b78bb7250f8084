#include "dagalign/algo/objective.h"

#include <algorithm>

#include <ATen/ATen.h>

#include "dagalign/core/config.h"
#include "dagalign/core/error.h"

namespace dagalign {

namespace {
const Choices<Algorithm> kAlgorithms = {{"dagdb", Algorithm::kDagDb}, {"dagkl", Algorithm::kDagKl}, {"ddpo", Algorithm::kDdpo}};
}

std::string algorithm_name(Algorithm a) { return name_of(kAlgorithms, a); }

void ObjectiveConfig::add_to(Config& c) {
  c.add("train.algorithm", &algorithm, kAlgorithms, "objective: DAG detailed balance, DAG-KL or DDPO")
      .add("train.reward_exp", &reward_exp, "beta: log-reward = beta * reward (DAG)", at_least(0))
      .add("train.anneal", &anneal, {{"linear", Anneal::kLinear}, {"none", Anneal::kNone}},
           "beta schedule: linear (0 -> beta over anneal_fraction of the epochs) or none (beta throughout)")
      .add("train.anneal_fraction", &anneal_fraction, "fraction of the epochs over which beta rises", in_range(0, 1))
      .add("train.unetreg", &unetreg, "weight of the eps regulariser MEAN(eps - eps_old)^2 (DAG)", at_least(0))
      .add("train.klpf", &klpf, "DAG-KL: weight of the PPO-clipped policy term (unused by dagdb, whose official configs write -1)")
      .add("train.clip_range", &clip_range, "PPO ratio clip range (DAG-KL, DDPO)", positive())
      .add("train.adv_clip_max", &adv_clip_max, "advantage clip (DAG-KL, DDPO)", positive())
      .add("train.fl_cache", &fl_cache, "forward-looking reward once per state per update (true) or twice per transition as the official code (false)")
      .add("train.fl_steps", &fl_steps, "forward-looking estimate: 1 = the official one-step x0hat; k > 1 = k-1 deterministic DDIM steps "
           "towards x_0 first (k model evaluations per state)", at_least(1));
}

double ObjectiveConfig::beta(int epoch, int epochs) const {
  if (anneal == Anneal::kNone) return reward_exp;
  const double ramp = anneal_fraction * epochs;
  return ramp <= 0 ? reward_exp : reward_exp * std::min(1.0, epoch / ramp);
}

Transitions gather_transitions(const TrajectoryBatch& b, const at::Tensor& traj, const at::Tensor& step,
                               const NoiseSchedule& schedule, int steps, const at::Tensor& fl,
                               const at::Tensor& advantages) {
  const int64_t T = b.steps();
  Transitions tr;
  auto states = b.latents.flatten(0, 1);  // (N*(T+1), S...)
  tr.x_t = states.index_select(0, traj * (T + 1) + step);
  tr.x_prev = states.index_select(0, traj * (T + 1) + step + 1);
  auto flat = traj * T + step;
  tr.t = b.timesteps.flatten().index_select(0, flat);
  tr.t_prev = tr.t - schedule.num_train_timesteps() / steps;
  tr.log_pf_old = b.log_pf.flatten().index_select(0, flat);
  tr.log_pb = b.log_pb.flatten().index_select(0, flat);
  if (b.eps.defined()) tr.eps_old = b.eps.flatten(0, 1).index_select(0, flat);
  if (b.cond.defined()) tr.cond = b.cond.index_select(0, traj);
  tr.is_last = step == T - 1;
  if (fl.defined()) {
    tr.fl_t = fl.flatten().index_select(0, flat);
    auto next = fl.flatten().index_select(0, traj * T + at::clamp_max(step + 1, T - 1));
    tr.fl_prev = at::where(tr.is_last, b.rewards.index_select(0, traj).to(next.scalar_type()), next);
  }
  if (advantages.defined()) tr.advantages = advantages.index_select(0, traj);
  return tr;
}

PolicyEval evaluate_policy(PolicyContext& ctx, const Transitions& tr) {
  auto eps = cfg_eps(ctx.policy, tr.x_t, tr.t, tr.cond, ctx.uncond, ctx.sampler.guidance);
  auto step = ddim_step(ctx.schedule, tr.x_t, eps, tr.t, tr.t_prev, ctx.sampler.eta, tr.x_prev, true,
                        ctx.sampler.reduce);
  return {step.log_prob, eps};
}

at::Tensor forward_looking_reward(EpsModel& model, const NoiseSchedule& schedule, const at::Tensor& x,
                                  const at::Tensor& t, const at::Tensor& cond, const at::Tensor& rows,
                                  const RewardOfX0& reward, int steps) {
  DAG_CHECK(steps >= 1, "train.fl_steps must be >= 1, found ", steps);
  at::NoGradGuard no_grad;
  auto x_tau = x;
  auto tau = t;
  for (int i = 1; i < steps; ++i) {
    auto eps = model.eps(x_tau, tau, cond);  // conditional branch only, as the official code
    auto x0 = clip_x0(schedule, predict_x0(schedule, x_tau, eps, tau));
    auto next = t - at::div(t * i, steps, "floor");  // tau_i = t - floor(i t / k)
    auto a = abar_at(schedule, next, x_tau);
    x_tau = a.sqrt() * x0 + (1 - a).sqrt() * eps;  // DDIM, eta 0
    tau = next;
  }
  auto x0 = predict_x0(schedule, x_tau, model.eps(x_tau, tau, cond), tau);
  return reward(x0, rows).to(x.scalar_type());
}

}  // namespace dagalign
