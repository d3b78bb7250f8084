#include "dagalign/rewards/factory.h"

#include "dagalign/core/error.h"
#include "dagalign/rewards/aesthetic.h"
#include "dagalign/rewards/external.h"
#include "dagalign/rewards/jpeg.h"
#include "dagalign/rewards/prompt_alignment.h"

namespace dagalign {

void RewardOptions::add_to(Config& c) {
  c.add("reward.jpeg_quality", &jpeg_quality, "JPEG quality of the (in)compressibility rewards", in_range(1, 100))
      .add("reward.external_command", &external_command, "external reward: scorer command line (argv, whitespace-separated), e.g. "
           "'/usr/bin/python3 tools/rewards/jpeg_size_scorer.py'")
      .add("reward.external_timeout", &external_timeout_s, "external reward: seconds per batch before the scorer counts as hung", positive())
      .add("reward.external_startup_timeout", &external_startup_timeout_s, "external reward: seconds from start to the scorer's hello", positive())
      .add("reward.external_retries", &external_retries, "external reward: restarts per batch after a crash or hang", at_least(0))
      .add("reward.aesthetic_clip", &aesthetic_clip, "aesthetic reward: folder of the CLIP ViT-L/14 model (config.json + model.safetensors)")
      .add("reward.aesthetic_head", &aesthetic_head, "aesthetic reward: LAION MLP head as safetensors (tools/golden/clip_aesthetic_convert.py)");
}

std::vector<std::string> reward_names() {
  return {"jpeg_compressibility", "jpeg_incompressibility", "prompt_alignment", "aesthetic", "external"};
}

std::unique_ptr<Reward> make_reward(const std::string& name, const RewardOptions& o) {
  if (name == "jpeg_compressibility") return std::make_unique<JpegReward>(true, o.jpeg_quality);
  if (name == "jpeg_incompressibility") return std::make_unique<JpegReward>(false, o.jpeg_quality);
  if (name == "prompt_alignment") return std::make_unique<PromptAlignmentReward>();
  if (name == "aesthetic") {
    if (o.aesthetic_clip.empty() || o.aesthetic_head.empty())
      throw ConfigError("reward.name = aesthetic needs reward.aesthetic_clip and reward.aesthetic_head");
    return AestheticReward::from_files(o.aesthetic_clip, o.aesthetic_head);
  }
  if (name == "external") {
    ExternalOptions e;
    e.command = split_command(o.external_command);
    if (e.command.empty())
      throw ConfigError("reward.name = external needs reward.external_command (the scorer command line)");
    e.timeout_s = o.external_timeout_s;
    e.startup_timeout_s = o.external_startup_timeout_s;
    e.retries = o.external_retries;
    return std::make_unique<ExternalReward>(std::move(e));
  }
  std::string known;
  for (const auto& n : reward_names()) known += (known.empty() ? "" : ", ") + n;
  throw ConfigError(cat("reward.name: unknown reward '", name, "' (known: ", known, ")"));
}

}  // namespace dagalign
