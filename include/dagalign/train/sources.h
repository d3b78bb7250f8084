#pragma once
// The batch sources of the training loop (train/loop.h).
#include <memory>
#include <string>

#include "dagalign/train/loop.h"
#include "dagalign/train/replay.h"

namespace dagalign {

// On-policy (`dagalign train`): each epoch's trajectories sampled and scored by the trainer, every sampling
// batch written to run_dir/trajectories/seg-<epoch>.rank-<rank>.h5 as soon as it is scored
// (run.save_trajectories); with train.replay_fraction f > 0, stored rows of earlier epochs are appended
// (mix_stored_rows). finish() writes trajectories/index.h5.
std::unique_ptr<BatchSource> make_on_policy_source(Trainer& trainer, World& world, Communicator& comm,
                                                   const std::string& resolved_config);

// Stored (`dagalign replay`): each epoch's rows drawn from `set` by replay.sampling (replay_rows).
std::unique_ptr<BatchSource> make_stored_source(Trainer& trainer, const TrajectorySet& set, const ReplayConfig& rc,
                                                Communicator& comm);

}  // namespace dagalign
