#pragma once
// The training state a checkpoint holds, so that a resumed run is bitwise identical to an uninterrupted
// one on CPU: trainable tensors, AdamW moments and step, the optimiser-step counter (policy version),
// DDPO's per-prompt statistics, and the next epoch. No generator state is stored: every random stream
// is derived from (seed, purpose, epoch, trajectory) (core/rng.h), so epoch e draws the same numbers
// whether or not the run was interrupted before it.
#include "dagalign/io/checkpoint.h"
#include "dagalign/train/trainer.h"

namespace dagalign {

CheckpointData capture_state(Trainer& trainer, int next_epoch, const std::string& config_text);
// Restores into the trainer; returns the epoch to continue with. Errors name the file and the tensor.
int restore_state(Trainer& trainer, const CheckpointData& ckpt);

}  // namespace dagalign
