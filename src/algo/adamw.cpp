#include "dagalign/algo/adamw.h"

#include <cmath>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"

namespace dagalign {

AdamW::AdamW(std::vector<at::Tensor> params, const AdamWConfig& cfg, std::vector<double> lr_scale)
    : params_(std::move(params)), lr_scale_(std::move(lr_scale)), cfg_(cfg) {
  if (lr_scale_.empty()) lr_scale_.assign(params_.size(), 1.0);
  DAG_CHECK(lr_scale_.size() == params_.size(), "AdamW: ", lr_scale_.size(), " lr scales for ", params_.size(),
            " parameters");
  for (const auto& p : params_) {
    m_.push_back(at::zeros_like(p));
    v_.push_back(at::zeros_like(p));
  }
  k_.assign(params_.size(), 0);
}

void AdamW::step() {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i];
    if (!p.grad().defined() || lr_scale_[i] == 0) continue;
    const auto& g = p.grad();
    const double lr = cfg_.lr * lr_scale_[i];
    const int64_t k = ++k_[i];
    const double bc1 = 1 - std::pow(cfg_.beta1, k), bc2 = 1 - std::pow(cfg_.beta2, k);
    p.mul_(1 - lr * cfg_.weight_decay);                     // decoupled weight decay
    m_[i].mul_(cfg_.beta1).add_(g, 1 - cfg_.beta1);         // m = b1 m + (1-b1) g
    v_[i].mul_(cfg_.beta2).addcmul_(g, g, 1 - cfg_.beta2);  // v = b2 v + (1-b2) g^2
    auto denom = (v_[i] / bc2).sqrt_().add_(cfg_.eps);      // sqrt(v_hat) + eps
    p.addcdiv_(m_[i], denom, -lr / bc1);                    // p -= lr m_hat / denom
  }
}

}  // namespace dagalign
