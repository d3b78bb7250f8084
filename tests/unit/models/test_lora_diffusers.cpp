// A LoRA exported by dagalign loads in diffusers (`StableDiffusionPipeline.load_lora_weights`, run once by
// tools/golden/lora_golden.py) and the UNet output with it equals dagalign's within 1e-4.
//   tests/data/lora/tiny_linear_lora.safetensors     written by save_lora (this test checks it still is)
//   tests/data/lora/tiny_linear_lora_io.safetensors  diffusers' eps with that LoRA on tiny_linear's inputs
// Regenerate the first with DAGALIGN_WRITE_LORA_GOLDEN=1 ./test_models --gtest_filter=LoraDiffusers.*
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <ATen/ATen.h>

#include "dagalign/core/rng.h"
#include "dagalign/models/lora.h"
#include "dagalign/models/unet_2d_condition.h"
#include "dagalign/weights/diffusers_folder.h"

namespace dagalign {
namespace {

const std::string kData = DAGALIGN_TEST_DATA;
const std::string kLora = kData + "/lora/tiny_linear_lora.safetensors";

UNet2DConditionModel tiny_unet() {
  UNet2DConditionModel unet(UNetConfig::from_file(kData + "/unet/tiny_linear/config.json"));
  load_component(*unet, kData + "/unet", "tiny_linear");
  return unet;
}

// rank 4, alpha 8 (scale 2, so the export folds it into B), default targets + two more Linear kinds;
// factors set by a closed formula (no RNG): A_i = 0.3 sin(0.37 k + i), B_i = 0.2 cos(0.23 k + 2 i).
UNet2DConditionModel tiny_unet_with_lora() {
  auto unet = tiny_unet();
  LoraConfig cfg;
  cfg.rank = 4;
  cfg.alpha = 8;
  cfg.targets = {"to_q", "to_k", "to_v", "to_out.0", "proj_in", "ff.net.2"};
  apply_lora(*unet, cfg, make_generator(0));
  at::NoGradGuard ng;
  auto params = unet->named_parameters();
  int i = 0;
  for (const auto& path : lora_layers(*unet)) {
    at::Tensor A = params[path + ".lora_A.weight"], B = params[path + ".lora_B.weight"];
    A.copy_((at::arange(A.numel(), at::kFloat) * 0.37 + i).sin().mul(0.3).view(A.sizes()));
    B.copy_((at::arange(B.numel(), at::kFloat) * 0.23 + 2 * i).cos().mul(0.2).view(B.sizes()));
    ++i;
  }
  return unet;
}

TEST(LoraDiffusers, ExportEqualsTheCommittedFile) {
  auto unet = tiny_unet_with_lora();
  EXPECT_EQ(lora_layers(*unet).size(), 7u * (2 * 4 + 2));
  if (std::getenv("DAGALIGN_WRITE_LORA_GOLDEN")) save_lora(kLora, *unet);
  const std::string f = (std::filesystem::temp_directory_path() /
                         ("dagalign_lora_export_" + std::to_string(::getpid()) + ".safetensors")).string();
  save_lora(f, *unet);
  Metadata m1, m2;
  TensorMap ours = read_safetensors(f, &m1), committed = read_safetensors(kLora, &m2);
  std::filesystem::remove(f);
  EXPECT_EQ(m1, m2);
  ASSERT_EQ(ours.size(), committed.size());
  for (const auto& [k, v] : ours) {
    ASSERT_TRUE(committed.count(k)) << k;
    EXPECT_TRUE(at::equal(v, committed.at(k))) << k;
  }
}

TEST(LoraDiffusers, UNetOutputWithLoraMatchesDiffusers) {
  TensorMap io = read_safetensors(kData + "/unet/tiny_linear/io.safetensors");
  TensorMap ref = read_safetensors(kData + "/lora/tiny_linear_lora_io.safetensors");
  const at::Tensor& eps_ref = ref.at("eps");
  at::NoGradGuard ng;
  // the LoRA changes the output substantially (the comparison below is not the base model's)
  EXPECT_GT((eps_ref - io.at("eps")).abs().max().item<double>(), 0.1);

  auto in_memory = tiny_unet_with_lora();
  at::Tensor e1 = in_memory(io.at("sample"), io.at("timestep"), io.at("context"));
  const double err1 = (e1 - eps_ref).abs().max().item<double>();
  auto loaded = tiny_unet();
  EXPECT_EQ(load_lora(kLora, *loaded), 70u);
  at::Tensor e2 = loaded(io.at("sample"), io.at("timestep"), io.at("context"));
  const double err2 = (e2 - eps_ref).abs().max().item<double>();
  std::printf("LoRA: max |dagalign - diffusers| = %.3g (in memory), %.3g (imported file)\n", err1, err2);
  EXPECT_LE(err1, 1e-4);
  EXPECT_LE(err2, 1e-4);
  // fused into the base weights (diffusers fuse_lora equivalent)
  merge_lora(*loaded);
  EXPECT_LE((loaded(io.at("sample"), io.at("timestep"), io.at("context")) - eps_ref).abs().max().item<double>(), 1e-4);
}

}  // namespace
}  // namespace dagalign
