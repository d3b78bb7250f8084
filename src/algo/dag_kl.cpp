#include "dagalign/algo/dag_kl.h"

#include <ATen/ATen.h>

#include "dagalign/algo/dag_db.h"
#include "dagalign/core/error.h"

namespace dagalign {

at::Tensor rloo_advantages(const at::Tensor& rho, double clip) {
  const int64_t n = rho.size(0);
  DAG_CHECK(n >= 2, "DAG-KL needs at least 2 transitions per micro-batch for the leave-one-out baseline, found ", n);
  auto b = (rho.sum() - rho) / (n - 1);                           // b_i
  auto c = (rho - b).pow(2);
  auto v = (c.sum() - c) / (n - 1);                               // v_i
  return at::clamp((rho - b) / (v.sqrt() + 1e-8), -clip, clip);  // A_i
}

at::Tensor ppo_clip_loss(const at::Tensor& adv, const at::Tensor& log_pf, const at::Tensor& log_pf_old, double eps) {
  auto ratio = at::exp(log_pf - log_pf_old);
  return at::maximum(-adv * ratio, -adv * at::clamp(ratio, 1.0 - eps, 1.0 + eps));
}

LossTerms dag_kl_loss(PolicyContext& ctx, const Transitions& tr, const ObjectiveConfig& cfg, double beta) {
  auto pe = evaluate_policy(ctx, tr);
  // L_flow = (logF(s) + sg[log P_F] - log P_B - logF(s'))^2: trains phi only.
  auto delta = db_residual(ctx, tr, pe.log_pf.detach(), beta);
  auto l_flow = delta.pow(2);
  // rho = sg[logF(s') + log P_B - log P_F - logF(s)] = -sg[delta]
  auto adv = rloo_advantages(-delta.detach(), cfg.adv_clip_max);
  auto l_klpf = ppo_clip_loss(adv, pe.log_pf, tr.log_pf_old, cfg.clip_range);
  auto l_reg = tr.eps_old.defined() ? (pe.eps - tr.eps_old).pow(2).flatten(1).mean(1) : at::zeros_like(l_flow);
  LossTerms out;
  out.loss = (l_flow + cfg.klpf * l_klpf + cfg.unetreg * l_reg).mean();
  out.stats = {{"loss_flow", l_flow.mean().item<double>()},
               {"loss_klpf", l_klpf.mean().item<double>()},
               {"loss_reg", (cfg.unetreg * l_reg).mean().item<double>()},
               {"db_residual_abs", delta.abs().mean().item<double>()}};
  return out;
}

}  // namespace dagalign
