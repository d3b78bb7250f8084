// A small diffusers folder (model_index.json, unet/, vae/) written with the project's writer from random
// tiny models loads back with zero missing/unexpected keys and identical tensors; deleting, renaming or
// reshaping one tensor, or truncating the file, fails with a message naming the file and the key.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>

#include "dagalign/models/autoencoder_kl.h"
#include "dagalign/models/unet_2d_condition.h"
#include "dagalign/weights/diffusers_folder.h"

namespace dagalign {
namespace {

namespace fs = std::filesystem;
const std::string kData = DAGALIGN_TEST_DATA;

class SDFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("dagalign_sd_folder_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
    unet_json_ = read_json_file(kData + "/unet/tiny_conv/config.json");
    vae_json_ = read_json_file(kData + "/vae/tiny/config.json");
    UNet2DConditionModel unet(UNetConfig::from_json(unet_json_, "unet"));
    AutoencoderKL vae(VAEConfig::from_json(vae_json_, "vae"));
    unet_sd_ = state_dict(*unet);
    write_model_index(dir_, {{"_class_name", "StableDiffusionPipeline"},
                             {"unet", {"diffusers", "UNet2DConditionModel"}},
                             {"vae", {"diffusers", "AutoencoderKL"}}});
    write_component(dir_, "unet", unet_json_, unet_sd_);
    write_component(dir_, "vae", vae_json_, state_dict(*vae));
    unet_file_ = dir_ + "/unet/diffusion_pytorch_model.safetensors";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Loads unet/ into a fresh model; returns the error message ("" when it loaded).
  std::string load_unet_error() {
    UNet2DConditionModel fresh(UNetConfig::from_file(dir_ + "/unet/config.json"));
    try {
      load_component(*fresh, dir_, "unet");
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  void rewrite_unet(const TensorMap& t) { write_safetensors(unet_file_, t); }

  std::string dir_, unet_file_;
  nlohmann::json unet_json_, vae_json_;
  TensorMap unet_sd_;
};

bool has(const std::string& msg, const std::string& needle) { return msg.find(needle) != std::string::npos; }

TEST_F(SDFolder, RoundTripLoadsEveryTensorExactly) {
  auto index = read_model_index(dir_);
  EXPECT_EQ(index["unet"][1], "UNet2DConditionModel");
  UNet2DConditionModel unet(UNetConfig::from_file(dir_ + "/unet/config.json"));
  LoadReport rep = load_component(*unet, dir_, "unet");
  EXPECT_TRUE(rep.missing.empty());
  EXPECT_TRUE(rep.unexpected.empty());
  EXPECT_TRUE(rep.mismatched.empty());
  size_t n = 0;
  for (const auto& p : unet->named_parameters()) {
    ASSERT_TRUE(at::equal(p.value(), unet_sd_.at(p.key()))) << p.key();
    ++n;
  }
  EXPECT_EQ(n, unet_sd_.size());
  AutoencoderKL vae(VAEConfig::from_file(dir_ + "/vae/config.json"));
  EXPECT_TRUE(load_component(*vae, dir_, "vae").ok());
  EXPECT_DOUBLE_EQ(vae->config.scaling_factor, 0.5);
}

TEST_F(SDFolder, DeletedTensorIsReportedWithFileAndKey) {
  const std::string key = "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight";
  TensorMap t = unet_sd_;
  ASSERT_EQ(t.erase(key), 1u);
  rewrite_unet(t);
  std::string msg = load_unet_error();
  EXPECT_TRUE(has(msg, unet_file_)) << msg;
  EXPECT_TRUE(has(msg, "missing")) << msg;
  EXPECT_TRUE(has(msg, key)) << msg;
}

TEST_F(SDFolder, RenamedTensorIsReportedAsMissingAndUnexpected) {
  const std::string key = "mid_block.resnets.1.conv2.bias";
  TensorMap t = unet_sd_;
  t["mid_block.resnets.1.conv_2.bias"] = t.at(key);
  t.erase(key);
  rewrite_unet(t);
  std::string msg = load_unet_error();
  EXPECT_TRUE(has(msg, unet_file_)) << msg;
  EXPECT_TRUE(has(msg, key)) << msg;
  EXPECT_TRUE(has(msg, "mid_block.resnets.1.conv_2.bias")) << msg;
}

TEST_F(SDFolder, ReshapedTensorIsReportedWithBothShapes) {
  const std::string key = "up_blocks.1.attentions.0.proj_in.weight";  // [32, 32, 1, 1]
  TensorMap t = unet_sd_;
  t[key] = t.at(key).reshape({32, 32});
  rewrite_unet(t);
  std::string msg = load_unet_error();
  EXPECT_TRUE(has(msg, unet_file_)) << msg;
  EXPECT_TRUE(has(msg, key)) << msg;
  EXPECT_TRUE(has(msg, "[32, 32, 1, 1]")) << msg;
  EXPECT_TRUE(has(msg, "[32, 32]")) << msg;
}

TEST_F(SDFolder, TruncatedFileIsReportedWithFileAndLastTensor) {
  const auto size = fs::file_size(unet_file_);
  fs::resize_file(unet_file_, size - 100);
  std::string msg = load_unet_error();
  EXPECT_TRUE(has(msg, unet_file_)) << msg;
  EXPECT_TRUE(has(msg, "truncated")) << msg;
  // the message names the tensor whose data runs past the end
  bool names_key = false;
  for (const auto& [k, v] : unet_sd_) names_key |= has(msg, "'" + k + "'");
  EXPECT_TRUE(names_key) << msg;
}

}  // namespace
}  // namespace dagalign
