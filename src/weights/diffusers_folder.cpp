// Diffusers pipeline folders: model_index.json, per-component config.json and safetensors weights
// (single file, ".<variant>" files, shard indexes), the legacy rename pass and the strict load.
#include "dagalign/weights/diffusers_folder.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include <unistd.h>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "dagalign/core/error.h"

namespace dagalign {
namespace fs = std::filesystem;

namespace {

std::string join(const std::string& a, const std::string& b) { return (fs::path(a) / b).string(); }

bool is_file(const std::string& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// diffusers `_add_variant`: "a.safetensors" -> "a.fp16.safetensors",
// "a.safetensors.index.json" -> "a.safetensors.index.fp16.json" (variant before the last extension).
std::string add_variant(const std::string& name, const std::string& variant) {
  if (variant.empty()) return name;
  const auto dot = name.rfind('.');
  return name.substr(0, dot) + "." + variant + name.substr(dot);
}

}  // namespace

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  DAG_CHECK(in, "JSON file ", path, ": cannot open (", std::strerror(errno), ")");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(cat("JSON file ", path, ": invalid JSON: ", e.what()));
  }
}

void write_json_file(const std::string& path, const nlohmann::json& j) {
  const std::string tmp = cat(path, ".tmp.", ::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    DAG_CHECK(out, "JSON file ", path, ": cannot create ", tmp, " (", std::strerror(errno), ")");
    out << j.dump(2) << "\n";
    out.flush();
    DAG_CHECK(out, "JSON file ", path, ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw Error(cat("JSON file ", path, ": cannot rename ", tmp, " into place (", std::strerror(err), ")"));
  }
}

nlohmann::json read_model_index(const std::string& folder) {
  const auto path = join(folder, "model_index.json");
  DAG_CHECK(is_file(path), "diffusers folder ", folder, ": no model_index.json (", path, ")");
  auto j = read_json_file(path);
  DAG_CHECK(j.is_object(), "JSON file ", path, ": expected an object");
  return j;
}

nlohmann::json read_component_config(const std::string& folder, const std::string& component) {
  const auto path = join(join(folder, component), "config.json");
  DAG_CHECK(is_file(path), "diffusers folder ", folder, ": component '", component, "' has no config.json (",
            path, ")");
  auto j = read_json_file(path);
  DAG_CHECK(j.is_object(), "JSON file ", path, ": expected an object");
  return j;
}

std::string default_weights_name(const std::string& component, const std::string& variant) {
  const bool transformers = component.rfind("text_encoder", 0) == 0;
  return add_variant(transformers ? "model.safetensors" : "diffusion_pytorch_model.safetensors", variant);
}

namespace {

struct Located {
  std::vector<std::string> files;  // the single file, or every shard in index order
  std::string index;               // the shard index, "" for a single file
};

Located locate_weights(const std::string& folder, const std::string& component, const std::string& variant) {
  const auto dir = join(folder, component);
  DAG_CHECK(fs::is_directory(dir), "diffusers folder ", folder, ": component folder ", dir, " does not exist");
  std::vector<std::string> tried;
  for (const char* base : {"diffusion_pytorch_model", "model"}) {
    const auto single = join(dir, add_variant(std::string(base) + ".safetensors", variant));
    tried.push_back(single);
    if (is_file(single)) return {{single}, ""};
  }
  for (const char* base : {"diffusion_pytorch_model", "model"}) {
    const auto index_path = join(dir, add_variant(std::string(base) + ".safetensors.index.json", variant));
    tried.push_back(index_path);
    if (!is_file(index_path)) continue;
    const auto index = read_json_file(index_path);
    DAG_CHECK(index.contains("weight_map") && index["weight_map"].is_object(), "shard index ", index_path,
              ": no \"weight_map\" object");
    Located out{{}, index_path};
    std::set<std::string> seen;
    for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
      DAG_CHECK(it.value().is_string(), "shard index ", index_path, ": key '", it.key(),
                "' maps to a non-string ", it.value().dump());
      const auto shard = it.value().get<std::string>();
      DAG_CHECK(shard.find('/') == std::string::npos, "shard index ", index_path, ": key '", it.key(),
                "' maps to '", shard, "' outside the component folder");
      if (seen.insert(shard).second) out.files.push_back(join(dir, shard));
    }
    DAG_CHECK(!out.files.empty(), "shard index ", index_path, ": empty weight_map");
    return out;
  }
  std::string names;
  for (const auto& t : tried) names += "\n  " + t;
  std::string bins;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".bin") bins += " " + e.path().filename().string();
  throw Error(cat("diffusers folder ", folder, ": no safetensors weights for component '", component, "'",
                  variant.empty() ? "" : cat(" (variant '", variant, "')"), "; looked for:", names,
                  bins.empty() ? "" : cat("\n  found only PyTorch pickles (", bins, " ); convert them to safetensors")));
}

}  // namespace

