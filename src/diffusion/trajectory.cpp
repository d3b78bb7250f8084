#include "dagalign/diffusion/trajectory.h"

#include <ATen/ATen.h>

#include "dagalign/core/error.h"

namespace dagalign {

namespace {
// Applies f to each tensor field pair (out, in...) — one list of fields, so slice and cat cannot drift.
template <class F>
void each_field(TrajectoryBatch& out, const std::vector<const TrajectoryBatch*>& in, F&& f) {
  auto fields = [](auto& b) {
    return std::vector<decltype(&b.latents)>{&b.latents, &b.timesteps, &b.log_pf,     &b.log_pb,
                                             &b.eps,     &b.rewards,   &b.cond,       &b.prompt_ids,
                                             &b.seeds,   &b.policy_version, &b.images};
  };
  auto dst = fields(out);
  std::vector<std::vector<const at::Tensor*>> src(dst.size());
  for (const auto* b : in) {
    auto s = fields(*b);
    for (size_t i = 0; i < s.size(); ++i) src[i].push_back(s[i]);
  }
  for (size_t i = 0; i < dst.size(); ++i) f(*dst[i], src[i]);
}
}  // namespace

TrajectoryBatch TrajectoryBatch::slice(int64_t begin, int64_t end) const {
  TrajectoryBatch out;
  each_field(out, {this}, [&](at::Tensor& o, const std::vector<const at::Tensor*>& s) {
    if (s[0]->defined()) o = s[0]->slice(0, begin, end);
  });
  out.prompts.assign(prompts.begin() + std::min<int64_t>(begin, prompts.size()),
                     prompts.begin() + std::min<int64_t>(end, prompts.size()));
  return out;
}

TrajectoryBatch TrajectoryBatch::cat(const std::vector<TrajectoryBatch>& parts) {
  TrajectoryBatch out;
  std::vector<const TrajectoryBatch*> ptrs;
  for (const auto& p : parts) ptrs.push_back(&p);
  each_field(out, ptrs, [&](at::Tensor& o, const std::vector<const at::Tensor*>& s) {
    std::vector<at::Tensor> ts;
    for (const auto* t : s) if (t->defined()) ts.push_back(*t);
    if (ts.empty()) return;
    DAG_CHECK(ts.size() == s.size(), "TrajectoryBatch::cat: a field is present in some parts and absent in others");
    o = at::cat(ts);
  });
  for (const auto& p : parts) out.prompts.insert(out.prompts.end(), p.prompts.begin(), p.prompts.end());
  return out;
}

}  // namespace dagalign
