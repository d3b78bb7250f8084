#pragma once
// The text-to-image world over a diffusers Stable Diffusion folder (SD 1.5 with its VAE, or the pixel-space
// tiny-shapes model without one), as DAG trains it (docs/algorithms.md):
//   policy  = the folder's UNet with LoRA (model.lora_targets, default the attention projections; base frozen)
//   flow    = ConditionalFlow (models/conditional_flow.h), trained from scratch, initialised from the run seed
//             (built on first use: DDPO runs never build it)
//   prompts = each trajectory's prompt drawn uniformly (with replacement) from a prompt list by its own seed:
//             a named prompt set of the tiny world ("train", "heldout", ...) or a text file, one per line
//   cond    = text_encoder(tokenizer(prompt)) (no gradient), uncond = the "" embedding
//   decode  = the pipeline's decoder (VAE, or x / 2 + 0.5 clamped to [0, 1] in pixel space)
//   reward  = reward.name through rewards/factory.h
// The state is (unet in_channels, sample_size, sample_size); the noise schedule is the folder's scheduler/.
#include <memory>
#include <string>
#include <vector>

#include "dagalign/core/config.h"
#include "dagalign/rewards/factory.h"
#include "dagalign/train/world.h"

namespace dagalign {

struct DiffusersWorldConfig {
  std::string variant;                             // model.variant: weights variant ("" or e.g. fp16)
  int64_t lora_rank = 4;                           // model.lora_rank
  double lora_alpha = 4.0;                         // model.lora_alpha
  std::vector<std::string> lora_targets = {"to_q", "to_k", "to_v", "to_out.0"};  // model.lora_targets
  std::string prompts = "train";                   // model.prompts: set name or file
  bool gradient_checkpointing = false;             // model.gradient_checkpointing
  std::vector<int64_t> flow_channels = {64, 128, 256, 256};  // flow.channels (DAG's SD 1.5 flow)
  int64_t flow_heads = 8;                          // flow.heads
  int64_t flow_groups = 32;                        // flow.groups
  int64_t flow_layers_per_block = 1;               // flow.layers_per_block
  std::string flow_block_types = "unet";           // flow.block_types: unet | dag | comma list of block types
  bool flow_state_input = true;                    // flow.state_input: false = log F~(t, c) only
  std::string reward = "jpeg_compressibility";     // reward.name
  RewardOptions reward_options;                    // reward.*
  void add_to(Config& c);
};

// True when `path` is a directory holding model_index.json.
bool is_diffusers_folder(const std::string& path);

// The prompts of model.prompts: "all", "basic", "train", "heldout" (shapes/prompt_sets.h), else a UTF-8
// text file with one prompt per line (surrounding blanks trimmed, blank lines skipped). ConfigError naming
// the key and value when it is neither or holds no prompt.
std::vector<std::string> load_prompt_list(const std::string& spec);

// Cross-attention flag per flow block from flow.block_types: "unet" copies the policy UNet's
// down_block_types (needs as many flow blocks as UNet blocks; SD 1.5's are DAG's layout), "dag" is
// CrossAttnDownBlock2D on all but the last block, else a comma list of CrossAttnDownBlock2D / DownBlock2D.
std::vector<bool> flow_cross_attention(const std::string& spec, size_t blocks,
                                       const std::vector<std::string>& unet_down_block_types);

// The index in [0, n) that a trajectory's prompt seed picks: uniform, depends on that seed only.
size_t prompt_index(uint64_t prompt_seed, size_t n);

std::unique_ptr<World> make_diffusers_world(const DiffusersWorldConfig& cfg, const std::string& folder, uint64_t seed);

}  // namespace dagalign
