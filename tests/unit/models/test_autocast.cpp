// AutocastGuard: enables/disables autocast for a scope, nests, and restores the saved state on exit.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/version.h>

#include "dagalign/core/error.h"
#include "dagalign/models/autocast.h"

namespace dagalign {
namespace {

at::ScalarType linear_dtype() {
  auto x = at::ones({2, 3});
  auto w = at::ones({4, 3});
  return at::linear(x, w).scalar_type();
}

TEST(Autocast, CpuGuardCastsLinearToBf16AndRestores) {
  const AutocastState before = AutocastState::current();
  ASSERT_FALSE(before.cpu_enabled);
  EXPECT_EQ(linear_dtype(), at::kFloat);
  {
    AutocastGuard g(c10::DeviceType::CPU, true, at::kBFloat16);
    EXPECT_TRUE(AutocastState::current().cpu_enabled);
    EXPECT_EQ(linear_dtype(), at::kBFloat16);
    {
      AutocastGuard off(c10::DeviceType::CPU, false);
      EXPECT_EQ(linear_dtype(), at::kFloat);
    }
    EXPECT_EQ(linear_dtype(), at::kBFloat16);  // inner guard restored the outer state
    // a guard restoring a saved state (what the checkpoint recomputation uses)
    {
      AutocastGuard restore(before);
      EXPECT_FALSE(AutocastState::current().cpu_enabled);
      EXPECT_EQ(linear_dtype(), at::kFloat);
    }
    EXPECT_EQ(linear_dtype(), at::kBFloat16);
  }
  const AutocastState after = AutocastState::current();
  EXPECT_EQ(after.cpu_enabled, before.cpu_enabled);
  EXPECT_EQ(after.cpu_dtype, before.cpu_dtype);
  EXPECT_EQ(linear_dtype(), at::kFloat);
}

TEST(Autocast, CudaStateIsSavedAndRestoredWithoutTouchingCpu) {
  const AutocastState before = AutocastState::current();
  {
    AutocastGuard g(c10::DeviceType::CUDA, true, at::kBFloat16);
    AutocastState s = AutocastState::current();
    EXPECT_TRUE(s.cuda_enabled);
    EXPECT_EQ(s.cuda_dtype, at::kBFloat16);
    EXPECT_EQ(s.cpu_enabled, before.cpu_enabled);
    EXPECT_EQ(linear_dtype(), at::kFloat);  // CPU tensors are not affected by CUDA autocast
  }
  AutocastState after = AutocastState::current();
  EXPECT_EQ(after.cuda_enabled, before.cuda_enabled);
  EXPECT_EQ(after.cuda_dtype, before.cuda_dtype);
}

#if TORCH_VERSION_MAJOR < 2
TEST(Autocast, CpuFloat16IsRejectedNamingTheDtype) {
  try {
    AutocastGuard g(c10::DeviceType::CPU, true, at::kHalf);
    ADD_FAILURE() << "CPU float16 autocast accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Half"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(AutocastState::current().cpu_enabled);
}
#endif

}  // namespace
}  // namespace dagalign
