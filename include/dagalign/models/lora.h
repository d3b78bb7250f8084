#pragma once
// LoRA on the LoraLinear layers of a model (UNet, text encoder, ...): which layers, init, freezing,
// export/import in the format diffusers' `load_lora_weights` reads, and merging into the base weights.
//
// File format (peft / diffusers >= 0.24, what `StableDiffusionPipeline.save_lora_weights` writes):
//   "<prefix><module path>.lora_A.weight" [r, in],  "<prefix><module path>.lora_B.weight" [out, r]
// with prefix "unet." for the UNet. diffusers reads no alpha from such a file and uses alpha = r (scale 1),
// so the exporter stores B' = (alpha / r) B; the file's __metadata__ keeps rank and alpha
// ("dagalign.lora_rank", "dagalign.lora_alpha", "dagalign.lora_b_scaled" = "1") so that import restores B
// and alpha exactly. Import also reads per-layer "<path>.alpha" scalars and the older diffusers
// attention-processor names "<path>.processor.to_q_lora.down.weight" / ".up.weight" (to_out_lora -> to_out.0).
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

namespace torch::nn { class Module; }

namespace dagalign {

struct LoraConfig {
  int64_t rank = 4;
  double alpha = 4.0;
  // A layer is a target when its path equals an entry or ends with "." + entry.
  std::vector<std::string> targets{"to_q", "to_k", "to_v", "to_out.0"};
};

// Adds an adapter to every targeted LoraLinear (A ~ N(0, (1/r)^2), B = 0), freezes every other
// parameter of `model` (requires_grad false) and returns the adapted layer paths (sorted). Throws when no
// layer matches a target entry, naming it.
std::vector<std::string> apply_lora(torch::nn::Module& model, const LoraConfig& config, at::Generator gen);

// The adapter factors in path order (A then B of each layer): what the optimiser trains.
std::vector<at::Tensor> lora_parameters(torch::nn::Module& model);
// Paths of the layers that carry an adapter.
std::vector<std::string> lora_layers(torch::nn::Module& model);

// Writes the adapters as described above (float32). Throws if the model has none.
void save_lora(const std::string& path, torch::nn::Module& model, const std::string& prefix = "unet.");
// Reads adapters from `path` into `model`: layers without an adapter get one (rank from the file, alpha
// from metadata / ".alpha" keys, else alpha = rank); existing adapters must have the file's rank. Keys not
// starting with `prefix` are ignored (e.g. "text_encoder." entries) unless no key has the prefix, in which
// case keys are taken as unprefixed paths. Throws naming the file and key for unknown layers, shapes
// that do not fit, or an A without B. Returns the number of adapted layers read.
size_t load_lora(const std::string& path, torch::nn::Module& model, const std::string& prefix = "unet.");

// W <- W + (alpha/r) B A for every adapter, then drops the adapters.
void merge_lora(torch::nn::Module& model);

}  // namespace dagalign
