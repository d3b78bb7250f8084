#include "dagalign/models/unet_config.h"


#include <nlohmann/json.hpp>

#include "dagalign/core/error.h"
#include "dagalign/weights/diffusers_folder.h"

namespace dagalign {
namespace {

using nlohmann::json;

// An int or a per-block list of ints, expanded to n entries.
std::vector<int64_t> per_block(const json& v, size_t n, const std::string& key, const std::string& src) {
  if (v.is_number_integer()) return std::vector<int64_t>(n, v.get<int64_t>());
  if (v.is_array() && v.size() == n) return v.get<std::vector<int64_t>>();
  throw ConfigError(cat(src, ": key '", key, "' must be an int or a list of ", n, " ints, found ", v.dump()));
}

// A key that must be absent, null or equal to `expected` (a feature this UNet does not implement).
void require_default(const json& j, const std::string& key, const json& expected, const std::string& src) {
  if (!j.contains(key) || j[key].is_null() || j[key] == expected) return;
  throw ConfigError(cat(src, ": unsupported value for '", key, "': ", j[key].dump(), " (supported: ",
                        expected.dump(), ")"));
}

}  // namespace

UNetConfig UNetConfig::from_json(const json& j, const std::string& src) {
  UNetConfig c;
  try {
    auto get = [&](const char* key, auto& field) {
      if (j.contains(key) && !j[key].is_null()) field = j[key].get<std::decay_t<decltype(field)>>();
    };
    get("in_channels", c.in_channels);
    get("out_channels", c.out_channels);
    get("block_out_channels", c.block_out_channels);
    get("down_block_types", c.down_block_types);
    get("up_block_types", c.up_block_types);
    get("mid_block_type", c.mid_block_type);
    get("layers_per_block", c.layers_per_block);
    get("cross_attention_dim", c.cross_attention_dim);
    get("use_linear_projection", c.use_linear_projection);
    get("norm_num_groups", c.norm_num_groups);
    get("norm_eps", c.norm_eps);
    get("flip_sin_to_cos", c.flip_sin_to_cos);
    get("freq_shift", c.freq_shift);
    get("downsample_padding", c.downsample_padding);
    get("sample_size", c.sample_size);
  } catch (const json::exception& e) {
    throw ConfigError(cat(src, ": bad value type: ", e.what()));
  }
  const size_t n = c.block_out_channels.size();
  if (c.down_block_types.size() != n || c.up_block_types.size() != n)
    throw ConfigError(cat(src, ": block_out_channels has ", n, " entries but down_block_types has ",
                          c.down_block_types.size(), " and up_block_types ", c.up_block_types.size()));
  // num_attention_heads = num_attention_heads or attention_head_dim (diffusers' legacy naming)
  if (j.contains("num_attention_heads") && !j["num_attention_heads"].is_null())
    c.heads = per_block(j["num_attention_heads"], n, "num_attention_heads", src);
  else if (j.contains("attention_head_dim") && !j["attention_head_dim"].is_null())
    c.heads = per_block(j["attention_head_dim"], n, "attention_head_dim", src);
  else
    c.heads.assign(n, 8);
  if (j.contains("transformer_layers_per_block") && !j["transformer_layers_per_block"].is_null()) {
    auto t = per_block(j["transformer_layers_per_block"], n, "transformer_layers_per_block", src);
    for (auto v : t)
      if (v != t[0]) throw ConfigError(cat(src, ": per-block transformer_layers_per_block is not supported"));
    c.transformer_layers_per_block = t[0];
  }
  if (j.contains("cross_attention_dim") && !j["cross_attention_dim"].is_number_integer())
    throw ConfigError(cat(src, ": cross_attention_dim must be one int, found ", j["cross_attention_dim"].dump()));
  for (const auto& t : c.down_block_types)
    if (t != "CrossAttnDownBlock2D" && t != "DownBlock2D")
      throw ConfigError(cat(src, ": unsupported down block type '", t, "'"));
  for (const auto& t : c.up_block_types)
    if (t != "CrossAttnUpBlock2D" && t != "UpBlock2D")
      throw ConfigError(cat(src, ": unsupported up block type '", t, "'"));
  if (c.mid_block_type != "UNetMidBlock2DCrossAttn")
    throw ConfigError(cat(src, ": unsupported mid_block_type '", c.mid_block_type, "'"));
  for (size_t i = 0; i < n; ++i) {
    if (c.block_out_channels[i] % c.norm_num_groups != 0)
      throw ConfigError(cat(src, ": block_out_channels[", i, "] = ", c.block_out_channels[i],
                            " not divisible by norm_num_groups ", c.norm_num_groups));
    if (c.block_out_channels[i] % c.heads[i] != 0)
      throw ConfigError(cat(src, ": block_out_channels[", i, "] = ", c.block_out_channels[i],
                            " not divisible by its head count ", c.heads[i]));
  }
  require_default(j, "act_fn", "silu", src);
  require_default(j, "center_input_sample", false, src);
  require_default(j, "class_embed_type", nullptr, src);
  require_default(j, "addition_embed_type", nullptr, src);
  require_default(j, "time_embedding_type", "positional", src);
  require_default(j, "time_cond_proj_dim", nullptr, src);
  require_default(j, "encoder_hid_dim", nullptr, src);
  require_default(j, "num_class_embeds", nullptr, src);
  require_default(j, "conv_in_kernel", 3, src);
  require_default(j, "conv_out_kernel", 3, src);
  require_default(j, "resnet_time_scale_shift", "default", src);
  require_default(j, "mid_block_scale_factor", 1, src);
  require_default(j, "only_cross_attention", false, src);
  require_default(j, "dual_cross_attention", false, src);
  require_default(j, "attention_type", "default", src);
  require_default(j, "reverse_transformer_layers_per_block", nullptr, src);
  require_default(j, "resnet_out_scale_factor", 1, src);
  require_default(j, "resnet_skip_time_act", false, src);
  require_default(j, "time_embedding_dim", nullptr, src);
  require_default(j, "time_embedding_act_fn", nullptr, src);
  require_default(j, "timestep_post_act", nullptr, src);
  require_default(j, "cross_attention_norm", nullptr, src);
  require_default(j, "mid_block_only_cross_attention", nullptr, src);
  require_default(j, "class_embeddings_concat", false, src);
  require_default(j, "dropout", 0, src);  // dropout is not implemented (SD checkpoints use 0)
  return c;
}

UNetConfig UNetConfig::from_file(const std::string& path) { return from_json(read_json_file(path), path); }

}  // namespace dagalign
