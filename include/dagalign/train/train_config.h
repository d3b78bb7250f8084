#pragma once
// All settings of a training run, registered as INI keys (see `dagalign train --help`).
#include <string>

#include "dagalign/algo/adamw.h"
#include "dagalign/algo/objective.h"
#include "dagalign/core/config.h"
#include "dagalign/diffusion/sampler.h"
#include "dagalign/diffusion/schedule.h"
#include "dagalign/train/signals.h"

namespace dagalign {

enum class LrDecay { kNone, kCosine };

struct RunConfig {
  std::string name = "run";
  std::string dir = "runs/run";           // run directory (config, metrics, samples, checkpoints, trajectories)
  int64_t seed = 0;
  int threads = 0;                        // LibTorch threads per rank; 0: cores / local ranks
  std::string resume = "auto";            // auto (newest valid checkpoint in dir, if any) | none | FILE
  std::string preempt_signal = "USR2";    // preempt_signals()
  int checkpoint_every = 1;               // epochs
  int keep_checkpoints = 3;
  bool save_trajectories = true;          // HDF5 trajectory store
  int trajectory_deflate = 0;             // 0: off, 1-9: deflate level
  int preview_prompts = 4;                // samples-before/after.png: prompts (rows); 0: no grids
  int preview_seeds = 4;                  // samples-before/after.png: seeds (columns), the same before and after
};

struct TrainerConfig {
  RunConfig run;
  std::string model = "toy2d";            // toy2d | a diffusers folder
  ScheduleConfig schedule;
  SamplerConfig sampler;
  int sample_batch_size = 16;             // trajectories per sampling batch (per rank)
  int sample_batches = 4;                 // sampling batches per epoch (per rank)
  int epochs = 100;
  int batch_size = 8;                     // trajectories per training micro-batch (per rank)
  int grad_accum = 4;                     // micro-batches per optimiser step
  double max_grad_norm = 1.0;             // clipped separately for the policy and the flow
  AdamWConfig adam;
  LrDecay lr_decay = LrDecay::kNone;      // cosine: lr_e = lr (1 + cos(pi e / epochs)) / 2
  double flow_lr = 0;                     // AdamW lr of the flow network; 0: adam.lr (as DAG's code)
  int flow_warmup_epochs = 0;             // DAG: the first epochs train the flow only (policy lr 0)
  ObjectiveConfig objective;
  double replay_fraction = 0;             // share of each update from earlier epochs' stored trajectories
  bool per_prompt_stats = true;           // DDPO advantages from per-prompt statistics
  int stat_buffer = 16, stat_min_count = 16;

  void add_to(Config& c);
  // After parsing: derived settings and cross-key checks (throws ConfigError naming the keys).
  void finalize();
  int trajectories_per_epoch() const { return sample_batch_size * sample_batches; }  // per rank
  double lr_at(int epoch) const;  // train.lr under train.lr_decay in this (0-based) epoch
};

}  // namespace dagalign
