#include "dagalign/train/sources.h"

#include <filesystem>

#include <ATen/ATen.h>

#include "dagalign/core/log.h"
#include "dagalign/core/rng.h"
#include "dagalign/io/trajectory_store.h"

namespace dagalign {

namespace {

class OnPolicySource : public BatchSource {
 public:
  OnPolicySource(Trainer& trainer, World& world, Communicator& comm, std::string config)
      : trainer_(trainer), world_(world), comm_(comm), config_(std::move(config)) {
    if (trainer.config().run.save_trajectories)
      std::filesystem::create_directories(std::filesystem::path(trainer.config().run.dir) / "trajectories");
  }

  EpochRows next(int epoch) override {
    const auto& cfg = trainer_.config();
    std::unique_ptr<TrajectoryWriter> store;
    if (cfg.run.save_trajectories) {
      TrajectoryFileMeta meta;
      meta.run_name = cfg.run.name;
      meta.rank = comm_.rank();
      meta.world_size = comm_.size();
      meta.segment = epoch;
      meta.model_id = world_.model_id();
      meta.steps = cfg.sampler.steps;
      meta.eta = cfg.sampler.eta;
      meta.guidance = cfg.sampler.guidance;
      meta.algorithm = algorithm_name(cfg.objective.algorithm);
      meta.config = config_;
      TrajectoryStoreOptions opt;
      opt.deflate = cfg.run.trajectory_deflate;
      store = std::make_unique<TrajectoryWriter>(trajectory_segment_path(cfg.run.dir, epoch, comm_.rank()), meta, opt);
    }
    EpochRows rows;
    rows.batch = trainer_.sample_epoch(epoch, store.get());
    if (store) store->close();
    rows.reward_rows = rows.batch.size();
    if (cfg.replay_fraction > 0) {
      auto scope = trainer_.timer().scope("io");
      TrajectoryExpect expect{world_.model_id(), world_.state_shape(), cfg.sampler.steps};
      rows.batch = mix_stored_rows(rows.batch, cfg.run.dir, epoch, comm_.rank(), cfg.replay_fraction,
                                   int64_t(cfg.batch_size) * cfg.grad_accum, uint64_t(cfg.run.seed), expect);
    }
    return rows;
  }

  void finish() override {
    if (trainer_.config().run.save_trajectories) write_trajectory_index(trainer_.config().run.dir);
  }

 private:
  Trainer& trainer_;
  World& world_;
  Communicator& comm_;
  std::string config_;
};

class StoredSource : public BatchSource {
 public:
  StoredSource(Trainer& trainer, const TrajectorySet& set, const ReplayConfig& rc, Communicator& comm)
      : trainer_(trainer), set_(set), rc_(rc), comm_(comm), rewards_(set.rewards()) {}

  EpochRows next(int epoch) override {
    auto scope = trainer_.timer().scope("io");
    auto gen = make_generator(stream_seed(uint64_t(trainer_.config().run.seed), Purpose::kReplay, epoch, comm_.rank()));
    EpochRows rows;
    rows.batch = set_.gather(replay_rows(rewards_, rc_, epoch, comm_.rank(), comm_.size(), gen));
    rows.reward_rows = rows.batch.size();
    return rows;
  }

 private:
  Trainer& trainer_;
  const TrajectorySet& set_;
  ReplayConfig rc_;
  Communicator& comm_;
  at::Tensor rewards_;
};

}  // namespace

std::unique_ptr<BatchSource> make_on_policy_source(Trainer& trainer, World& world, Communicator& comm,
                                                   const std::string& resolved_config) {
  return std::make_unique<OnPolicySource>(trainer, world, comm, resolved_config);
}

std::unique_ptr<BatchSource> make_stored_source(Trainer& trainer, const TrajectorySet& set, const ReplayConfig& rc,
                                                Communicator& comm) {
  return std::make_unique<StoredSource>(trainer, set, rc, comm);
}

}  // namespace dagalign
