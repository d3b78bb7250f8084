#include "dagalign/models/vae_config.h"


#include <nlohmann/json.hpp>

#include "dagalign/core/error.h"
#include "dagalign/weights/diffusers_folder.h"

namespace dagalign {

using nlohmann::json;

VAEConfig VAEConfig::from_json(const json& j, const std::string& src) {
  VAEConfig c;
  try {
    auto get = [&](const char* key, auto& field) {
      if (j.contains(key) && !j[key].is_null()) field = j[key].get<std::decay_t<decltype(field)>>();
    };
    get("in_channels", c.in_channels);
    get("out_channels", c.out_channels);
    get("latent_channels", c.latent_channels);
    get("block_out_channels", c.block_out_channels);
    get("down_block_types", c.down_block_types);
    get("up_block_types", c.up_block_types);
    get("layers_per_block", c.layers_per_block);
    get("norm_num_groups", c.norm_num_groups);
    get("scaling_factor", c.scaling_factor);
    get("shift_factor", c.shift_factor);
    get("use_quant_conv", c.use_quant_conv);
    get("use_post_quant_conv", c.use_post_quant_conv);
    get("mid_block_add_attention", c.mid_block_add_attention);
    get("sample_size", c.sample_size);
  } catch (const json::exception& e) {
    throw ConfigError(cat(src, ": bad value type: ", e.what()));
  }
  const size_t n = c.block_out_channels.size();
  if (c.down_block_types.size() != n || c.up_block_types.size() != n)
    throw ConfigError(cat(src, ": block_out_channels has ", n, " entries but down_block_types has ",
                          c.down_block_types.size(), " and up_block_types ", c.up_block_types.size()));
  for (const auto& t : c.down_block_types)
    if (t != "DownEncoderBlock2D") throw ConfigError(cat(src, ": unsupported down block type '", t, "'"));
  for (const auto& t : c.up_block_types)
    if (t != "UpDecoderBlock2D") throw ConfigError(cat(src, ": unsupported up block type '", t, "'"));
  for (size_t i = 0; i < n; ++i)
    if (c.block_out_channels[i] % c.norm_num_groups != 0)
      throw ConfigError(cat(src, ": block_out_channels[", i, "] = ", c.block_out_channels[i],
                            " not divisible by norm_num_groups ", c.norm_num_groups));
  if (j.contains("act_fn") && j["act_fn"] != "silu")
    throw ConfigError(cat(src, ": unsupported act_fn ", j["act_fn"].dump()));
  if (c.scaling_factor <= 0) throw ConfigError(cat(src, ": scaling_factor must be > 0, got ", c.scaling_factor));
  return c;
}

VAEConfig VAEConfig::from_file(const std::string& path) { return from_json(read_json_file(path), path); }

}  // namespace dagalign
