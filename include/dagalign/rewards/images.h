#pragma once
// Conversion of float samples to the uint8 images black-box scorers consume (docs/rewards.md):
//   uint8 = round(img * 255).clamp(0, 255), NHWC   (round half to even, as torch.round)
#include <ATen/core/Tensor.h>

namespace dagalign {

// samples: (B, C, H, W) float in [0, 1] -> (B, H, W, C) uint8, contiguous, on the CPU.
// Throws Error naming `reward` on a wrong rank.
at::Tensor to_uint8_nhwc(const at::Tensor& samples, const char* reward);

}  // namespace dagalign
