// dagalign sample --model DIR --prompt "..." --num 8 --steps 50 --guidance 5 --seed 1 --out grid.png [--lora FILE]
// Text-to-image with a diffusers Stable Diffusion folder: DDIM (eta from --eta) with classifier-free
// guidance; image i uses seed + i (x_T and every step's noise from its own generator, so image i is the
// same whatever --num is). Writes the PNG grid (prompt and seed under each cell) and OUT.json with the
// prompt, seeds and sampler settings.
#include <cstdio>
#include <fstream>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "dagalign/cli/commands.h"
#include "dagalign/cli/pipeline_loading.h"
#include "dagalign/core/config.h"
#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/core/runtime.h"
#include "dagalign/core/timer.h"
#include "dagalign/io/png.h"

namespace dagalign::cli {

int sample(const Args& args) {
  std::string model, prompt, out = "grid.png", lora, variant;
  int num = 8, steps = 50, threads = 0;
  int64_t seed = 1, height = 0, width = 0;
  double guidance = 5.0, eta = 1.0;
  Config cfg("dagalign sample");
  cfg.add("model", &model, "diffusers Stable Diffusion folder (model_index.json, unet/, vae/, ...)")
      .add("prompt", &prompt, "text prompt")
      .add("num", &num, "number of images (image i uses seed + i)", positive())
      .add("steps", &steps, "DDIM steps", positive())
      .add("guidance", &guidance, "classifier-free guidance scale (1: conditional only)")
      .add("eta", &eta, "DDIM eta", positive())
      .add("seed", &seed, "seed of the first image")
      .add("height", &height, "image height (0: the UNet's sample_size x VAE factor)", at_least(0))
      .add("width", &width, "image width (0: as height's default)", at_least(0))
      .add("lora", &lora, "LoRA to apply: a safetensors file (diffusers/peft keys, 'unet.' prefix, e.g. a run's lora-final.safetensors) "
           "or a run's checkpoint (checkpoints/epoch-N.h5: its epoch-N.lora.safetensors)")
      .add("variant", &variant, "weights variant, e.g. fp16")
      .add("out", &out, "output PNG grid (OUT.json gets prompt, seeds, settings)")
      .add("threads", &threads, "LibTorch threads (0: all cores available)", at_least(0));
  if (!cfg.parse(args)) {
    std::printf("%s", cfg.help().c_str());
    return 0;
  }
  set_threads(threads);

  SDPipeline pipe = load_pipeline("sample", model, variant, lora);
  std::vector<std::string> prompts(num, prompt);
  std::vector<uint64_t> seeds;
  for (int i = 0; i < num; ++i) seeds.push_back(uint64_t(seed + i));
  SamplerConfig sc;
  sc.steps = steps;
  sc.guidance = guidance;
  sc.eta = eta;
  sc.keep_eps = false;
  Stopwatch gen;
  auto result = pipe.generate(prompts, seeds, sc, height, width);
  log::info(cat("sample: ", num, " images, ", steps, " steps in ", gen.seconds(), " s"));

  GridOptions go;
  go.sidecar = false;
  for (int i = 0; i < num; ++i) go.labels.push_back(cat("seed=", seeds[i], " ", prompt));
  write_image_grid(out, result.images, go);
  nlohmann::json side = {{"model", model},          {"prompt", prompt},      {"lora", lora},
                         {"steps", steps},          {"guidance", guidance},  {"eta", eta},
                         {"height", result.images.size(2)}, {"width", result.images.size(3)},
                         {"seeds", seeds},          {"prompts", prompts},    {"git", git_revision()}};
  const std::string side_path = out + ".json";
  std::ofstream f(side_path);
  f << side.dump(2) << "\n";
  DAG_CHECK(f.good(), "sample: cannot write ", side_path);
  std::printf("wrote %s and %s\n", out.c_str(), side_path.c_str());
  return 0;
}

}  // namespace dagalign::cli
