// The SD pipeline end to end against diffusers' StableDiffusionPipeline on a tiny folder
// (tests/data/unet/tiny_pipeline, tools/golden/unet_pipeline_golden.py): tokenizer -> CLIP text encoder ->
// DDIM (eta 1, 4 steps, CFG 5, per-image generators) -> VAE decode, compared on x_T, x_0 and the images.
#include <gtest/gtest.h>

#include <cstdio>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/models/lora.h"
#include "dagalign/models/sd_pipeline.h"
#include "dagalign/weights/safetensors.h"

namespace dagalign {
namespace {

const std::string kDir = std::string(DAGALIGN_TEST_DATA) + "/unet/tiny_pipeline";

TEST(SDPipeline, MatchesDiffusersStableDiffusionPipeline) {
  SDPipeline p = SDPipeline::load(kDir);
  EXPECT_EQ(p.vae_scale_factor(), 2);
  EXPECT_EQ(p.schedule.steps_offset, 1);
  TensorMap g = read_safetensors(kDir + "/golden.safetensors");
  SamplerConfig sc;
  sc.steps = 4;
  sc.guidance = 5.0;
  sc.eta = 1.0;
  // each image on its own, and both in one batch: identical (per-image generators)
  auto both = p.generate({"a red circle", "two cats, on a mat!"}, {11, 12}, sc, 32, 32);
  auto second = p.generate({"two cats, on a mat!"}, {12}, sc, 32, 32);
  const double eb = (second.chain.latents[0] - both.chain.latents[1]).abs().max().item<double>();
  EXPECT_LE(eb, 1e-5 * both.chain.latents[1].abs().max().item<double>()) << "batch composition changed image 1: " << eb;
  ASSERT_EQ(both.images.sizes(), g.at("images").sizes());
  at::Tensor xT = both.chain.latents.select(1, 0), x0 = both.chain.latents.select(1, 4);
  EXPECT_TRUE(at::equal(xT, g.at("x_T"))) << "x_T differs: the generators do not match torch.Generator";
  const double e0 = (x0 - g.at("x_0")).abs().max().item<double>();
  const double ei = (both.images - g.at("images")).abs().max().item<double>();
  std::printf("pipeline: max |x_0 - diffusers| = %.3g (|x_0| max %.3g), images %.3g\n", e0,
              g.at("x_0").abs().max().item<double>(), ei);
  // float32 through 4 CFG (w = 5) steps on latents up to ~46: compare relative to the magnitude
  EXPECT_LE(e0, 1e-5 * g.at("x_0").abs().max().item<double>());
  EXPECT_LE(ei, 1e-4);
  EXPECT_EQ(both.chain.timesteps[0][0].item<int64_t>(), 751);  // leading spacing, offset 1: 751, 501, 251, 1
  EXPECT_EQ(both.chain.timesteps[0][3].item<int64_t>(), 1);
}

TEST(SDPipeline, ReadsSchedulerConfigStrictly) {
  ScheduleConfig c = read_scheduler_config(kDir + "/scheduler/scheduler_config.json");
  EXPECT_DOUBLE_EQ(c.beta_end, 0.012);
  EXPECT_EQ(c.beta_schedule, "scaled_linear");
  EXPECT_THROW(SDPipeline::load(std::string(DAGALIGN_TEST_DATA) + "/unet/tiny_conv"), Error);  // no model_index
}

}  // namespace
}  // namespace dagalign
