#pragma once
// A throwaway pixel-space diffusers folder for the text-to-image world tests: the tokenizer, CLIP text
// encoder and scheduler of tests/data/unet/tiny_pipeline, a randomly initialised UNet2DConditionModel with
// 3 in/out channels at 16x16 (block types CrossAttnDownBlock2D, DownBlock2D; cross_attention_dim 32), and
// model_index.json with "vae": [null, null], the layout `dagalign pretrain` writes for models/tiny-shapes.
#include <unistd.h>

#include <filesystem>
#include <string>

#include <ATen/ATen.h>

#include "dagalign/models/unet_2d_condition.h"
#include "dagalign/weights/diffusers_folder.h"

namespace dagalign::testing {

// The real tiny model, once committed (tests that need trained weights skip while it is absent).
inline std::string tiny_shapes_folder() { return std::string(DAGALIGN_SOURCE_DIR) + "/models/tiny-shapes"; }
inline bool have_tiny_shapes() {
  return std::filesystem::exists(tiny_shapes_folder() + "/model_index.json") &&
         std::filesystem::exists(tiny_shapes_folder() + "/unet/diffusion_pytorch_model.safetensors");
}

class RandomPixelFolder {
 public:
  explicit RandomPixelFolder(const std::string& name, uint64_t seed = 0) {
    namespace fs = std::filesystem;
    dir_ = (fs::temp_directory_path() / ("dagalign_pixel_sd_" + std::to_string(::getpid()) + "_" + name)).string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const std::string src = std::string(DAGALIGN_TEST_DATA) + "/unet/tiny_pipeline";
    for (const char* c : {"tokenizer", "text_encoder", "scheduler"})
      fs::copy(fs::path(src) / c, fs::path(dir_) / c, fs::copy_options::recursive);
    nlohmann::json unet = read_json_file(src + "/unet/config.json");
    unet["in_channels"] = 3;
    unet["out_channels"] = 3;
    unet["sample_size"] = 16;
    at::manual_seed(seed);
    UNet2DConditionModel model(UNetConfig::from_json(unet, "unet"));
    write_component(dir_, "unet", unet, state_dict(*model));
    write_model_index(dir_, {{"_class_name", "StableDiffusionPipeline"},
                             {"scheduler", {"diffusers", "DDIMScheduler"}},
                             {"text_encoder", {"transformers", "CLIPTextModel"}},
                             {"tokenizer", {"transformers", "CLIPTokenizer"}},
                             {"unet", {"diffusers", "UNet2DConditionModel"}},
                             {"vae", {nullptr, nullptr}}});
  }
  ~RandomPixelFolder() { std::filesystem::remove_all(dir_); }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace dagalign::testing
