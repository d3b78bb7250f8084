// The generic strict loader: module paths equal weight names, so the file's keys are matched one to one
// against named_parameters() + named_buffers(). copy_ broadcasts, so shapes are compared explicitly first.
#include "dagalign/weights/state_dict.h"

#include <algorithm>
#include <set>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "dagalign/core/error.h"

namespace dagalign {
namespace {

std::string shape_str(at::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// "a, b, c" with at most `limit` names, then "... (N more)".
std::string join_some(const std::vector<std::string>& v, size_t limit = 20) {
  std::string out;
  for (size_t i = 0; i < v.size() && i < limit; ++i) out += (i ? ", " : "") + v[i];
  if (v.size() > limit) out += cat(", ... (", v.size() - limit, " more)");
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> targets_of(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& p : module.named_parameters(true)) out.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers(true)) out.emplace_back(b.key(), b.value());
  return out;
}

}  // namespace

LoadReport load_state_dict(torch::nn::Module& module, const TensorMap& tensors, const std::string& source,
                           bool strict, const std::vector<std::string>& ignore) {
  LoadReport report;
  const std::set<std::string> skip(ignore.begin(), ignore.end());
  auto targets = targets_of(module);
  std::set<std::string> wanted;
  std::vector<std::pair<at::Tensor, at::Tensor>> copies;  // (destination, source)
  for (auto& [name, dst] : targets) {
    wanted.insert(name);
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      report.missing.push_back(name);
      continue;
    }
    if (!dst.sizes().equals(it->second.sizes())) {
      report.mismatched.push_back(
          cat(name, ": expected ", shape_str(dst.sizes()), ", found ", shape_str(it->second.sizes())));
      continue;
    }
    copies.emplace_back(dst, it->second);
  }
  for (const auto& [name, t] : tensors)
    if (!wanted.count(name) && !skip.count(name)) report.unexpected.push_back(name);

  if (strict && !report.ok()) {
    std::string msg = cat("weights ", source, " do not match the model (", report.missing.size(), " missing, ",
                          report.unexpected.size(), " unexpected, ", report.mismatched.size(), " mis-shaped)");
    if (!report.missing.empty()) msg += "; missing: " + join_some(report.missing);
    if (!report.unexpected.empty()) msg += "; unexpected: " + join_some(report.unexpected);
    if (!report.mismatched.empty()) msg += "; mis-shaped: " + join_some(report.mismatched);
    throw Error(msg);
  }
  at::NoGradGuard no_grad;
  for (auto& [dst, src] : copies) dst.copy_(src);  // converts dtype (e.g. F16 file -> float32 module)
  return report;
}

TensorMap state_dict(const torch::nn::Module& module) {
  TensorMap out;
  for (auto& [name, t] : targets_of(module)) out.emplace(name, t.detach());
  return out;
}

}  // namespace dagalign
