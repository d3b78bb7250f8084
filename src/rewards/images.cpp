#include "dagalign/rewards/images.h"

#include <ATen/ATen.h>

#include "dagalign/core/error.h"

namespace dagalign {

at::Tensor to_uint8_nhwc(const at::Tensor& samples, const char* reward) {
  DAG_CHECK(samples.dim() == 4, "reward '", reward, "': expected (B, C, H, W) images, found shape ", samples.sizes());
  // round(img * 255).clamp(0, 255) in float32, then NCHW -> NHWC
  at::Tensor x = (samples.to(at::kCPU, at::kFloat) * 255.0f).round().clamp(0, 255).to(at::kByte);
  return x.permute({0, 2, 3, 1}).contiguous();
}

}  // namespace dagalign
