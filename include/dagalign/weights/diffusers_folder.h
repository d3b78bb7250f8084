#pragma once
// A diffusers pipeline folder (docs/design.md):
//   model_index.json                {"_class_name": ..., "unet": ["diffusers", "UNet2DConditionModel"], ...}
//   <component>/config.json         the component's constructor arguments
//   <component>/diffusion_pytorch_model[.<variant>].safetensors   (unet, vae, ...)
//   <component>/model[.<variant>].safetensors                     (text_encoder, transformers models)
//   <component>/<weights>.safetensors.index[.<variant>].json      shards: {"weight_map": {key: shard file}}
// Reading, the legacy-name rename pass, the strict load into a module, and a writer for test folders.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dagalign/core/error.h"
#include "dagalign/weights/safetensors.h"
#include "dagalign/weights/state_dict.h"

namespace dagalign {

// Parses a JSON file; errors name the file (missing, unreadable, invalid JSON).
nlohmann::json read_json_file(const std::string& path);
// Writes JSON (indented) atomically: temporary file + rename.
void write_json_file(const std::string& path, const nlohmann::json& j);

// <folder>/model_index.json.
nlohmann::json read_model_index(const std::string& folder);
// <folder>/<component>/config.json; errors name the file.
nlohmann::json read_component_config(const std::string& folder, const std::string& component);

// A config value: `cfg[key]` converted to T; throws ConfigError naming `file` and `key` when it is missing
// (first form) or of the wrong type. The second form returns `fallback` for a missing key or null.
template <class T>
T config_value(const nlohmann::json& cfg, const std::string& key, const std::string& file) {
  if (!cfg.contains(key)) throw ConfigError("config " + file + ": missing key '" + key + "'");
  try {
    return cfg.at(key).get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError("config " + file + ": key '" + key + "' has an unexpected value " + cfg.at(key).dump() +
                      " (" + e.what() + ")");
  }
}
template <class T>
T config_value(const nlohmann::json& cfg, const std::string& key, const std::string& file, const T& fallback) {
  if (!cfg.contains(key) || cfg.at(key).is_null()) return fallback;
  return config_value<T>(cfg, key, file);
}

// The weight file(s) of a component, in the order diffusers looks for them: a single
// diffusion_pytorch_model / model safetensors file (with ".<variant>" before the extension when a variant
// such as "fp16" is asked for), else the shard index. Throws naming the folder and the names tried.
std::vector<std::string> component_weight_files(const std::string& folder, const std::string& component,
                                                const std::string& variant = "");

struct ComponentWeights {
  TensorMap tensors;
  std::string source;                              // the file (or the shard index) the tensors came from
  std::map<std::string, std::string> file_of_key;  // the file holding each key (differs per shard)
};
// Reads every tensor of a component (all shards merged; the index's weight_map is checked against the
// shards' contents, duplicate keys across shards are rejected).
ComponentWeights read_component_weights(const std::string& folder, const std::string& component,
                                        const std::string& variant = "");

// The rename pass for names older files use (diffusers modeling_utils `_fix_state_dict_keys_on_load`):
// "...attentions.N.{query,key,value,proj_attn}.{weight,bias}" -> "...attentions.N.{to_q,to_k,to_v,to_out.0}.*"
// (VAE mid-block attention). Returns the renamed map; a rename onto an existing key throws.
TensorMap rename_legacy_keys(const TensorMap& tensors, const std::string& source);

struct ComponentLoadOptions {
  std::string variant;                 // "" or e.g. "fp16"
  std::string optional_prefix;         // e.g. "text_model.": added to file keys that lack it
  std::vector<std::string> ignore;     // file keys (after prefixing) that are skipped, e.g. position_ids
  bool strict = true;
};
// read_component_weights + rename_legacy_keys + optional prefix + load_state_dict. A strict failure names
// the component's file and every missing, unexpected and mis-shaped key.
LoadReport load_component(torch::nn::Module& module, const std::string& folder, const std::string& component,
                          const ComponentLoadOptions& options = {});

// The conventional weights file name of a component: "model.safetensors" for transformers components
// (text_encoder*), "diffusion_pytorch_model.safetensors" otherwise; ".<variant>" before the extension.
std::string default_weights_name(const std::string& component, const std::string& variant = "");
// Writes <folder>/<component>/config.json and its safetensors file (default_weights_name unless given).
void write_component(const std::string& folder, const std::string& component, const nlohmann::json& config,
                     const TensorMap& tensors, const std::string& weights_name = "");
// Writes <folder>/model_index.json.
void write_model_index(const std::string& folder, const nlohmann::json& index);

}  // namespace dagalign
