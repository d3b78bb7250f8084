#pragma once
// Gradient checkpointing for the C++ frontend, which has none (pytorch#52744): a custom autograd
// function runs `fn` without recording its graph; backward re-runs `fn` with grad enabled on detached
// copies of the inputs (under the autocast state of the forward call, as torch.utils.checkpoint does)
// and returns d(outputs)/d(inputs) and d(outputs)/d(params) for the engine to propagate/accumulate.
// `fn` must be deterministic (no dropout/RNG: the UNet blocks here have none) and its outputs must be
// distinct tensors. `params` are the trainable tensors `fn` reads (those with requires_grad);
// passing them makes their gradients flow even when no input requires grad.
#include <functional>
#include <vector>

#include <ATen/core/Tensor.h>

namespace dagalign {

using BlockFn = std::function<std::vector<at::Tensor>(const std::vector<at::Tensor>&)>;

// Undefined inputs and outputs are allowed (they bypass autograd). Without grad mode, or when nothing
// requires grad, it is simply fn(inputs).
std::vector<at::Tensor> checkpoint(BlockFn fn, const std::vector<at::Tensor>& inputs,
                                   const std::vector<at::Tensor>& params);

}  // namespace dagalign
