#pragma once
// The before/after sample grid of a text-to-image run (samples-before.png, samples-after.png).
#include <string>

#include "dagalign/diffusion/schedule.h"
#include "dagalign/train/train_config.h"
#include "dagalign/train/world.h"

namespace dagalign {

// run.preview_prompts prompts spread over the world's prompt list (rows) x run.preview_seeds seeds
// (columns); cell (p, j) uses the seed stream_seed(run.seed, kEval, 0, j) whatever the epoch, so the two
// grids show the same noise under the policy before and after training. Labels: reward and prompt.
// No-op for worlds without prompts (toy2d).
void write_sample_grid(World& world, const TrainerConfig& cfg, const NoiseSchedule& schedule, const std::string& path);

}  // namespace dagalign
