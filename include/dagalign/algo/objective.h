#pragma once
// What the three objectives share: their configuration, the batch of transitions (x_t -> x_t') they are
// computed on, the policy re-evaluation with gradients, and the loss terms they report.
#include <functional>
#include <map>
#include <string>

#include <ATen/core/Tensor.h>

#include "dagalign/diffusion/sampler.h"
#include "dagalign/diffusion/trajectory.h"
#include "dagalign/diffusion/eps_model.h"

namespace dagalign {

class Config;

enum class Algorithm { kDagDb, kDagKl, kDdpo };
std::string algorithm_name(Algorithm a);  // dagdb, dagkl, ddpo (train.algorithm)
enum class Anneal { kLinear, kNone };

struct ObjectiveConfig {
  Algorithm algorithm = Algorithm::kDagDb;
  double reward_exp = 100.0;        // beta: log R = beta * r
  Anneal anneal = Anneal::kLinear;  // linear: beta_e = beta * min(1, epoch / (anneal_fraction * epochs)); none
  double anneal_fraction = 0.5;
  double unetreg = 1.0;             // weight of MEAN (eps_cfg,theta - eps_cfg,old)^2
  double klpf = 1.0;                // DAG-KL: weight of the PPO-clipped REINFORCE term
  double clip_range = 1e-4;         // PPO ratio clip (DAG-KL, DDPO)
  double adv_clip_max = 5.0;        // advantage clip (DAG-KL, DDPO)
  bool fl_cache = true;             // forward-looking term once per state per update (false: 2 per transition)
  int fl_steps = 1;                 // model evaluations per forward-looking estimate (1: the official x0hat)
  void add_to(Config& c);
  double beta(int epoch, int epochs) const;  // annealed beta for this epoch (0-based)
};

// One micro-batch of transitions s_k -> s_{k+1}, gathered from stored trajectories.
struct Transitions {
  at::Tensor x_t, x_prev;          // (B, S...)
  at::Tensor t, t_prev;            // (B,) int64; t_prev = t - N/n (clamped inside the schedule)
  at::Tensor log_pf_old, log_pb;   // (B,)
  at::Tensor eps_old;              // (B, S...) sampling-time CFG eps (undefined when not stored)
  at::Tensor cond;                 // (B, ...) or undefined
  at::Tensor is_last;              // (B,) bool: s_{k+1} is the terminal x_0
  at::Tensor fl_t, fl_prev;        // (B,) forward-looking rewards r(decode(x0hat)) of s_k and s_{k+1};
                                   //      fl_prev is the stored final reward where is_last
  at::Tensor advantages;           // (B,) DDPO: per-trajectory advantage
};

// Gathers transitions (traj[i], step[i]) from a batch. fl: (N, T) forward-looking rewards per state, or undefined.
Transitions gather_transitions(const TrajectoryBatch& b, const at::Tensor& traj, const at::Tensor& step,
                               const NoiseSchedule& schedule, int steps, const at::Tensor& fl,
                               const at::Tensor& advantages);

// The policy's view for training: the model, the schedule and the sampler settings (CFG, eta, reduction).
struct PolicyContext {
  EpsModel& policy;
  FlowModel* flow;  // DAG only
  const NoiseSchedule& schedule;
  SamplerConfig sampler;
  at::Tensor uncond;  // (1, ...) empty-prompt conditioning for CFG, or undefined
};

// Recomputes log P_F(x_t' | x_t) with gradients through the CFG eps (and returns that eps).
struct PolicyEval {
  at::Tensor log_pf;  // (B,)
  at::Tensor eps;     // (B, S...)
};
PolicyEval evaluate_policy(PolicyContext& ctx, const Transitions& tr);

// Loss of one micro-batch (already scaled for accumulation by the caller) and detached terms for logging.
struct LossTerms {
  at::Tensor loss;                           // scalar with graph
  std::map<std::string, double> stats;       // per-micro-batch means of the terms
};

// Forward-looking reward of states (no gradient): r(decode(x0hat)) with the conditional branch only.
// steps = 1 is the official one-step prediction
//   x0hat = (x - sqrt(1 - abar_t) eps_theta(x, t, c)) / sqrt(abar_t).
// steps = k > 1 first runs k - 1 deterministic DDIM steps (eta 0) over tau_i = t - floor(i t / k), i < k,
//   x_tau' = sqrt(abar_tau') x0hat_tau + sqrt(1 - abar_tau') eps_theta(x_tau, tau, c)
// (x0hat_tau clamped as in sampling), and returns r of x0hat at tau_{k-1}: a sharper estimate of the final
// image from noisy states, for k model evaluations instead of 1.
using RewardOfX0 = std::function<at::Tensor(const at::Tensor& x0, const at::Tensor& rows)>;  // rows: trajectory ids
at::Tensor forward_looking_reward(EpsModel& model, const NoiseSchedule& schedule, const at::Tensor& x,
                                  const at::Tensor& t, const at::Tensor& cond, const at::Tensor& rows,
                                  const RewardOfX0& reward, int steps = 1);

}  // namespace dagalign
