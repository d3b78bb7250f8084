#pragma once
// UNet2DConditionModel configuration as diffusers writes it (unet/config.json), with diffusers'
// defaults for absent keys (unet_2d_condition.py __init__). Keys this implementation does not support
// with a non-default value (class embeddings, addition embeddings, time_cond_proj, ...) are rejected.
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace dagalign {

struct UNetConfig {
  int64_t in_channels = 4, out_channels = 4;
  std::vector<int64_t> block_out_channels{320, 640, 1280, 1280};
  std::vector<std::string> down_block_types{"CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                            "DownBlock2D"};
  std::vector<std::string> up_block_types{"UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D",
                                          "CrossAttnUpBlock2D"};
  std::string mid_block_type = "UNetMidBlock2DCrossAttn";
  int64_t layers_per_block = 2;
  // heads per down block: `num_attention_heads` if given, else the legacy `attention_head_dim`
  // (which diffusers also treats as the number of heads); an int is broadcast to every block.
  std::vector<int64_t> heads{8, 8, 8, 8};
  int64_t cross_attention_dim = 768;
  int64_t transformer_layers_per_block = 1;
  bool use_linear_projection = false;
  int64_t norm_num_groups = 32;
  double norm_eps = 1e-5;
  bool flip_sin_to_cos = true;
  double freq_shift = 0.0;
  int64_t downsample_padding = 1;
  int64_t sample_size = 64;

  int64_t time_embed_dim() const { return block_out_channels.at(0) * 4; }

  // `source` names the file in error messages.
  static UNetConfig from_json(const nlohmann::json& j, const std::string& source);
  static UNetConfig from_file(const std::string& path);  // unet/config.json
};

}  // namespace dagalign
