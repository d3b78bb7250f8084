#include "dagalign/algo/ddpo.h"

#include <ATen/ATen.h>

#include "dagalign/algo/dag_kl.h"
#include "dagalign/core/error.h"

namespace dagalign {

LossTerms ddpo_loss(PolicyContext& ctx, const Transitions& tr, const ObjectiveConfig& cfg) {
  DAG_CHECK(tr.advantages.defined(), "DDPO needs advantages");
  auto pe = evaluate_policy(ctx, tr);
  auto adv = at::clamp(tr.advantages.to(pe.log_pf.scalar_type()), -cfg.adv_clip_max, cfg.adv_clip_max);
  auto l = ppo_clip_loss(adv, pe.log_pf, tr.log_pf_old, cfg.clip_range);
  auto diff = (pe.log_pf - tr.log_pf_old).detach();
  LossTerms out;
  out.loss = l.mean();
  out.stats = {{"loss_ppo", l.mean().item<double>()},
               {"approx_kl", 0.5 * diff.pow(2).mean().item<double>()},
               {"clipfrac", ((diff.exp() - 1).abs() > cfg.clip_range).to(at::kFloat).mean().item<double>()}};
  return out;
}

}  // namespace dagalign
