#include "dagalign/diffusion/trajectory.h"

#include <ATen/ATen.h>

#include "dagalign/core/error.h"

namespace dagalign {

const std::vector<TrajectoryField>& trajectory_fields() {
  static const std::vector<TrajectoryField> f = {
      {"latents", &TrajectoryBatch::latents, at::kFloat, true, true},
      {"timesteps", &TrajectoryBatch::timesteps, at::kLong, false, true},
      {"log_pf", &TrajectoryBatch::log_pf, at::kFloat, false, true},
      {"log_pb", &TrajectoryBatch::log_pb, at::kFloat, false, true},
      {"eps", &TrajectoryBatch::eps, at::kFloat, true, false},
      {"rewards", &TrajectoryBatch::rewards, at::kFloat, false, true},
      {"cond", &TrajectoryBatch::cond, at::kFloat, true, false},
      {"prompt_ids", &TrajectoryBatch::prompt_ids, at::kLong, false, false},
      {"seed", &TrajectoryBatch::seeds, at::kLong, false, true},
      {"policy_version", &TrajectoryBatch::policy_version, at::kLong, false, true},
      {"images", &TrajectoryBatch::images, at::kByte, false, false},
  };
  return f;
}

TrajectoryBatch TrajectoryBatch::slice(int64_t begin, int64_t end) const {
  TrajectoryBatch out;
  for (const auto& f : trajectory_fields())
    if ((this->*f.member).defined()) out.*f.member = (this->*f.member).slice(0, begin, end);
  out.prompts.assign(prompts.begin() + std::min<int64_t>(begin, prompts.size()),
                     prompts.begin() + std::min<int64_t>(end, prompts.size()));
  return out;
}

TrajectoryBatch TrajectoryBatch::select(const at::Tensor& idx) const {
  TrajectoryBatch out;
  for (const auto& f : trajectory_fields())
    if ((this->*f.member).defined()) out.*f.member = (this->*f.member).index_select(0, idx);
  auto rows = idx.contiguous();
  for (int64_t i = 0; i < rows.numel(); ++i) out.prompts.push_back(prompts.at(size_t(rows.data_ptr<int64_t>()[i])));
  return out;
}

TrajectoryBatch TrajectoryBatch::cat(const std::vector<TrajectoryBatch>& parts) {
  TrajectoryBatch out;
  if (parts.empty()) return out;
  for (const auto& f : trajectory_fields()) {
    std::vector<at::Tensor> ts;
    for (const auto& p : parts) {
      if ((p.*f.member).defined() != (parts[0].*f.member).defined())
        throw Error(dagalign::cat("concatenating trajectory batches: field ", f.name, " present in some and absent in others"));
      if ((p.*f.member).defined()) ts.push_back(p.*f.member);
    }
    if (!ts.empty()) out.*f.member = at::cat(ts, 0);
  }
  for (const auto& p : parts) {
    if (p.prompts.size() != size_t(p.size()))
      throw Error(dagalign::cat("concatenating trajectory batches: ", p.prompts.size(), " prompts for ", p.size(), " rows"));
    out.prompts.insert(out.prompts.end(), p.prompts.begin(), p.prompts.end());
  }
  return out;
}

}  // namespace dagalign
