#pragma once
// Loading a text-to-image model for the commands that sample one (sample, eval): a diffusers folder
// (SD 1.5 or the pixel-space tiny-shapes model), its weights variant and an optional LoRA file, logged
// under the command's name.
#include <string>

#include "dagalign/models/sd_pipeline.h"

namespace dagalign::cli {

// The LoRA safetensors file of a --lora argument: the file itself, or for a training checkpoint
// (epoch-000020.h5) the policy export the loop writes beside it (epoch-000020.lora.safetensors).
std::string lora_file(const std::string& path);

// SDPipeline::load(model, variant), then load_lora(lora_file(lora), unet) when lora is not empty. `command` prefixes
// the log lines ("sample: loaded DIR in 1.2 s").
SDPipeline load_pipeline(const std::string& command, const std::string& model, const std::string& variant,
                         const std::string& lora);

}  // namespace dagalign::cli