std::vector<std::string> component_weight_files(const std::string& folder, const std::string& component,
                                                const std::string& variant) {
  return locate_weights(folder, component, variant).files;
}

ComponentWeights read_component_weights(const std::string& folder, const std::string& component,
                                        const std::string& variant) {
  const auto loc = locate_weights(folder, component, variant);
  ComponentWeights out;
  if (loc.index.empty()) {
    out.source = loc.files[0];
    out.tensors = read_safetensors(loc.files[0]);
    for (const auto& [k, t] : out.tensors) out.file_of_key[k] = loc.files[0];
    return out;
  }
  // Sharded: the index's weight_map must describe the shards' contents exactly.
  const auto weight_map = read_json_file(loc.index).at("weight_map");
  out.source = loc.index;
  for (const auto& file : loc.files) {
    auto shard = read_safetensors(file);
    const auto shard_name = fs::path(file).filename().string();
    for (auto& [k, t] : shard) {
      DAG_CHECK(weight_map.contains(k), "shard ", file, ": tensor '", k, "' is not listed in ", loc.index);
      DAG_CHECK(weight_map[k].get<std::string>() == shard_name, "shard ", file, ": tensor '", k, "' is listed in ",
                loc.index, " under ", weight_map[k].get<std::string>());
      DAG_CHECK(!out.tensors.count(k), "shard ", file, ": tensor '", k, "' also appears in ", out.file_of_key[k]);
      out.file_of_key[k] = file;
      out.tensors.emplace(k, std::move(t));
    }
  }
  for (auto it = weight_map.begin(); it != weight_map.end(); ++it)
    DAG_CHECK(out.tensors.count(it.key()), "shard index ", loc.index, ": tensor '", it.key(), "' is listed in ",
              it.value().get<std::string>(), " but that shard does not contain it");
  return out;
}

TensorMap rename_legacy_keys(const TensorMap& tensors, const std::string& source) {
  // "<p>.attentions.<n>.query.weight" -> "<p>.attentions.<n>.to_q.weight" (and key/value/proj_attn).
  static const std::regex legacy(R"(^(.*\battentions\.\d+)\.(query|key|value|proj_attn)\.(weight|bias)$)");
  TensorMap out;
  for (const auto& [k, t] : tensors) {
    std::smatch m;
    std::string name = k;
    if (std::regex_match(k, m, legacy)) {
      const std::string& what = m[2];
      const char* now = what == "query" ? "to_q" : what == "key" ? "to_k" : what == "value" ? "to_v" : "to_out.0";
      name = cat(m[1].str(), ".", now, ".", m[3].str());
      DAG_CHECK(!tensors.count(name), "weights ", source, ": both the legacy key '", k, "' and its new name '",
                name, "' are present");
    }
    out.emplace(name, t);
  }
  return out;
}

LoadReport load_component(torch::nn::Module& module, const std::string& folder, const std::string& component,
                          const ComponentLoadOptions& options) {
  auto w = read_component_weights(folder, component, options.variant);
  TensorMap tensors = rename_legacy_keys(w.tensors, w.source);
  if (!options.optional_prefix.empty()) {
    TensorMap prefixed;
    const auto& p = options.optional_prefix;
    for (auto& [k, t] : tensors) {
      const std::string name = k.rfind(p, 0) == 0 ? k : p + k;
      DAG_CHECK(!prefixed.count(name), "weights ", w.source, ": key '", name, "' appears with and without the '",
                p, "' prefix");
      prefixed.emplace(name, t);
    }
    tensors = std::move(prefixed);
  }
  return load_state_dict(module, tensors, w.source, options.strict, options.ignore);
}

void write_component(const std::string& folder, const std::string& component, const nlohmann::json& config,
                     const TensorMap& tensors, const std::string& weights_name) {
  const auto dir = join(folder, component);
  std::error_code ec;
  fs::create_directories(dir, ec);
  DAG_CHECK(!ec, "diffusers folder ", folder, ": cannot create ", dir, " (", ec.message(), ")");
  write_json_file(join(dir, "config.json"), config);
  write_safetensors(join(dir, weights_name.empty() ? default_weights_name(component) : weights_name), tensors);
}

void write_model_index(const std::string& folder, const nlohmann::json& index) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  DAG_CHECK(!ec, "diffusers folder ", folder, ": cannot create it (", ec.message(), ")");
  write_json_file(join(folder, "model_index.json"), index);
}

}  // namespace dagalign
