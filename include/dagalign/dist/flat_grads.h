#pragma once
// All trainable gradients in one contiguous fp32 buffer, so that one all-reduce per optimiser step
// averages them across ranks (docs/scaling.md).
//
// Each parameter's .grad() is a view into the buffer: backward() accumulates straight into it (autograd
// adds into a defined grad in place), over timesteps and micro-batches; then
//   grads.allreduce_mean(comm);            // g <- (1/n) sum_r g_r, once per optimiser step
//   grads.clip_group(0, 1.0);              // LoRA; grads.clip_group(1, 1.0): flow net (DAG clips each)
//   optimiser.step();
//   grads.zero();                          // NOT optimiser.zero_grad(): LibTorch 2.x sets grads to
//                                          // None there, which detaches them from the buffer
// Parameters are laid out group after group, in the order given. All parameters must be float32,
// require grad, and live on one device.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "dagalign/dist/communicator.h"

namespace dagalign {

class FlatGrads {
 public:
  // One group per inner vector (e.g. {lora params}, {flow-net params}).
  explicit FlatGrads(std::vector<std::vector<at::Tensor>> groups);
  explicit FlatGrads(std::vector<at::Tensor> params) : FlatGrads(std::vector<std::vector<at::Tensor>>{std::move(params)}) {}

  int64_t numel() const { return buffer_.numel(); }
  int groups() const { return int(group_offsets_.size()) - 1; }
  int64_t group_numel(int g) const;
  at::Tensor& buffer() { return buffer_; }
  at::Tensor group_view(int g) const;  // buffer_[offset_g : offset_g+1], 1-D

  // Re-points every param's .grad() at its slice of the buffer (done by the constructor; call again if
  // some code replaced the grads, e.g. optimiser.zero_grad() in LibTorch 2.x).
  void bind();
  // Throws Error naming the parameter whose .grad() no longer aliases the buffer.
  void check_bound() const;

  void zero();  // buffer = 0 (grads stay bound)

  // In place: g <- (1/n) sum_r g_r over the communicator's ranks (one collective for all params).
  void allreduce_mean(Communicator& comm);

  // ||g||_2 of one group (g >= 0) or of all (g = -1).
  double norm(int g = -1) const;
  // torch::nn::utils::clip_grad_norm_ on the group's grads: total = ||g||_2,
  // coef = max_norm / (total + 1e-6); if coef < 1, g <- coef * g. Returns total (before clipping).
  double clip_group(int g, double max_norm);
  // clip_group(g, max_norms[g]) for every group; returns the norms before clipping.
  std::vector<double> clip_groups(const std::vector<double>& max_norms);

  // Copies the root's parameter values to every rank (one flat broadcast of all params).
  void broadcast_parameters(Communicator& comm, int root = 0);

 private:
  std::vector<at::Tensor> params_;
  std::vector<int64_t> offsets_;        // per param, into buffer_
  std::vector<int64_t> group_offsets_;  // groups()+1 entries
  at::Tensor buffer_;
};

}  // namespace dagalign
