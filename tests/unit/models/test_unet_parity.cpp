// UNet2DConditionModel vs diffusers on tiny random configurations (goldens: tools/golden/unet_golden.py).
#include <cstdio>

#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "dagalign/core/error.h"
#include "dagalign/models/unet_2d_condition.h"
#include "dagalign/models/unet_eps_model.h"
#include "dagalign/weights/diffusers_folder.h"

namespace dagalign {
namespace {

const std::string kData = DAGALIGN_TEST_DATA;

double max_abs(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

void check_parity(const std::string& name, bool expect_linear) {
  const std::string dir = kData + "/unet/" + name;
  UNetConfig cfg = UNetConfig::from_file(dir + "/config.json");
  ASSERT_EQ(cfg.use_linear_projection, expect_linear);
  UNet2DConditionModel unet(cfg);
  // the component loader: strict, F16 file -> float32 module
  LoadReport rep = load_component(*unet, kData + "/unet", name);
  EXPECT_TRUE(rep.ok());
  TensorMap io = read_safetensors(dir + "/io.safetensors");
  at::NoGradGuard ng;
  at::Tensor eps = unet->forward(io.at("sample"), io.at("timestep"), io.at("context"));
  ASSERT_EQ(eps.sizes(), io.at("eps").sizes());
  const double err = max_abs(eps, io.at("eps"));
  std::printf("%s: max |dagalign - diffusers| = %.3g\n", name.c_str(), err);
  EXPECT_LE(err, 1e-4) << name << ": max |dagalign - diffusers| = " << err;
  // and the output is not trivially small (a zero model would "match" a zero golden)
  EXPECT_GT(io.at("eps").abs().max().item<double>(), 0.5);

  // The EpsModel adapter is the same function; a scalar timestep broadcasts over the batch.
  UNetEpsModel model(unet);
  at::Tensor t0 = io.at("timestep").index({0});
  at::Tensor e0 = model.eps(io.at("sample"), t0, io.at("context"));
  at::Tensor e_ref = unet->forward(io.at("sample"), t0.expand({2}), io.at("context"));
  EXPECT_TRUE(at::equal(e0, e_ref));
  EXPECT_EQ(model.trainable_parameters().size(), unet->parameters().size());
}

TEST(UNetParity, TinyConvProjectionMatchesDiffusers) { check_parity("tiny_conv", false); }

TEST(UNetParity, TinyLinearProjectionOddSizeMatchesDiffusers) { check_parity("tiny_linear", true); }

TEST(UNetConfig, RejectsUnsupportedAndInconsistentKeys) {
  nlohmann::json j = read_json_file(kData + "/unet/tiny_conv/config.json");
  auto expect_error = [&](nlohmann::json bad, const std::string& needle) {
    try {
      UNetConfig::from_json(bad, "cfg.json");
      ADD_FAILURE() << "accepted " << needle;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("cfg.json"), std::string::npos) << e.what();
    }
  };
  auto b1 = j;
  b1["class_embed_type"] = "timestep";
  expect_error(b1, "class_embed_type");
  auto b2 = j;
  b2["down_block_types"] = {"CrossAttnDownBlock2D", "SimpleDown"};
  expect_error(b2, "SimpleDown");
  auto b3 = j;
  b3["attention_head_dim"] = {2, 2, 2};
  expect_error(b3, "attention_head_dim");
  auto b4 = j;
  b4["block_out_channels"] = {32, 60};
  expect_error(b4, "norm_num_groups");
  auto b5 = j;
  b5["time_embedding_type"] = "fourier";
  expect_error(b5, "time_embedding_type");
  // num_attention_heads takes precedence over the legacy attention_head_dim
  auto ok = j;
  ok["num_attention_heads"] = 4;
  EXPECT_EQ(UNetConfig::from_json(ok, "x").heads, (std::vector<int64_t>{4, 4}));
}

}  // namespace
}  // namespace dagalign
