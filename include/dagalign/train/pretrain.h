#pragma once
// `dagalign pretrain`: trains the tiny text-to-image model of the shapes world from scratch, a pixel-space
// Stable-Diffusion-architecture model (UNet2DConditionModel with cross-attention, CLIP text encoder, a BPE
// vocabulary built for the caption language, identity decoder), and exports it as a diffusers folder that
// SDPipeline::load reads like SD 1.5.
//
// One step (batch B of data samples step*B .. step*B+B-1, each caption replaced by "" with p = cond_drop
// so that classifier-free guidance has an unconditional branch):
//   x_0 = 2 image - 1,  t ~ U{0..N-1},  eps ~ N(0, I),  x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps
//   L = mean ||eps_theta(x_t, t, text_encoder(caption)) - eps||^2        (UNet and text encoder trained)
//   AdamW, lr linear warm-up then constant, gradient norm clipped to 1;
//   EMA:  theta_ema = d theta_ema + (1 - d) theta,  d = min(ema, (1 + k) / (10 + k))   (exported)
// Every draw depends only on (seed, step), so a resumed run is the uninterrupted one.
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "dagalign/core/config.h"

namespace dagalign {

// The architecture (tiny.* keys), written into the folder's config.json files.
struct TinyModelConfig {
  int64_t image_size = 32;
  std::vector<int64_t> channels = {32, 64, 64};  // UNet block_out_channels; blocks after the first have cross-attention
  int64_t layers_per_block = 1;
  int64_t heads = 4;                  // attention heads per transformer block
  int64_t groups = 8;                 // GroupNorm groups
  int64_t text_hidden = 64, text_layers = 2, text_heads = 2, text_intermediate = 256;
  int64_t max_length = 16;            // tokens per caption, with <|startoftext|> and <|endoftext|>
  std::string beta_schedule = "linear";     // one of beta_schedules()
  double beta_start = 1e-4, beta_end = 0.02;
  std::string prediction_type = "epsilon";  // one of prediction_types(): the UNet's training target
  void add_to(Config& c);

  nlohmann::json unet_json() const;
  nlohmann::json text_encoder_json(int64_t vocab_size, int64_t bos_id, int64_t eos_id) const;
  nlohmann::json scheduler_json() const;
};

struct PretrainConfig {
  std::string out = "models/tiny-shapes";        // the exported diffusers folder
  std::string dir = "runs/pretrain-tiny-shapes";  // checkpoint, log
  int64_t steps = 4000, batch = 64;
  double lr = 1e-3, weight_decay = 0.0, ema = 0.999, cond_drop = 0.1;
  int64_t warmup = 200;
  int64_t seed = 0;
  int threads = 2;
  int64_t log_every = 50, checkpoint_every = 250, eval_every = 1000;
  int64_t eval_samples = 64, eval_steps = 20;
  double guidance = 3.0;
  std::string preempt_signal = "USR1";
  void add_to(Config& c);
};

// Runs (or resumes from <dir>/pretrain-state.safetensors) and exports; returns the exit code
// (0, or kPreemptedExitCode after a checkpoint on the preemption signal).
int run_pretrain(const PretrainConfig& cfg, const TinyModelConfig& model, const std::string& resolved_config);

}  // namespace dagalign
