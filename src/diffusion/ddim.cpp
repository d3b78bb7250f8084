#include "dagalign/diffusion/ddim.h"

#include <cmath>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"

namespace dagalign {

at::Tensor abar_at(const NoiseSchedule& s, const at::Tensor& t, const at::Tensor& like) {
  const auto& table = s.alphas_cumprod();
  auto tab = at::from_blob(const_cast<double*>(table.data()), {static_cast<int64_t>(table.size())}, at::kDouble);
  auto idx = t.to(at::kLong).to(at::kCPU).clamp(0, static_cast<int64_t>(table.size()) - 1);
  std::vector<int64_t> shape(like.dim(), 1);
  shape[0] = t.size(0);
  return tab.index_select(0, idx).view(shape).to(like.options());
}

at::Tensor predict_x0(const NoiseSchedule& s, const at::Tensor& x_t, const at::Tensor& eps, const at::Tensor& t) {
  auto a = abar_at(s, t, x_t);
  return (x_t - (1 - a).sqrt() * eps) / a.sqrt();
}

at::Tensor clip_x0(const NoiseSchedule& s, const at::Tensor& x0) {
  const double r = s.clip_sample_range();
  return r > 0 ? x0.clamp(-r, r) : x0;
}

at::Tensor guide(const at::Tensor& eps_uncond, const at::Tensor& eps_cond, double w) {
  return eps_uncond + w * (eps_cond - eps_uncond);
}

at::Tensor gaussian_log_prob(const at::Tensor& x, const at::Tensor& mean, const at::Tensor& std, LogProbReduce r) {
  static const double kLogSqrt2Pi = 0.5 * std::log(2.0 * M_PI);
  auto lp = -(x - mean).pow(2) / (2 * std.pow(2)) - std.log() - kLogSqrt2Pi;
  auto flat = lp.flatten(1);
  return r == LogProbReduce::kMean ? flat.mean(1) : flat.sum(1);
}

DdimStep ddim_step(const NoiseSchedule& s, const at::Tensor& x_t, const at::Tensor& eps, const at::Tensor& t,
                   const at::Tensor& t_prev, double eta, const at::Tensor& noise_or_prev, bool given_prev,
                   LogProbReduce r) {
  DAG_CHECK(eta > 0, "ddim_step: eta must be > 0 for a log-probability, found ", eta);
  auto a_t = abar_at(s, t, x_t);
  auto a_p = abar_at(s, t_prev, x_t);
  auto x0 = clip_x0(s, (x_t - (1 - a_t).sqrt() * eps) / a_t.sqrt());
  auto var = (eta * eta) * (1 - a_p) / (1 - a_t) * (1 - a_t / a_p);
  auto std = var.sqrt();
  auto mean = a_p.sqrt() * x0 + (1 - a_p - var).sqrt() * eps;
  auto prev = given_prev ? noise_or_prev : mean + std * noise_or_prev;
  auto lp = gaussian_log_prob(prev.detach(), mean, std, r);
  return {prev.detach(), mean, std, lp};
}

at::Tensor backward_log_prob(const NoiseSchedule& s, const at::Tensor& x_t, const at::Tensor& x_prev,
                             const at::Tensor& t, const at::Tensor& t_prev, LogProbReduce r) {
  auto a = abar_at(s, t, x_t) / abar_at(s, t_prev, x_t);
  return gaussian_log_prob(x_t.detach(), a.sqrt() * x_prev.detach(), (1 - a).sqrt(), r);
}

}  // namespace dagalign
