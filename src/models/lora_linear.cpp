#include "dagalign/models/lora_linear.h"

#include <cmath>

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include "dagalign/core/error.h"

namespace dagalign {

LoraLinearImpl::LoraLinearImpl(int64_t in, int64_t out, bool with_bias) : in_features(in), out_features(out) {
  // torch.nn.Linear's default init: W ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform with a = sqrt(5)),
  // b ~ U(-1/sqrt(in), 1/sqrt(in)). Real runs overwrite it from a weight file.
  weight = register_parameter("weight", at::empty({out, in}));
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  {
    at::NoGradGuard ng;
    weight.uniform_(-bound, bound);
  }
  if (with_bias) {
    bias = register_parameter("bias", at::empty({out}));
    at::NoGradGuard ng;
    bias.uniform_(-bound, bound);
  }
}

at::Tensor LoraLinearImpl::forward(const at::Tensor& x) {
  at::Tensor y = at::linear(x, weight, bias);
  if (rank_ > 0) y = y + at::linear(at::linear(x, lora_A->weight), lora_B->weight) * scale();
  return y;
}

void LoraLinearImpl::add_adapter(int64_t rank, double alpha, c10::optional<at::Generator> gen) {
  DAG_CHECK(rank > 0, "LoRA rank must be positive, got ", rank);
  DAG_CHECK(!has_adapter(), "LoRA adapter already present on this layer");
  auto opts = weight.options();
  lora_A = register_module("lora_A", torch::nn::Linear(torch::nn::LinearOptions(in_features, rank).bias(false)));
  lora_B = register_module("lora_B", torch::nn::Linear(torch::nn::LinearOptions(rank, out_features).bias(false)));
  lora_A->to(opts.device(), opts.dtype().toScalarType());
  lora_B->to(opts.device(), opts.dtype().toScalarType());
  {
    at::NoGradGuard ng;
    lora_A->weight.normal_(0.0, 1.0 / static_cast<double>(rank), gen);
    lora_B->weight.zero_();
  }
  rank_ = rank;
  alpha_ = alpha;
}

void LoraLinearImpl::remove_adapter() {
  if (!has_adapter()) return;
  unregister_module("lora_A");
  unregister_module("lora_B");
  lora_A = nullptr;
  lora_B = nullptr;
  rank_ = 0;
  alpha_ = 0.0;
}

void LoraLinearImpl::merge_adapter() {
  DAG_CHECK(has_adapter(), "merge_adapter: layer has no LoRA adapter");
  {
    at::NoGradGuard ng;
    // W' = W + (alpha/r) B A
    weight.add_(at::matmul(lora_B->weight, lora_A->weight).to(weight.scalar_type()), scale());
  }
  remove_adapter();
}

}  // namespace dagalign
