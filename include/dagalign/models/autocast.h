#pragma once
// A scoped autocast guard for the C++ frontend, which has none (docs/design.md).
// On entry it saves the thread-local autocast state of CPU and CUDA (enabled + dtype), enables or
// disables autocast for one device with the given dtype and increments the nesting level; on exit it
// restores the saved state and, when the outermost guard exits, clears the autocast weight-cast cache
// (as torch.autocast.__exit__ does). Compiles against LibTorch 1.13 (per-device functions) and
// 2.4+ (device-generic functions).
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

namespace dagalign {

// The autocast part of the thread-local state: what a recomputation in backward must restore.
struct AutocastState {
  bool cpu_enabled = false;
  c10::ScalarType cpu_dtype = c10::kBFloat16;
  bool cuda_enabled = false;
  c10::ScalarType cuda_dtype = c10::kHalf;

  static AutocastState current();
  void apply() const;  // makes this the thread's state (no nesting / cache change)
};

class AutocastGuard {
 public:
  AutocastGuard(c10::DeviceType device, bool enabled, c10::ScalarType dtype = c10::kBFloat16);
  // Restores a saved state as a scope (used by the checkpoint recomputation).
  explicit AutocastGuard(const AutocastState& state);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  AutocastState saved_;
};

}  // namespace dagalign
