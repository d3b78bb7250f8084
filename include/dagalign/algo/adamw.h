#pragma once
// AdamW (decoupled weight decay), with its state in plain tensors so checkpoints hold it exactly:
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p -= lr * wd * p
//   p -= lr * (m / (1 - b1^k)) / (sqrt(v / (1 - b2^k)) + eps)
// k counts each parameter's own steps (as torch.optim.AdamW's per-parameter state "step"). A parameter
// whose lr scale is 0 (the policy during DAG's flow warm-up) is left alone: value, moments and k do not
// move, so its first real step is Adam's first step.
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
  std::vector<at::Tensor>& exp_avg() { return m_; }
  std::vector<at::Tensor>& exp_avg_sq() { return v_; }
  std::vector<int64_t>& steps() { return k_; }  // per parameter
  void set_steps(int64_t k) { k_.assign(k_.size(), k); }
  void set_lr(double lr) { cfg_.lr = lr; }  // schedules (warm-up)
  void set_lr_scale(size_t i, double s) { lr_scale_.at(i) = s; }

 private:
  std::vector<at::Tensor> params_, m_, v_;
  std::vector<double> lr_scale_;
  std::vector<int64_t> k_;
  AdamWConfig cfg_;
};

}  // namespace dagalign
