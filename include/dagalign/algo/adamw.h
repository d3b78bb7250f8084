#pragma once
// AdamW (decoupled weight decay), with its state in plain tensors so checkpoints hold it exactly:
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p -= lr * wd * p
//   p -= lr * (m / (1 - b1^k)) / (sqrt(v / (1 - b2^k)) + eps)
#include <vector>

#include <ATen/core/Tensor.h>

namespace dagalign {

struct AdamWConfig {
  double lr = 3e-4, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 1e-4;
};

class AdamW {
 public:
  // lr_scale: per-parameter factor on lr (decay included), e.g. a faster flow network; empty = all 1.
  AdamW(std::vector<at::Tensor> params, const AdamWConfig& cfg, std::vector<double> lr_scale = {});
  void step();  // uses each parameter's .grad()
  int64_t steps() const { return step_; }
  std::vector<at::Tensor>& exp_avg() { return m_; }
  std::vector<at::Tensor>& exp_avg_sq() { return v_; }
  void set_steps(int64_t k) { step_ = k; }
  void set_lr(double lr) { cfg_.lr = lr; }  // schedules (warm-up)
  void set_lr_scale(size_t i, double s) { lr_scale_.at(i) = s; }

 private:
  std::vector<at::Tensor> params_, m_, v_;
  std::vector<double> lr_scale_;
  AdamWConfig cfg_;
  int64_t step_ = 0;
};

}  // namespace dagalign
