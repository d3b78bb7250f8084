#include "dagalign/models/autocast.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "dagalign/core/error.h"

// LibTorch 2.4 made autocast device-generic (pytorch#124359) and deprecated the per-device functions.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define DAGALIGN_AUTOCAST_GENERIC 1
#else
#define DAGALIGN_AUTOCAST_GENERIC 0
#endif

namespace dagalign {

AutocastState AutocastState::current() {
  AutocastState s;
#if DAGALIGN_AUTOCAST_GENERIC
  s.cpu_enabled = at::autocast::is_autocast_enabled(at::kCPU);
  s.cpu_dtype = at::autocast::get_autocast_dtype(at::kCPU);
  s.cuda_enabled = at::autocast::is_autocast_enabled(at::kCUDA);
  s.cuda_dtype = at::autocast::get_autocast_dtype(at::kCUDA);
#else
  s.cpu_enabled = at::autocast::is_cpu_enabled();
  s.cpu_dtype = at::autocast::get_autocast_cpu_dtype();
  s.cuda_enabled = at::autocast::is_enabled();
  s.cuda_dtype = at::autocast::get_autocast_gpu_dtype();
#endif
  return s;
}

void AutocastState::apply() const {
#if DAGALIGN_AUTOCAST_GENERIC
  at::autocast::set_autocast_dtype(at::kCPU, cpu_dtype);
  at::autocast::set_autocast_enabled(at::kCPU, cpu_enabled);
  at::autocast::set_autocast_dtype(at::kCUDA, cuda_dtype);
  at::autocast::set_autocast_enabled(at::kCUDA, cuda_enabled);
#else
  at::autocast::set_autocast_cpu_dtype(cpu_dtype);
  at::autocast::set_cpu_enabled(cpu_enabled);
  at::autocast::set_autocast_gpu_dtype(cuda_dtype);
  at::autocast::set_enabled(cuda_enabled);
#endif
}

AutocastGuard::AutocastGuard(c10::DeviceType device, bool enabled, c10::ScalarType dtype)
    : saved_(AutocastState::current()) {
  AutocastState s = saved_;
  if (device == c10::DeviceType::CPU) {
#if TORCH_VERSION_MAJOR < 2
    DAG_CHECK(!enabled || dtype == c10::kBFloat16, "CPU autocast (LibTorch 1.13) supports bfloat16 only, got ",
              c10::toString(dtype));
#endif
    s.cpu_enabled = enabled;
    s.cpu_dtype = dtype;
  } else if (device == c10::DeviceType::CUDA) {
    s.cuda_enabled = enabled;
    s.cuda_dtype = dtype;
  } else {
    throw Error(cat("AutocastGuard: unsupported device type ", c10::DeviceTypeName(device)));
  }
  s.apply();
  at::autocast::increment_nesting();
}

AutocastGuard::AutocastGuard(const AutocastState& state) : saved_(AutocastState::current()) {
  state.apply();
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  saved_.apply();
  // torch.autocast.__exit__: the cast cache lives as long as the outermost autocast region.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
}

}  // namespace dagalign
