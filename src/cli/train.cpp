#include <cstdio>

#include "dagalign/cli/commands.h"
#include "dagalign/core/config.h"
#include "dagalign/core/log.h"
#include "dagalign/core/runtime.h"
#include "dagalign/dist/communicator.h"
#include "dagalign/train/run.h"

namespace dagalign::cli {

int train(const Args& args) {
  RunInputs in;
  Config config("dagalign train");
  in.train.add_to(config);
  in.toy2d.add_to(config);
  in.diffusers.add_to(config);
  if (!config.parse(args)) {
    std::printf("usage: dagalign train --config FILE.ini [--section.key value]...\n\n"
                "Aligns a diffusion model with a reward: each epoch samples trajectories on every rank, scores\n"
                "them, and trains DAG-DB, DAG-KL or DDPO on their transitions.\n\n%s",
                config.help().c_str());
    return 0;
  }
  in.train.finalize();
  apply_model_schedule(in.train);  // a diffusers folder's scheduler/ sets schedule.* (shown in the resolved config)
  in.resolved_config = config.resolved();
  if (config.check_only()) {
    expected_trajectories(in);             // model.path names a supported world (reads no weights)
    load_prompt_list(in.diffusers.prompts);  // model.prompts names a set or a readable file
    std::printf("%s", in.resolved_config.c_str());
    return 0;
  }
  auto comm = make_communicator();
  log::set_rank(comm->rank(), comm->size());
  const int threads = set_threads(in.train.run.threads, comm->local_size());
  log::info(cat("dagalign train: ", comm->size(), " rank(s), ", threads, " thread(s) per rank, ", blas_kernels(),
                ", run dir ", in.train.run.dir, "\n--- resolved configuration ---\n", in.resolved_config,
                "------------------------------"));
  return run_training(in, *comm);
}

}  // namespace dagalign::cli
