#pragma once
// Rewards by name (the INI key reward.name): jpeg_compressibility, jpeg_incompressibility, prompt_alignment,
// external. Options are INI keys under [reward].
#include <memory>
#include <string>
#include <vector>

#include "dagalign/core/config.h"
#include "dagalign/rewards/reward.h"

namespace dagalign {

struct RewardOptions {
  int jpeg_quality = 95;                     // reward.jpeg_quality
  std::string external_command;              // reward.external_command: scorer argv, whitespace-separated
  double external_timeout_s = 60;            // reward.external_timeout: seconds per batch
  double external_startup_timeout_s = 120;   // reward.external_startup_timeout: seconds to the hello message
  int external_retries = 1;                  // reward.external_retries: respawns per batch after crash/hang
  std::string aesthetic_clip;                // reward.aesthetic_clip: CLIP ViT-L/14 folder
  std::string aesthetic_head;                // reward.aesthetic_head: LAION MLP head (safetensors)

  // Registers the reward.* keys above (not reward.name, which the caller owns).
  void add_to(Config& c);
};

// The reward called `name`; ConfigError naming the key and the known names when it is unknown.
std::unique_ptr<Reward> make_reward(const std::string& name, const RewardOptions& options = {});
std::vector<std::string> reward_names();

}  // namespace dagalign
