#pragma once
// The 2-D world: base data is a Gaussian mixture on a ring; an MLP eps-model is pretrained on it
// (seconds, deterministic); the reward is r(x) = log R(x) with R a positive function on a box, a weighted
// sum of bumps at the modes plus a floor, so the aligned target p*(x) ∝ R(x)^beta is known in closed form
// (sampling with summed log-probs, sample.log_prob_reduce = sum, makes the DB optimum exactly that target).
#include <memory>

#include "dagalign/core/config.h"
#include "dagalign/diffusion/schedule.h"
#include "dagalign/models/toy_mlp.h"
#include "dagalign/train/world.h"

namespace dagalign {

struct Toy2dConfig {
  int64_t modes = 8;
  double radius = 2.5;
  double std = 0.25;
  std::vector<double> reward_weights = {1, 1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05};  // bump weight per mode
  double reward_std = 0.25;    // bump width
  double reward_floor = 1e-3;  // R >= floor inside the box
  double box = 4.0;            // R is defined on [-box, box]^2 (floor^2 outside)
  int64_t hidden = 128, layers = 3;
  int64_t pretrain_steps = 3000, pretrain_batch = 512;
  double pretrain_lr = 2e-3;
  void add_to(Config& c);
};

// Mixture means (K, 2) on the ring.
at::Tensor toy2d_means(const Toy2dConfig& cfg);
// Samples of the base data (n, 2).
at::Tensor toy2d_data(const Toy2dConfig& cfg, int64_t n, at::Generator& gen);
// log R(x) for points (n, 2).
at::Tensor toy2d_log_reward(const Toy2dConfig& cfg, const at::Tensor& x);
// Binned probabilities of the target ∝ exp(beta log R) on a bins x bins grid over the box (midpoint rule).
at::Tensor toy2d_target_bins(const Toy2dConfig& cfg, double beta, int64_t bins);
// Binned histogram of samples on the same grid (points outside the box are counted in no bin but still
// in the total, so mass outside the box counts towards the distance).
at::Tensor toy2d_histogram(const Toy2dConfig& cfg, const at::Tensor& x, int64_t bins);
// Total-variation distance 0.5 * sum |p - q|.
double total_variation(const at::Tensor& p, const at::Tensor& q);

// Pretrains the eps MLP on the base data with the standard eps-prediction loss (deterministic in seed).
void pretrain_toy2d(ToyEps& model, const Toy2dConfig& cfg, const NoiseSchedule& schedule, uint64_t seed);

// The world with the schedule.* keys' schedule (the MLP is pretrained under it).
std::unique_ptr<World> make_toy2d_world(const Toy2dConfig& cfg, const ScheduleConfig& schedule, uint64_t seed);

}  // namespace dagalign
