#pragma once
// DDPO (importance-sampling / PPO-clip variant; docs/algorithms.md).
#include "dagalign/algo/objective.h"

namespace dagalign {

// L = max(-A r, -A clip(r, 1 - eps, 1 + eps)),  A = clip(adv, -c, c),  r = exp(log P_F,theta - log P_F,old)
LossTerms ddpo_loss(PolicyContext& ctx, const Transitions& tr, const ObjectiveConfig& cfg);

}  // namespace dagalign
