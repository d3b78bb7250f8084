#include "dagalign/cli/pipeline_loading.h"

#include <filesystem>

#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/core/timer.h"
#include "dagalign/models/lora.h"

namespace fs = std::filesystem;

namespace dagalign::cli {

std::string lora_file(const std::string& path) {
  if (fs::path(path).extension() != ".h5") return path;
  // A training checkpoint (checkpoints/epoch-000020.h5): the loop writes the policy's LoRA beside it.
  const auto beside = fs::path(path).replace_extension(".lora.safetensors");
  if (!fs::exists(path)) throw ConfigError(cat("--lora: checkpoint '", path, "' does not exist"));
  if (!fs::exists(beside))
    throw ConfigError(cat("--lora: checkpoint '", path, "' has no LoRA beside it ('", beside.string(),
                          "'; the checkpoints of text-to-image runs have one)"));
  return beside.string();
}

SDPipeline load_pipeline(const std::string& command, const std::string& model, const std::string& variant,
                         const std::string& lora) {
  if (model.empty()) throw ConfigError(cat(command, ": --model DIR is required"));
  Stopwatch sw;
  SDPipeline pipe = SDPipeline::load(model, variant);
  if (!lora.empty()) {
    const std::string file = lora_file(lora);
    const size_t n = load_lora(file, *pipe.unet);
    log::info(cat(command, ": LoRA ", file, ": ", n, " layers"));
  }
  log::info(cat(command, ": loaded ", model, pipe.vae ? "" : " (pixel space)", " in ", sw.seconds(), " s"));
  return pipe;
}

}  // namespace dagalign::cli
