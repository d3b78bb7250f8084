// Keys of `dagalign pretrain` and the config.json files of the tiny model they describe.
#include <nlohmann/json.hpp>

#include "dagalign/core/error.h"
#include "dagalign/train/pretrain.h"

namespace dagalign {

void TinyModelConfig::add_to(Config& c) {
  c.add("tiny.image_size", &image_size, image_size, "image side in pixels (the UNet works in pixel space)")
      .add("tiny.channels", &channels, channels, "UNet block_out_channels; blocks after the first use cross-attention")
      .add("tiny.layers_per_block", &layers_per_block, layers_per_block, "resnets per UNet down block")
      .add("tiny.heads", &heads, heads, "attention heads of the UNet transformers")
      .add("tiny.groups", &groups, groups, "GroupNorm groups of the UNet")
      .add("tiny.text_hidden", &text_hidden, text_hidden, "CLIP text encoder width (= UNet cross_attention_dim)")
      .add("tiny.text_layers", &text_layers, text_layers, "CLIP text encoder layers")
      .add("tiny.text_heads", &text_heads, text_heads, "CLIP text encoder attention heads")
      .add("tiny.text_intermediate", &text_intermediate, text_intermediate, "CLIP text encoder MLP width")
      .add("tiny.max_length", &max_length, max_length, "tokens per caption incl. start/end (model_max_length)")
      .add("tiny.beta_schedule", &beta_schedule, beta_schedule, "noise schedule: linear or scaled_linear")
      .add("tiny.beta_start", &beta_start, beta_start, "first beta of the schedule")
      .add("tiny.beta_end", &beta_end, beta_end, "last beta of the schedule")
      .add("tiny.prediction_type", &prediction_type, prediction_type,
           "UNet target: epsilon or v_prediction (v = sqrt(abar) eps - sqrt(1-abar) x0)");
}

nlohmann::json TinyModelConfig::unet_json() const {
  std::vector<int64_t> ch;
  for (const auto& s : split_list(channels)) ch.push_back(std::stoll(s));
  if (ch.size() < 2) throw ConfigError(cat("tiny.channels: '", channels, "' needs at least two levels"));
  for (int64_t c : ch)
    if (c <= 0 || c % groups != 0 || c % heads != 0)
      throw ConfigError(cat("tiny.channels: ", c, " must be positive and divisible by tiny.groups (", groups,
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
  c.add("pretrain.out", &out, out, "diffusers folder the trained model (EMA weights) is exported to")
      .add("pretrain.dir", &dir, dir, "run directory: resumable state, exported on every checkpoint")
      .add("pretrain.steps", &steps, steps, "optimiser steps")
      .add("pretrain.batch", &batch, batch, "images per step")
      .add("pretrain.lr", &lr, lr, "AdamW learning rate after warm-up")
      .add("pretrain.warmup", &warmup, warmup, "linear learning-rate warm-up steps")
      .add("pretrain.weight_decay", &weight_decay, weight_decay, "AdamW decoupled weight decay")
      .add("pretrain.ema", &ema, ema, "EMA decay of the exported weights")
      .add("pretrain.cond_drop", &cond_drop, cond_drop, "probability that a caption is replaced by \"\" (for CFG)")
      .add("pretrain.seed", &seed, seed, "seed of the data, the noise and the initial weights")
      .add("pretrain.threads", &threads, threads, "intra-op threads")
      .add("pretrain.log_every", &log_every, log_every, "steps between progress lines")
      .add("pretrain.checkpoint_every", &checkpoint_every, checkpoint_every, "steps between resumable checkpoints")
      .add("pretrain.eval_every", &eval_every, eval_every, "steps between prompt-fidelity checks of the EMA model (0: end only)")
      .add("pretrain.eval_samples", &eval_samples, eval_samples, "samples of a fidelity check (basic prompts)")
      .add("pretrain.eval_steps", &eval_steps, eval_steps, "DDIM steps of a fidelity check")
      .add("pretrain.guidance", &guidance, guidance, "CFG scale of a fidelity check")
      .add("pretrain.preempt_signal", &preempt_signal, preempt_signal, "signal that checkpoints and exits 75");
}

}  // namespace dagalign
