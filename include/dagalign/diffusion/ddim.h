#pragma once
// DDIM step with log-probability (forward policy P_F), the fixed noising kernel (backward policy P_B),
// x0-prediction and classifier-free guidance; docs/algorithms.md. Timesteps are per sample
// (B,) int64 tensors, because training batches mix transitions from different steps.
#include <ATen/core/Tensor.h>

#include "dagalign/diffusion/schedule.h"

namespace dagalign {

enum class LogProbReduce { kMean, kSum };  // over the non-batch dims; the official code uses the mean

// abar_t gathered per sample, shaped (B, 1, ..., 1) to broadcast against x of `dims` dims, in x's dtype.
at::Tensor abar_at(const NoiseSchedule& s, const at::Tensor& t, const at::Tensor& like);

// x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)
at::Tensor predict_x0(const NoiseSchedule& s, const at::Tensor& x_t, const at::Tensor& eps, const at::Tensor& t);

// x0_hat clamped to [-r, r] when the schedule has clip_sample_range r > 0, as every DDIM step does
at::Tensor clip_x0(const NoiseSchedule& s, const at::Tensor& x0);

// eps_cfg = eps_u + w (eps_c - eps_u)
at::Tensor guide(const at::Tensor& eps_uncond, const at::Tensor& eps_cond, double w);

// log N(x; mean, std^2 I) reduced over non-batch dims; std is (B, 1, ..., 1) or broadcastable.
at::Tensor gaussian_log_prob(const at::Tensor& x, const at::Tensor& mean, const at::Tensor& std, LogProbReduce r);

struct DdimStep {
  at::Tensor prev;      // x_{t'}
  at::Tensor mean;      // mu_t
  at::Tensor std;       // sigma_t, (B, 1, ..., 1)
  at::Tensor log_prob;  // log P_F(x_{t'} | x_t), (B,)
};

// One DDIM step t -> t' = t - N/n (clamped at 0 inside abar):
//   sigma^2 = eta^2 (1 - abar_t')/(1 - abar_t) (1 - abar_t/abar_t')
//   x0_hat clamped to [-r, r] when the schedule has clip_sample_range r > 0 (diffusers / DDPO clip_sample;
//   eps itself is not re-derived, as use_clipped_model_output = False)
//   mu      = sqrt(abar_t') x0_hat + sqrt(1 - abar_t' - sigma^2) eps
//   x_t'    = mu + sigma z                       (or `prev` when given: log-prob of a stored step)
// The log-prob treats x_t' as a constant: gradients reach eps only through mu.
DdimStep ddim_step(const NoiseSchedule& s, const at::Tensor& x_t, const at::Tensor& eps, const at::Tensor& t,
                   const at::Tensor& t_prev, double eta, const at::Tensor& noise_or_prev, bool given_prev,
                   LogProbReduce r = LogProbReduce::kMean);

// log P_B(x_t | x_t') = log N(x_t; sqrt(a) x_t', (1 - a) I),  a = abar_t / abar_t'   (no parameters)
at::Tensor backward_log_prob(const NoiseSchedule& s, const at::Tensor& x_t, const at::Tensor& x_prev,
                             const at::Tensor& t, const at::Tensor& t_prev, LogProbReduce r = LogProbReduce::kMean);

}  // namespace dagalign
