#pragma once
// A Linear layer y = x W^T + b that can carry a LoRA adapter (Hu et al. 2021, peft naming):
//   y = x W^T + b + (alpha / r) * (x A^T) B^T,   A = lora_A.weight [r, in], B = lora_B.weight [out, r].
// Parameter names: "weight", "bias", and with an adapter "lora_A.weight", "lora_B.weight" — exactly the
// names peft/diffusers use below a target module (`...attn1.to_q.lora_A.weight`).
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace dagalign {

class LoraLinearImpl : public torch::nn::Module {
 public:
  LoraLinearImpl(int64_t in_features, int64_t out_features, bool bias = true);

  at::Tensor forward(const at::Tensor& x);

  // Adds an adapter of rank r: A ~ N(0, (1/r)^2) (peft init_lora_weights="gaussian", diffusers
  // LoRALinearLayer: std = 1/r), B = 0, so the layer's output is unchanged until B trains.
  // A fresh adapter is trainable; the caller freezes the base (weight/bias) separately.
  void add_adapter(int64_t rank, double alpha, c10::optional<at::Generator> gen = c10::nullopt);
  void remove_adapter();
  bool has_adapter() const { return !lora_A.is_empty(); }
  // W <- W + (alpha/r) B A, then drops the adapter: forward is unchanged (up to rounding).
  void merge_adapter();
  double scale() const { return rank_ > 0 ? alpha_ / static_cast<double>(rank_) : 0.0; }
  int64_t rank() const { return rank_; }
  double alpha() const { return alpha_; }
  void set_alpha(double alpha) { alpha_ = alpha; }

  int64_t in_features, out_features;
  at::Tensor weight, bias;
  torch::nn::Linear lora_A{nullptr}, lora_B{nullptr};

 private:
  int64_t rank_ = 0;
  double alpha_ = 0.0;
};
TORCH_MODULE(LoraLinear);

}  // namespace dagalign
