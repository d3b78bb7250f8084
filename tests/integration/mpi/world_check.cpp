// Start-up as `dagalign` does it (MpiSession, make_communicator, banner, one collective), for the Slurm
// launch test tests/integration/mpi/slurm_world.sh: under srun with PMIx it must see the whole world; without
// (N singletons) it must stop with the Slurm world-size error and a non-zero exit.
#include <exception>

#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/dist/communicator.h"

int main(int argc, char** argv) {
  dagalign::MpiSession mpi(&argc, &argv);
  int code = 0;
  try {
    auto comm = dagalign::make_communicator();
    dagalign::log_startup(*comm);
    int64_t ranks_seen = int64_t(comm->allreduce_sum(1.0));
    dagalign::log::info_all(dagalign::cat("world check: ", ranks_seen, " rank(s) answered"));
  } catch (const std::exception& e) {
    dagalign::log::error(e.what());
    code = 1;
  }
  return mpi.finish(code);
}
