#pragma once
// DAG-KL (docs/algorithms.md): the flow learns by detailed balance with the policy terms detached;
// the policy learns by a PPO-clipped REINFORCE step whose per-transition reward is the detached negative
// DB residual, with a leave-one-out (RLOO) baseline and variance normalisation within the micro-batch.
#include "dagalign/algo/objective.h"

namespace dagalign {

LossTerms dag_kl_loss(PolicyContext& ctx, const Transitions& tr, const ObjectiveConfig& cfg, double beta);

// A_i = clip((rho_i - b_i) / (sqrt(v_i) + 1e-8), -c, c),  b_i = (sum rho - rho_i)/(n-1),
// v_i = (sum_j (rho_j - b_j)^2 - (rho_i - b_i)^2)/(n-1)
at::Tensor rloo_advantages(const at::Tensor& rho, double clip);

// max(-A r, -A clip(r, 1-eps, 1+eps)) per sample, r = exp(log_pf - log_pf_old)
at::Tensor ppo_clip_loss(const at::Tensor& adv, const at::Tensor& log_pf, const at::Tensor& log_pf_old, double eps);

}  // namespace dagalign
