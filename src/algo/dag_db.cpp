#include "dagalign/algo/dag_db.h"

#include <ATen/ATen.h>

#include "dagalign/core/error.h"

namespace dagalign {

at::Tensor db_residual(PolicyContext& ctx, const Transitions& tr, const at::Tensor& log_pf, double beta) {
  DAG_CHECK(ctx.flow, "DAG objectives need a flow model");
  DAG_CHECK(tr.fl_t.defined() && tr.fl_prev.defined(), "DAG objectives need the forward-looking rewards");
  // logF(s) = F~(x_t, t, c) + beta r(x0hat(x_t))
  auto log_f = ctx.flow->log_flow(tr.x_t, tr.t, tr.cond) + beta * tr.fl_t;
  // logF(s') = F~(x_t', t', c) + beta r(x0hat(x_t')); terminal: logF(x_0) = beta r(x_0), F~ dropped
  auto log_f_next_inner = ctx.flow->log_flow(tr.x_prev, at::clamp_min(tr.t_prev, 0), tr.cond) + beta * tr.fl_prev;
  auto log_f_next = at::where(tr.is_last, beta * tr.fl_prev, log_f_next_inner);
  // delta = logF(s) + log P_F(s'|s) - log P_B(s|s') - logF(s')
  return log_f + log_pf - tr.log_pb - log_f_next;
}

// MEAN over state dims of (eps_cfg,theta(x_t) - eps_cfg,stored(x_t))^2, per sample; zeros when not stored.
static at::Tensor eps_regulariser(const at::Tensor& eps, const at::Tensor& eps_old) {
  if (!eps_old.defined()) return at::zeros({eps.size(0)}, eps.options());
  return (eps - eps_old).pow(2).flatten(1).mean(1);
}

LossTerms dag_db_loss(PolicyContext& ctx, const Transitions& tr, const ObjectiveConfig& cfg, double beta) {
  auto pe = evaluate_policy(ctx, tr);
  auto delta = db_residual(ctx, tr, pe.log_pf, beta);
  auto l_db = delta.pow(2);                                 // L_DB per transition
  auto l_reg = cfg.unetreg * eps_regulariser(pe.eps, tr.eps_old);  // L_reg per transition
  LossTerms out;
  out.loss = (l_db + l_reg).mean();
  out.stats = {{"loss_db", l_db.mean().item<double>()},
               {"loss_reg", l_reg.mean().item<double>()},
               {"db_residual_abs", delta.abs().mean().item<double>()}};
  return out;
}

}  // namespace dagalign
