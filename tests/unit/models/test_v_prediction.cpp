// v-prediction: the conversions against their definitions, one DDIM step against diffusers'
// DDIMScheduler(prediction_type="v_prediction", clip_sample=True) (tools/golden/v_prediction_golden.py),
// and UNetEpsModel's conversion of a real UNet's output.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/core/rng.h"
#include "dagalign/diffusion/ddim.h"
#include "dagalign/diffusion/v_prediction.h"
#include "dagalign/models/sd_pipeline.h"
#include "dagalign/models/unet_eps_model.h"
#include "dagalign/weights/safetensors.h"

using namespace dagalign;

namespace {
ScheduleConfig tiny_shapes_schedule() {  // as models/tiny-shapes/scheduler/scheduler_config.json
  ScheduleConfig c;
  c.beta_schedule = "linear";
  c.beta_start = 1e-4;
  c.beta_end = 0.02;
  c.clip_sample_range = 1.0;
  c.prediction_type = "v_prediction";
  return c;
}
}  // namespace

TEST(VPrediction, ConversionsInvertTheDefinitions) {
  auto gen = make_generator(3);
  auto x0 = at::randn({5, 7}, gen, at::kDouble), eps = at::randn({5, 7}, gen, at::kDouble);
  auto abar = at::tensor(std::vector<double>{0.9999, 0.9, 0.5, 0.01, 4e-5}, at::kDouble).view({5, 1});
  auto xt = abar.sqrt() * x0 + (1 - abar).sqrt() * eps;
  auto v = v_target(x0, eps, abar);
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t d = 0; d < 7; ++d) {  // v = sqrt(a) eps - sqrt(1-a) x0, element by element
      const double a = abar[i][0].item<double>();
      EXPECT_NEAR(v[i][d].item<double>(), std::sqrt(a) * eps[i][d].item<double>() - std::sqrt(1 - a) * x0[i][d].item<double>(), 1e-12);
    }
  EXPECT_TRUE(at::allclose(eps_from_v(v, xt, abar), eps, 1e-10, 1e-10));
}

TEST(VPrediction, DdimStepMatchesDiffusers) {
  TensorMap g = read_safetensors(std::string(DAGALIGN_TEST_DATA) + "/ddim/v_prediction.safetensors");
  const NoiseSchedule s(tiny_shapes_schedule());
  const at::Tensor x = g.at("x_t"), t = g.at("t");
  const at::Tensor eps = eps_from_v(g.at("v"), x, abar_at(s, t, x));
  const DdimStep st = ddim_step(s, x, eps, t, t - 50, 1.0, g.at("noise"), false);
  EXPECT_TRUE(at::allclose(st.prev, g.at("prev"), 1e-5, 1e-5)) << (st.prev - g.at("prev")).abs().max();
}

TEST(VPrediction, UNetEpsModelConvertsTheUNetOutput) {
  SDPipeline p = SDPipeline::load(std::string(DAGALIGN_TEST_DATA) + "/unet/tiny_pipeline");
  at::NoGradGuard ng;
  auto gen = make_generator(5);
  const int64_t C = p.unet->config.in_channels, S = p.unet->config.sample_size;
  auto x = at::randn({2, C, S, S}, gen, at::kFloat);
  auto t = at::tensor(std::vector<int64_t>{901, 51}, at::kLong);
  auto cond = p.encode_prompts({"a red circle", "two cats"});
  const at::Tensor out = p.unet->forward(x, t, cond);
  UNetEpsModel plain(p.unet, ScheduleConfig{}), vmodel(p.unet, tiny_shapes_schedule());
  EXPECT_TRUE(at::equal(plain.eps(x, t, cond), out));
  const NoiseSchedule s(tiny_shapes_schedule());
  const at::Tensor e = vmodel.eps(x, t, cond);
  for (int64_t i = 0; i < 2; ++i) {
    const double a = s.abar(t[i].item<int64_t>());
    const at::Tensor want = std::sqrt(a) * out[i].to(at::kDouble) + std::sqrt(1 - a) * x[i].to(at::kDouble);
    EXPECT_TRUE(at::allclose(e[i].to(at::kDouble), want, 1e-5, 1e-5)) << i;
  }
  ScheduleConfig bad;
  bad.prediction_type = "sample";
  EXPECT_THROW(UNetEpsModel(p.unet, bad), ConfigError);
}

TEST(VPrediction, SchedulerConfigReadsPredictionType) {
  const std::string path = ::testing::TempDir() + "/v_scheduler_config.json";
  std::ofstream(path) << R"({"prediction_type": "v_prediction", "beta_schedule": "linear", "clip_sample": true})";
  EXPECT_EQ(read_scheduler_config(path).prediction_type, "v_prediction");
  std::ofstream(path) << R"({"prediction_type": "sample"})";
  try {
    read_scheduler_config(path);
    FAIL() << "prediction_type sample accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'sample'"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}
