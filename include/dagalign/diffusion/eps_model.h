#pragma once
// The model interfaces the sampler and the objectives drive: an eps-prediction model (a UNet2DCondition,
// or a small MLP in the 2-D world) and a flow model log F~(x_t, t, c). One sampler, any model.
#include <vector>

#include <ATen/core/Tensor.h>

namespace dagalign {

class EpsModel {
 public:
  virtual ~EpsModel() = default;
  // x: (B, ...) state x_t; t: (B,) int64 timesteps; cond: (B, ...) conditioning (e.g. (B, 77, D) text
  // embeddings), or an undefined tensor for unconditional models. Returns eps with x's shape.
  virtual at::Tensor eps(const at::Tensor& x, const at::Tensor& t, const at::Tensor& cond) = 0;
  // Parameters the optimiser trains (LoRA factors, or all weights of a small model).
  virtual std::vector<at::Tensor> trainable_parameters() = 0;
};

class FlowModel {
 public:
  virtual ~FlowModel() = default;
  // log F~(x_t, t, c): one scalar per sample, (B,).
  virtual at::Tensor log_flow(const at::Tensor& x, const at::Tensor& t, const at::Tensor& cond) = 0;
  virtual std::vector<at::Tensor> trainable_parameters() = 0;
};

}  // namespace dagalign
