#pragma once
// DAG-DB: detailed balance with a learned flow and the forward-looking reward (docs/algorithms.md).
#include "dagalign/algo/objective.h"

namespace dagalign {

// L = (logF(s) + log P_F(s'|s) - log P_B(s|s') - logF(s'))^2 + unetreg * MEAN(eps_cfg - eps_old)^2
//   logF(s)  = F~(x_t, t, c)  + beta * r(x0hat(x_t))
//   logF(s') = F~(x_t', t', c) + beta * r(x0hat(x_t'))      or beta * r(x_0) at the terminal state
LossTerms dag_db_loss(PolicyContext& ctx, const Transitions& tr, const ObjectiveConfig& cfg, double beta);

// The detailed-balance residual delta = logF(s) + log P_F - log P_B - logF(s'), per transition (B,),
// shared by DAG-DB and DAG-KL. log_pf carries gradients to theta, the flows to phi.
at::Tensor db_residual(PolicyContext& ctx, const Transitions& tr, const at::Tensor& log_pf, double beta);

}  // namespace dagalign
