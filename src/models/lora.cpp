#include "dagalign/models/lora.h"

#include <algorithm>
#include <map>
#include <set>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "dagalign/core/error.h"
#include "dagalign/models/lora_linear.h"
#include "dagalign/weights/safetensors.h"

namespace dagalign {
namespace {

// Every LoraLinear of the model by path, in path order.
std::map<std::string, std::shared_ptr<LoraLinearImpl>> linear_layers(torch::nn::Module& model) {
  std::map<std::string, std::shared_ptr<LoraLinearImpl>> out;
  for (const auto& item : model.named_modules("", /*include_self=*/false))
    if (auto l = std::dynamic_pointer_cast<LoraLinearImpl>(item.value())) out.emplace(item.key(), l);
  return out;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_target(const std::string& path, const std::string& target) {
  return path == target || ends_with(path, "." + target);
}

// One adapter read from a file, keyed by module path.
struct FileAdapter {
  at::Tensor A, B;
  double alpha = -1;  // < 0: not given
  std::string key_A, key_B;
};

// Maps a file key (prefix already stripped) to (module path, which factor), or false when the key is not
// a LoRA factor. Accepts "P.lora_A.weight"/"P.lora_B.weight" (peft), "P.lora_down.weight"/"P.lora_up.weight",
// and "X.processor.to_q_lora.down.weight"/".up.weight" (diffusers attention processors, to_out -> to_out.0).
bool parse_key(const std::string& key, std::string& path, char& which) {
  const std::vector<std::pair<std::string, char>> forms = {{".lora_A.weight", 'A'},
                                                           {".lora_B.weight", 'B'},
                                                           {".lora_down.weight", 'A'},
                                                           {".lora_up.weight", 'B'},
                                                           {"_lora.down.weight", 'A'},
                                                           {"_lora.up.weight", 'B'}};
  for (const auto& [suffix, w] : forms) {
    if (!ends_with(key, suffix)) continue;
    path = key.substr(0, key.size() - suffix.size());
    which = w;
    if (suffix[0] == '_') {  // processor form: "...attn1.processor.to_q"
      const std::string proc = ".processor.";
      auto p = path.rfind(proc);
      if (p != std::string::npos) path = path.substr(0, p) + "." + path.substr(p + proc.size());
      if (ends_with(path, ".to_out")) path += ".0";
    }
    return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> apply_lora(torch::nn::Module& model, const LoraConfig& config, at::Generator gen) {
  DAG_CHECK(config.rank > 0, "LoRA rank must be positive, got ", config.rank);
  DAG_CHECK(config.alpha > 0, "LoRA alpha must be positive, got ", config.alpha);
  DAG_CHECK(!config.targets.empty(), "LoRA: no target modules given");
  auto layers = linear_layers(model);
  std::set<std::string> unmatched(config.targets.begin(), config.targets.end());
  std::vector<std::string> wrapped;
  for (auto& [path, layer] : layers) {
    bool hit = false;
    for (const auto& t : config.targets)
      if (is_target(path, t)) {
        hit = true;
        unmatched.erase(t);
      }
    if (!hit) continue;
    layer->add_adapter(config.rank, config.alpha, gen);
    wrapped.push_back(path);
  }
  DAG_CHECK(unmatched.empty(), "LoRA: target '", *unmatched.begin(), "' matches no Linear layer of the model");
  for (auto& p : model.parameters()) p.set_requires_grad(false);
  for (auto& p : lora_parameters(model)) p.set_requires_grad(true);
  return wrapped;
}

std::vector<at::Tensor> lora_parameters(torch::nn::Module& model) {
  std::vector<at::Tensor> out;
  for (auto& [path, layer] : linear_layers(model))
    if (layer->has_adapter()) {
      out.push_back(layer->lora_A->weight);
      out.push_back(layer->lora_B->weight);
    }
  return out;
}

std::vector<std::string> lora_layers(torch::nn::Module& model) {
  std::vector<std::string> out;
  for (auto& [path, layer] : linear_layers(model))
    if (layer->has_adapter()) out.push_back(path);
  return out;
}

void save_lora(const std::string& path, torch::nn::Module& model, const std::string& prefix) {
  TensorMap tensors;
  int64_t rank = -1;
  double alpha = -1;
  bool uniform = true;
  for (auto& [p, layer] : linear_layers(model)) {
    if (!layer->has_adapter()) continue;
    if (rank < 0) {
      rank = layer->rank();
      alpha = layer->alpha();
    }
    uniform &= layer->rank() == rank && layer->alpha() == alpha;
    at::Tensor A = layer->lora_A->weight.detach().to(at::kFloat).contiguous();
    // diffusers applies scale 1 (alpha = r) to a peft file without alpha: store B' = (alpha/r) B
    at::Tensor B = (layer->lora_B->weight.detach().to(at::kFloat) * layer->scale()).contiguous();
    tensors.emplace(prefix + p + ".lora_A.weight", A);
    tensors.emplace(prefix + p + ".lora_B.weight", B);
  }
  DAG_CHECK(!tensors.empty(), "save_lora ", path, ": the model has no LoRA adapters");
  DAG_CHECK(uniform, "save_lora ", path, ": adapters with different rank/alpha are not supported in one file");
  Metadata meta{{"format", "pt"},
                {"dagalign.lora_rank", std::to_string(rank)},
                {"dagalign.lora_alpha", cat(alpha)},
                {"dagalign.lora_b_scaled", "1"}};
  write_safetensors(path, tensors, meta);
}

size_t load_lora(const std::string& path, torch::nn::Module& model, const std::string& prefix) {
  Metadata meta;
  TensorMap file = read_safetensors(path, &meta);
  bool any_prefixed = false;
  for (const auto& [k, v] : file) any_prefixed |= !prefix.empty() && k.rfind(prefix, 0) == 0;
  double meta_alpha = -1;
  bool b_scaled = meta.count("dagalign.lora_b_scaled") && meta.at("dagalign.lora_b_scaled") == "1";
  if (meta.count("dagalign.lora_alpha")) {
    try {
      meta_alpha = std::stod(meta.at("dagalign.lora_alpha"));
    } catch (const std::exception&) {
      throw Error(cat("LoRA file ", path, ": bad metadata dagalign.lora_alpha = '", meta.at("dagalign.lora_alpha"), "'"));
    }
  }

  std::map<std::string, FileAdapter> adapters;
  std::map<std::string, at::Tensor> alphas;
  for (const auto& [key, t] : file) {
    std::string k = key;
    if (any_prefixed) {
      if (k.rfind(prefix, 0) != 0) continue;  // another component's entries
      k = k.substr(prefix.size());
    }
    if (ends_with(k, ".alpha")) {
      alphas[k.substr(0, k.size() - 6)] = t;
      continue;
    }
    std::string mpath;
    char which;
    DAG_CHECK(parse_key(k, mpath, which), "LoRA file ", path, ": key '", key, "' is not a LoRA factor");
    auto& a = adapters[mpath];
    (which == 'A' ? a.A : a.B) = t;
    (which == 'A' ? a.key_A : a.key_B) = key;
  }
  DAG_CHECK(!adapters.empty(), "LoRA file ", path, ": no LoRA factors", prefix.empty() ? "" : " under prefix '",
            prefix, prefix.empty() ? "" : "'");

  auto layers = linear_layers(model);
  at::NoGradGuard ng;
  for (auto& [mpath, a] : adapters) {
    DAG_CHECK(a.A.defined() && a.B.defined(), "LoRA file ", path, ": layer '", mpath, "' has ",
              a.A.defined() ? a.key_A : a.key_B, " but not its ", a.A.defined() ? "B (up)" : "A (down)", " factor");
    auto it = layers.find(mpath);
    DAG_CHECK(it != layers.end(), "LoRA file ", path, ": key '", a.key_A, "' names no Linear layer '", mpath,
              "' of the model");
    auto& layer = it->second;
    const int64_t r = a.A.size(0);
    DAG_CHECK(a.A.dim() == 2 && a.A.size(1) == layer->in_features && a.B.dim() == 2 &&
                  a.B.size(0) == layer->out_features && a.B.size(1) == r,
              "LoRA file ", path, ": layer '", mpath, "' (in ", layer->in_features, ", out ", layer->out_features,
              ") cannot take A ", a.A.sizes(), " and B ", a.B.sizes());
    double alpha = static_cast<double>(r);  // diffusers' default: alpha = r
    at::Tensor B = a.B;
    if (alphas.count(mpath)) alpha = alphas.at(mpath).item<double>();
    if (meta_alpha > 0) {
      alpha = meta_alpha;
      if (b_scaled) B = B * (static_cast<double>(r) / alpha);  // undo the export's (alpha/r) folding
    }
    if (!layer->has_adapter()) {
      layer->add_adapter(r, alpha);
    } else {
      DAG_CHECK(layer->rank() == r, "LoRA file ", path, ": layer '", mpath, "' has rank ", r,
                " but the model's adapter has rank ", layer->rank());
      layer->set_alpha(alpha);
    }
    layer->lora_A->weight.copy_(a.A);
    layer->lora_B->weight.copy_(B);
  }
  return adapters.size();
}

void merge_lora(torch::nn::Module& model) {
  for (auto& [path, layer] : linear_layers(model))
    if (layer->has_adapter()) layer->merge_adapter();
}

}  // namespace dagalign
