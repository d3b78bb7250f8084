#pragma once
// Synthetic trajectory batches for the io tests (values distinct per row so that mix-ups show).
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "dagalign/core/rng.h"
#include "dagalign/diffusion/trajectory.h"

inline dagalign::TrajectoryBatch make_batch(int64_t n, int64_t T, std::vector<int64_t> state, int64_t first,
                                            bool optional = true) {
  dagalign::TrajectoryBatch b;
  at::Generator gen = dagalign::make_generator(uint64_t(1000 + first));
  std::vector<int64_t> ls{n, T + 1}, es{n, T};
  ls.insert(ls.end(), state.begin(), state.end());
  es.insert(es.end(), state.begin(), state.end());
  b.latents = at::randn(ls, gen);
  b.timesteps = (at::arange(T, 0, -1, at::kLong) * 20 - 1).repeat({n, 1});
  b.log_pf = at::randn({n, T}, gen);
  b.log_pb = at::randn({n, T}, gen);
  b.rewards = at::arange(first, first + n, at::kFloat) * 0.5 - 1.0;
  b.seeds = at::arange(first, first + n, at::kLong) * 7919;
  b.policy_version = at::full({n}, first / 4, at::kLong);
  for (int64_t i = 0; i < n; ++i) b.prompts.push_back("prompt #" + std::to_string(first + i) + " ünï");
  if (optional) {
    b.eps = at::randn(es, gen);
    b.cond = at::randn({n, 3, 5}, gen);
    b.prompt_ids = at::randint(0, 49408, {n, 6}, gen, at::kLong);
    b.images = at::randint(0, 256, {n, 8, 8, 3}, gen, at::kByte);
  }
  return b;
}

// Rows [begin, end) of every field (the io library does not depend on the diffusion module).
inline dagalign::TrajectoryBatch rows_of(const dagalign::TrajectoryBatch& b, int64_t begin, int64_t end) {
  dagalign::TrajectoryBatch r;
  auto s = [&](const at::Tensor& t) { return t.defined() ? t.slice(0, begin, end) : at::Tensor(); };
  r.latents = s(b.latents);
  r.timesteps = s(b.timesteps);
  r.log_pf = s(b.log_pf);
  r.log_pb = s(b.log_pb);
  r.eps = s(b.eps);
  r.rewards = s(b.rewards);
  r.cond = s(b.cond);
  r.prompt_ids = s(b.prompt_ids);
  r.seeds = s(b.seeds);
  r.policy_version = s(b.policy_version);
  r.images = s(b.images);
  r.prompts.assign(b.prompts.begin() + begin, b.prompts.begin() + end);
  return r;
}
