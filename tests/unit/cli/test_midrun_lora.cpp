// A LoRA the training loop wrote mid-run, loaded the way `sample` and `eval` load one (--lora, here through a
// checkpoint path), samples what diffusers samples with the same file (`pipe.load_lora_weights`):
// tests/data/lora/tiny-shapes/epoch-000020.lora.safetensors is the main job's epoch-20 export,
// epoch-000020_golden.safetensors diffusers' DDIM chains on models/tiny-shapes without and with it
// (tools/golden/lora_midrun_golden.py: the folder's scheduler (v-prediction, x0 clamped), 10 steps, eta 1,
// guidance 2, torch.Generator seeds 3 and 4).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>

#include "dagalign/cli/pipeline_loading.h"
#include "dagalign/weights/safetensors.h"

namespace dagalign::cli {
namespace {

namespace fs = std::filesystem;

const std::string kModel = std::string(DAGALIGN_SOURCE_DIR) + "/models/tiny-shapes";
const std::string kData = std::string(DAGALIGN_TEST_DATA) + "/lora/tiny-shapes";

// The DDIM chains [2, steps + 1, 3, 32, 32] of the golden's prompts and seeds.
at::Tensor chains(SDPipeline pipe) {
  SamplerConfig sc;
  sc.steps = 10;
  sc.eta = 1.0;
  sc.guidance = 2.0;
  auto out = pipe.generate({"a black circle on a blue background", "a purple triangle on a red background"},
                           {3, 4}, sc, 32, 32);
  return out.chain.latents;
}

TEST(MidRunLora, CheckpointLoraSamplesAsInDiffusers) {
  // a checkpoint directory as the loop leaves it: epoch-000020.h5 with its LoRA export beside it
  const fs::path dir = fs::temp_directory_path() / ("dagalign_midrun_lora_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::copy_file(kData + "/epoch-000020.lora.safetensors", dir / "epoch-000020.lora.safetensors");
  std::ofstream(dir / "epoch-000020.h5") << "checkpoint";
  const TensorMap g = read_safetensors(kData + "/epoch-000020_golden.safetensors");

  const at::Tensor base_chain = chains(load_pipeline("test", kModel, "", ""));
  const at::Tensor lora_chain = chains(load_pipeline("test", kModel, "", (dir / "epoch-000020.h5").string()));
  fs::remove_all(dir);
  EXPECT_TRUE(at::equal(lora_chain.select(1, 0), g.at("x_T"))) << "x_T differs from torch.Generator's";
  const at::Tensor base = base_chain.select(1, 10), lora = lora_chain.select(1, 10);
  const double scale = g.at("x_0_lora").abs().max().item<double>();
  const double e_base = (base - g.at("x_0_base")).abs().max().item<double>();
  const double e_lora = (lora - g.at("x_0_lora")).abs().max().item<double>();
  const double effect = (g.at("x_0_lora") - g.at("x_0_base")).abs().max().item<double>();
  std::printf("mid-run LoRA: max |x_0 - diffusers| base %.3g, with LoRA %.3g; the LoRA moves x_0 by %.3g (|x_0| %.3g)\n",
              e_base, e_lora, effect, scale);
  // float32 through 10 guided, clamped steps, LibTorch against PyTorch 2.x: 1.5e-5 measured (Haswell and
  // Prescott kernels); the LoRA's own effect is 5 orders of magnitude larger
  EXPECT_LE(e_base, 1e-4 * scale);
  EXPECT_LE(e_lora, 1e-4 * scale);
  EXPECT_GE(effect, 1e-2 * scale);
}

}  // namespace
}  // namespace dagalign::cli
