#pragma once
// Noise schedule and DDIM timestep spacing (docs/algorithms.md; diffusers DDIMScheduler).
//   beta_i   = (linspace(sqrt(beta_start), sqrt(beta_end), N)_i)^2           (scaled_linear)
//   abar_t   = prod_{i<=t} (1 - beta_i)                                       (0-indexed)
//   leading spacing: t_k = round(k * (N / n)) reversed, + steps_offset       (50 steps -> 981, 961, ..., 1)
#include <cstdint>
#include <string>
#include <vector>

namespace dagalign {

struct ScheduleConfig {
  int num_train_timesteps = 1000;
  double beta_start = 0.00085;
  double beta_end = 0.012;
  std::string beta_schedule = "scaled_linear";  // one of beta_schedules()
  int steps_offset = 1;
  double clip_sample_range = 0;  // > 0: each DDIM step clamps x0_hat to [-r, r] (diffusers clip_sample)
  // What the UNet predicts: "epsilon" (SD 1.x) or "v_prediction" (SD 2.x, the tiny model):
  //   v = sqrt(abar_t) eps - sqrt(1 - abar_t) x0 (UNetEpsModel turns it into eps, diffusion/v_prediction.h).
  std::string prediction_type = "epsilon";
};

// The beta schedules NoiseSchedule knows, as diffusers names them: scaled_linear, linear.
const std::vector<std::string>& beta_schedules();
// What a UNet can predict, as diffusers names it: epsilon, v_prediction.
const std::vector<std::string>& prediction_types();

class NoiseSchedule {
 public:
  explicit NoiseSchedule(const ScheduleConfig& cfg = {});
  int num_train_timesteps() const { return static_cast<int>(abar_.size()); }
  // abar_t in double precision; t is clamped to [0, N-1] (the DDIM code's clamp of t' = t - N/n).
  double abar(int64_t t) const;
  const std::vector<double>& alphas_cumprod() const { return abar_; }
  // Timesteps of an n-step DDIM chain, first (noisiest) to last.
  std::vector<int64_t> timesteps(int n) const;
  // The DDIM "previous" timestep of t in an n-step chain: t - N/n (may be < 0; abar() clamps).
  int64_t prev_timestep(int64_t t, int n) const { return t - num_train_timesteps() / n; }
  double clip_sample_range() const { return clip_; }  // 0: no clamp


 private:
  std::vector<double> abar_;
  int steps_offset_;
  double clip_;
};

}  // namespace dagalign
