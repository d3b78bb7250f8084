// Keys of `dagalign pretrain` and the config.json files of the tiny model they describe.
#include <nlohmann/json.hpp>

#include "dagalign/core/error.h"
#include "dagalign/diffusion/schedule.h"
#include "dagalign/train/pretrain.h"
#include "dagalign/train/signals.h"

namespace dagalign {

void TinyModelConfig::add_to(Config& c) {
  c.add("tiny.image_size", &image_size, "image side in pixels (the UNet works in pixel space)", positive())
      .add("tiny.channels", &channels, "UNet block_out_channels; blocks after the first use cross-attention", positive())
      .add("tiny.layers_per_block", &layers_per_block, "resnets per UNet down block", positive())
      .add("tiny.heads", &heads, "attention heads of the UNet transformers", positive())
      .add("tiny.groups", &groups, "GroupNorm groups of the UNet", positive())
      .add("tiny.text_hidden", &text_hidden, "CLIP text encoder width (= UNet cross_attention_dim)", positive())
      .add("tiny.text_layers", &text_layers, "CLIP text encoder layers", positive())
      .add("tiny.text_heads", &text_heads, "CLIP text encoder attention heads", positive())
      .add("tiny.text_intermediate", &text_intermediate, "CLIP text encoder MLP width", positive())
      .add("tiny.max_length", &max_length, "tokens per caption incl. start/end (model_max_length)", at_least(3))
      .add("tiny.beta_schedule", &beta_schedule, beta_schedules(), "noise schedule")
      .add("tiny.beta_start", &beta_start, "first beta of the schedule", in_range(0, 1, true))
      .add("tiny.beta_end", &beta_end, "last beta of the schedule", in_range(0, 1, true))
      .add("tiny.prediction_type", &prediction_type, prediction_types(),
           "UNet target (v = sqrt(abar) eps - sqrt(1-abar) x0)");
}

nlohmann::json TinyModelConfig::unet_json() const {
  const std::vector<int64_t>& ch = channels;
  if (ch.size() < 2) throw ConfigError(cat("tiny.channels: ", ch.size(), " level(s), at least two are needed"));
  for (int64_t c : ch)
    if (c % groups != 0 || c % heads != 0)
      throw ConfigError(cat("tiny.channels: ", c, " must be divisible by tiny.groups (", groups,
                            ") and tiny.heads (", heads, ")"));
  std::vector<std::string> down{"DownBlock2D"}, up;
  for (size_t i = 1; i < ch.size(); ++i) down.push_back("CrossAttnDownBlock2D");
  for (size_t i = 1; i < ch.size(); ++i) up.push_back("CrossAttnUpBlock2D");
  up.push_back("UpBlock2D");
  return {{"_class_name", "UNet2DConditionModel"},
          {"sample_size", image_size},
          {"in_channels", 3},
          {"out_channels", 3},
          {"block_out_channels", ch},
          {"down_block_types", down},
          {"up_block_types", up},
          {"mid_block_type", "UNetMidBlock2DCrossAttn"},
          {"layers_per_block", layers_per_block},
          {"attention_head_dim", heads},
          {"cross_attention_dim", text_hidden},
          {"norm_num_groups", groups},
          {"norm_eps", 1e-5},
          {"flip_sin_to_cos", true},
          {"freq_shift", 0},
          {"downsample_padding", 1}};
}

nlohmann::json TinyModelConfig::text_encoder_json(int64_t vocab_size, int64_t bos_id, int64_t eos_id) const {
  return {{"architectures", {"CLIPTextModel"}},
          {"model_type", "clip_text_model"},
          {"vocab_size", vocab_size},
          {"hidden_size", text_hidden},
          {"intermediate_size", text_intermediate},
          {"num_hidden_layers", text_layers},
          {"num_attention_heads", text_heads},
          {"max_position_embeddings", max_length},
          {"hidden_act", "quick_gelu"},
          {"layer_norm_eps", 1e-5},
          {"projection_dim", text_hidden},
          {"bos_token_id", bos_id},
          {"eos_token_id", eos_id},
          {"pad_token_id", eos_id}};
}

nlohmann::json TinyModelConfig::scheduler_json() const {
  return {{"_class_name", "DDIMScheduler"},
          {"num_train_timesteps", 1000},
          {"beta_start", beta_start},
          {"beta_end", beta_end},
          {"beta_schedule", beta_schedule},
          {"steps_offset", 1},
          {"clip_sample", true},  // pixel space: x0_hat clamped to the image range [-1, 1] in each DDIM step
          {"clip_sample_range", 1.0},
          {"set_alpha_to_one", false},
          {"prediction_type", prediction_type}};
}

void PretrainConfig::add_to(Config& c) {
  c.add("pretrain.out", &out, "diffusers folder the trained model (EMA weights) is exported to")
      .add("pretrain.dir", &dir, "run directory: resumable state, exported on every checkpoint")
      .add("pretrain.steps", &steps, "optimiser steps (0: export the initialised model)", at_least(0))
      .add("pretrain.batch", &batch, "images per step", positive())
      .add("pretrain.lr", &lr, "AdamW learning rate after warm-up", positive())
      .add("pretrain.warmup", &warmup, "linear learning-rate warm-up steps", at_least(0))
      .add("pretrain.weight_decay", &weight_decay, "AdamW decoupled weight decay", at_least(0))
      .add("pretrain.ema", &ema, "EMA decay of the exported weights", in_range(0, 1, true))
      .add("pretrain.cond_drop", &cond_drop, "probability that a caption is replaced by \"\" (for CFG)", in_range(0, 1))
      .add("pretrain.seed", &seed, "seed of the data, the noise and the initial weights")
      .add("pretrain.threads", &threads, "intra-op threads (0: all cores)", at_least(0))
      .add("pretrain.log_every", &log_every, "steps between progress lines", positive())
      .add("pretrain.checkpoint_every", &checkpoint_every, "steps between resumable checkpoints", positive())
      .add("pretrain.eval_every", &eval_every, "steps between prompt-fidelity checks of the EMA model (0: end only)",
           at_least(0))
      .add("pretrain.eval_samples", &eval_samples, "samples of a fidelity check (basic prompts; 0: none)", at_least(0))
      .add("pretrain.eval_steps", &eval_steps, "DDIM steps of a fidelity check", positive())
      .add("pretrain.guidance", &guidance, "CFG scale of a fidelity check")
      .add("pretrain.preempt_signal", &preempt_signal, preempt_signals(), "signal that checkpoints and exits 75");
}

}  // namespace dagalign
