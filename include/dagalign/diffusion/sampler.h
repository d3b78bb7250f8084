#pragma once
// The DDIM sampling chain with log-probabilities (docs/algorithms.md): from x_T ~ N(0, I) through
// n steps to x_0 under classifier-free guidance, recording what training and replay need.
#include <vector>

#include <ATen/core/Generator.h>

#include "dagalign/diffusion/ddim.h"
#include "dagalign/diffusion/trajectory.h"
#include "dagalign/diffusion/eps_model.h"

namespace dagalign {

struct SamplerConfig {
  int steps = 50;            // DDIM steps n
  double eta = 1.0;          // DDIM eta (1: the stochastic chain whose log-probs the objectives use)
  double guidance = 5.0;     // CFG scale w; 1 (or no uncond) runs the conditional branch only
  LogProbReduce reduce = LogProbReduce::kMean;
  bool keep_eps = true;      // store the CFG eps per step (the DAG regulariser needs it)
};

// CFG eps of `model`: one batched call on [uncond; cond] when guidance != 1 and uncond is defined.
at::Tensor cfg_eps(EpsModel& model, const at::Tensor& x, const at::Tensor& t, const at::Tensor& cond,
                   const at::Tensor& uncond, double guidance);

// Samples one trajectory per generator: x_T and every step's noise z come from gens[i] in order, so a
// trajectory depends only on its own seed, whatever batch it is sampled in. `shape` is the state shape S.
// Fills latents, timesteps, log_pf, log_pb, eps (if keep_eps) and cond; rewards etc. are the caller's.
TrajectoryBatch sample_chain(EpsModel& model, const NoiseSchedule& schedule, const SamplerConfig& cfg,
                             const std::vector<int64_t>& shape, std::vector<at::Generator>& gens,
                             const at::Tensor& cond, const at::Tensor& uncond);

}  // namespace dagalign
