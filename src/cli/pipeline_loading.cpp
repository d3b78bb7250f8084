#include "dagalign/cli/pipeline_loading.h"

#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/core/timer.h"
#include "dagalign/models/lora.h"

namespace dagalign::cli {

SDPipeline load_pipeline(const std::string& command, const std::string& model, const std::string& variant,
                         const std::string& lora) {
  if (model.empty()) throw ConfigError(cat(command, ": --model DIR is required"));
  Stopwatch sw;
  SDPipeline pipe = SDPipeline::load(model, variant);
  if (!lora.empty()) {
    const size_t n = load_lora(lora, *pipe.unet);
    log::info(cat(command, ": LoRA ", lora, ": ", n, " layers"));
  }
  log::info(cat(command, ": loaded ", model, pipe.vae ? "" : " (pixel space)", " in ", sw.seconds(), " s"));
  return pipe;
}

}  // namespace dagalign::cli
