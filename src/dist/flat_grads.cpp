#include "dagalign/dist/flat_grads.h"

#include <cmath>
#include <optional>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "dagalign/core/error.h"

namespace dagalign {

FlatGrads::FlatGrads(std::vector<std::vector<at::Tensor>> groups) {
  int64_t n = 0;
  group_offsets_.push_back(0);
  std::optional<at::Device> device;
  for (size_t g = 0; g < groups.size(); ++g) {
    for (size_t i = 0; i < groups[g].size(); ++i) {
      const at::Tensor& p = groups[g][i];
      DAG_CHECK(p.defined(), "FlatGrads: group ", g, " parameter ", i, " is undefined");
      DAG_CHECK(p.scalar_type() == at::kFloat, "FlatGrads: group ", g, " parameter ", i, " (sizes ", p.sizes(),
                ") is ", c10::toString(p.scalar_type()), ", expected float32");
      DAG_CHECK(p.requires_grad(), "FlatGrads: group ", g, " parameter ", i, " (sizes ", p.sizes(),
                ") does not require grad (pass trainable parameters only)");
      if (!device) device = p.device();
      DAG_CHECK(p.device() == *device, "FlatGrads: group ", g, " parameter ", i, " is on ", p.device().str(),
                ", the first on ", device->str());
      params_.push_back(p);
      offsets_.push_back(n);
      n += p.numel();
    }
    group_offsets_.push_back(n);
  }
  buffer_ = at::zeros({n}, at::TensorOptions().dtype(at::kFloat).device(device.value_or(at::Device(at::kCPU))));
  bind();
}

int64_t FlatGrads::group_numel(int g) const {
  DAG_CHECK(g >= 0 && g < groups(), "FlatGrads: group ", g, " outside [0, ", groups(), ")");
  return group_offsets_[g + 1] - group_offsets_[g];
}

at::Tensor FlatGrads::group_view(int g) const {
  return buffer_.narrow(0, group_offsets_[g], group_numel(g));
}

void FlatGrads::bind() {
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    at::Tensor view = buffer_.narrow(0, offsets_[i], p.numel()).view(p.sizes());
    // Keep what was accumulated so far (a grad computed before binding).
    if (p.grad().defined() && !p.grad().is_same(view)) view.copy_(p.grad());
    p.mutable_grad() = view;
  }
}

void FlatGrads::check_bound() const {
  const char* base = static_cast<const char*>(buffer_.data_ptr());
  for (size_t i = 0; i < params_.size(); ++i) {
    const at::Tensor& g = params_[i].grad();
    DAG_CHECK(g.defined() && g.data_ptr() == static_cast<const void*>(base + offsets_[i] * 4),
              "FlatGrads: the grad of parameter ", i, " (sizes ", params_[i].sizes(),
              ") no longer points into the flat buffer (it was ",
              g.defined() ? "replaced" : "set to None",
              "; use FlatGrads::zero() instead of optimizer.zero_grad(), or call bind())");
  }
}

void FlatGrads::zero() { buffer_.zero_(); }

void FlatGrads::allreduce_mean(Communicator& comm) {
  check_bound();
  comm.allreduce_mean_(buffer_);
}

double FlatGrads::norm(int g) const {
  at::Tensor v = g < 0 ? buffer_ : group_view(g);
  if (v.numel() == 0) return 0.0;
  return v.norm().item<double>();
}

double FlatGrads::clip_group(int g, double max_norm) {
  // Same arithmetic as torch::nn::utils::clip_grad_norm_ (norm_type 2): coef = max/(total + 1e-6).
  double total = norm(g);
  double coef = max_norm / (total + 1e-6);
  if (coef < 1.0) group_view(g).mul_(coef);
  return total;
}

std::vector<double> FlatGrads::clip_groups(const std::vector<double>& max_norms) {
  DAG_CHECK(int(max_norms.size()) == groups(), "FlatGrads::clip_groups: ", max_norms.size(),
            " max norms for ", groups(), " groups");
  std::vector<double> norms;
  for (int g = 0; g < groups(); ++g) norms.push_back(clip_group(g, max_norms[g]));
  return norms;
}

void FlatGrads::broadcast_parameters(Communicator& comm, int root) {
  if (comm.size() == 1 || params_.empty()) return;
  at::NoGradGuard no_grad;
  at::Tensor flat = at::empty({numel()}, buffer_.options());
  for (size_t i = 0; i < params_.size(); ++i)
    flat.narrow(0, offsets_[i], params_[i].numel()).copy_(params_[i].detach().reshape({-1}));
  comm.broadcast_(flat, root);
  for (size_t i = 0; i < params_.size(); ++i)
    params_[i].detach().copy_(flat.narrow(0, offsets_[i], params_[i].numel()).view(params_[i].sizes()));
}

}  // namespace dagalign
