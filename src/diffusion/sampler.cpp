#include "dagalign/diffusion/sampler.h"

#include <ATen/ATen.h>

#include "dagalign/core/error.h"

namespace dagalign {

at::Tensor cfg_eps(EpsModel& model, const at::Tensor& x, const at::Tensor& t, const at::Tensor& cond,
                   const at::Tensor& uncond, double guidance) {
  if (guidance == 1.0 || !uncond.defined()) return model.eps(x, t, cond);
  // One call on the doubled batch [uncond; cond], then eps_u + w (eps_c - eps_u).
  auto u = uncond.size(0) == x.size(0) ? uncond : uncond.expand_as(cond);
  auto both = model.eps(at::cat({x, x}), at::cat({t, t}), at::cat({u, cond}));
  auto halves = both.chunk(2);
  return guide(halves[0], halves[1], guidance);
}

TrajectoryBatch sample_chain(EpsModel& model, const NoiseSchedule& schedule, const SamplerConfig& cfg,
                             const std::vector<int64_t>& shape, std::vector<at::Generator>& gens,
                             const at::Tensor& cond, const at::Tensor& uncond) {
  const int64_t n = static_cast<int64_t>(gens.size());
  const int T = cfg.steps;
  DAG_CHECK(n > 0, "sample_chain: no trajectories requested");
  auto draw = [&] {  // one standard normal state per trajectory, each from its own stream
    std::vector<at::Tensor> z;
    z.reserve(n);
    for (auto& g : gens) z.push_back(at::randn(shape, g, at::TensorOptions().dtype(at::kFloat)));
    return at::stack(z);
  };
  const auto ts = schedule.timesteps(T);
  std::vector<int64_t> full{n, T + 1};
  full.insert(full.end(), shape.begin(), shape.end());
  TrajectoryBatch b;
  b.latents = at::empty(full, at::kFloat);
  b.timesteps = at::empty({n, T}, at::kLong);
  b.log_pf = at::empty({n, T}, at::kFloat);
  b.log_pb = at::empty({n, T}, at::kFloat);
  if (cfg.keep_eps) {
    full[1] = T;
    b.eps = at::empty(full, at::kFloat);
  }
  b.cond = cond;
  at::NoGradGuard no_grad;
  auto x = draw();
  b.latents.select(1, 0).copy_(x);
  for (int k = 0; k < T; ++k) {
    auto t = at::full({n}, ts[k], at::kLong);
    auto tp = at::full({n}, schedule.prev_timestep(ts[k], T), at::kLong);
    auto eps = cfg_eps(model, x, t, cond, uncond, cfg.guidance).to(at::kFloat);
    auto step = ddim_step(schedule, x, eps, t, tp, cfg.eta, draw(), false, cfg.reduce);
    b.timesteps.select(1, k).fill_(ts[k]);
    b.log_pf.select(1, k).copy_(step.log_prob);
    b.log_pb.select(1, k).copy_(backward_log_prob(schedule, x, step.prev, t, tp, cfg.reduce));
    if (cfg.keep_eps) b.eps.select(1, k).copy_(eps);
    x = step.prev;
    b.latents.select(1, k + 1).copy_(x);
  }
  return b;
}

}  // namespace dagalign
