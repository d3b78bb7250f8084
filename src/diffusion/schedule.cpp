#include "dagalign/diffusion/schedule.h"

#include <algorithm>
#include <cmath>

#include "dagalign/core/error.h"

namespace dagalign {

const std::vector<std::string>& beta_schedules() {
  static const std::vector<std::string> names = {"scaled_linear", "linear"};
  return names;
}

const std::vector<std::string>& prediction_types() {
  static const std::vector<std::string> names = {"epsilon", "v_prediction"};
  return names;
}

NoiseSchedule::NoiseSchedule(const ScheduleConfig& cfg) : steps_offset_(cfg.steps_offset), clip_(cfg.clip_sample_range) {
  if (clip_ < 0) throw ConfigError(cat("schedule: clip_sample_range must be >= 0, found ", clip_));
  const int n = cfg.num_train_timesteps;
  if (n < 2) throw ConfigError(cat("schedule.num_train_timesteps must be >= 2, found ", n));
  abar_.resize(n);
  double prod = 1.0;
  for (int i = 0; i < n; ++i) {
    const double f = static_cast<double>(i) / (n - 1);
    double beta;
    if (cfg.beta_schedule == "scaled_linear") {
      // torch.linspace in float32 then squared; in double here, the difference is < 1e-9 relative.
      const double s = std::sqrt(cfg.beta_start) + f * (std::sqrt(cfg.beta_end) - std::sqrt(cfg.beta_start));
      beta = s * s;
    } else if (cfg.beta_schedule == "linear") {
      beta = cfg.beta_start + f * (cfg.beta_end - cfg.beta_start);
    } else {
      throw ConfigError(cat("schedule.beta_schedule: unknown value '", cfg.beta_schedule,
                            "' (expected scaled_linear or linear)"));
    }
    prod *= 1.0 - beta;
    abar_[i] = prod;
  }
}

double NoiseSchedule::abar(int64_t t) const {
  const int64_t n = num_train_timesteps();
  return abar_[static_cast<size_t>(std::clamp<int64_t>(t, 0, n - 1))];
}

std::vector<int64_t> NoiseSchedule::timesteps(int n) const {
  const int N = num_train_timesteps();
  if (n < 1 || n > N) throw ConfigError(cat("number of DDIM steps must be in [1, ", N, "], found ", n));
  const int64_t ratio = N / n;
  std::vector<int64_t> ts(n);
  for (int k = 0; k < n; ++k) ts[n - 1 - k] = k * ratio + steps_offset_;
  return ts;
}

}  // namespace dagalign
