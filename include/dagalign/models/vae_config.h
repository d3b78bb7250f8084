#pragma once
// AutoencoderKL configuration (vae/config.json) with diffusers' defaults for absent keys
// (autoencoder_kl.py __init__): scaling_factor 0.18215 when absent (the SD 1.5 file predates the key).
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace dagalign {

struct VAEConfig {
  int64_t in_channels = 3, out_channels = 3, latent_channels = 4;
  std::vector<int64_t> block_out_channels{128, 256, 512, 512};
  std::vector<std::string> down_block_types{4, "DownEncoderBlock2D"};
  std::vector<std::string> up_block_types{4, "UpDecoderBlock2D"};
  int64_t layers_per_block = 2;
  int64_t norm_num_groups = 32;
  double scaling_factor = 0.18215;
  double shift_factor = 0.0;  // null in SD 1.x/2.x
  bool use_quant_conv = true, use_post_quant_conv = true, mid_block_add_attention = true;
  int64_t sample_size = 512;

  static VAEConfig from_json(const nlohmann::json& j, const std::string& source);
  static VAEConfig from_file(const std::string& path);  // vae/config.json
};

}  // namespace dagalign
