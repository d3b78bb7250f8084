#include <cstdio>

#include "dagalign/cli/commands.h"
#include "dagalign/core/config.h"
#include "dagalign/core/log.h"
#include "dagalign/core/runtime.h"
#include "dagalign/dist/communicator.h"
#include "dagalign/train/replay.h"

namespace dagalign::cli {

int replay(const Args& raw) {
  // --trajectories GLOB is short for --replay.trajectories GLOB.
  Args args;
  for (const auto& a : raw) args.push_back(a == "--trajectories" ? "--replay.trajectories" : a);
  RunInputs in;
  ReplayConfig rc;
  Config config("dagalign replay");
  in.train.add_to(config);
  in.toy2d.add_to(config);
  in.diffusers.add_to(config);
  rc.add_to(config);
  if (!config.parse(args)) {
    std::printf("usage: dagalign replay --trajectories GLOB --config FILE.ini [--section.key value]...\n\n"
                "Trains the configured objective off-policy from stored HDF5 trajectories (rows drawn uniformly,\n"
                "by reward priority, or in stored order), with checkpoints, resume and preemption as train, and\n"
                "writes metrics, checkpoints and params-final.safetensors in replay.dir. A run's own config.ini\n"
                "is a valid --config (its beta schedule, train.epochs, is kept).\n\n%s",
                config.help().c_str());
    return 0;
  }
  in.train.finalize();
  apply_model_schedule(in.train);
  rc.finalize(in.train);
  in.resolved_config = config.resolved();
  if (config.check_only()) {
    TrajectorySet set(rc.trajectories, expected_trajectories(in));  // every file fits the configured world
    std::printf("%s", in.resolved_config.c_str());
    return 0;
  }
  auto comm = make_communicator();
  log::set_rank(comm->rank(), comm->size());
  const int threads = set_threads(in.train.run.threads, comm->local_size());
  log::info(cat("dagalign replay: ", comm->size(), " rank(s), ", threads, " thread(s) per rank, output ", rc.dir));
  return run_replay(in, rc, *comm);
}

}  // namespace dagalign::cli
