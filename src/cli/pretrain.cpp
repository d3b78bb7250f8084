#include <cstdio>

#include "dagalign/cli/commands.h"
#include "dagalign/core/config.h"
#include "dagalign/train/pretrain.h"

namespace dagalign::cli {

int pretrain(const Args& args) {
  PretrainConfig cfg;
  TinyModelConfig model;
  Config config("dagalign pretrain");
  cfg.add_to(config);
  model.add_to(config);
  if (!config.parse(args)) {
    std::printf("usage: dagalign pretrain --config configs/tiny-shapes/pretrain.ini [--section.key value]...\n\n"
                "Trains the tiny pixel-space text-to-image model (SD-architecture UNet + CLIP text encoder + a BPE\n"
                "vocabulary of the caption language) on the procedural shapes world from scratch, and exports it\n"
                "as a diffusers folder (pretrain.out). Resumable: rerun the same command after an interruption.\n\n%s",
                config.help().c_str());
    return 0;
  }
  if (config.check_only()) {
    std::printf("%s", config.resolved().c_str());
    return 0;
  }
  return run_pretrain(cfg, model, config.resolved());
}

}  // namespace dagalign::cli
