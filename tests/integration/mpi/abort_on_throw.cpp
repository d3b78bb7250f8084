// The process-level error path under `mpirun -np 2` (driven by tests/integration/mpi/expect_abort.sh): rank 1 fails
// in step 3 while rank 0 waits in a collective for it.
//   (default)   rank 1 throws; main() catches, logs and returns MpiSession::finish(1) -> MPI_Abort.
//   --finalize  the same, but main returns 1 through MPI_Finalize (negative control: hangs forever).
//   --kill      rank 1 dies of SIGKILL (OOM killer, node failure): the launcher must end the job.
//   --exit      rank 1 calls std::exit(1) from deep inside (a library's exit): no MPI_Finalize.
//   --hang      rank 1 hangs (a stuck reward process); with DAGALIGN_MPI_TIMEOUT_S set, rank 0's
//               all-reduce times out and aborts the job.
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/dist/communicator.h"

namespace {

int run(dagalign::Communicator& comm, const std::string& mode) {
  at::Tensor g = at::ones({1000});
  for (int step = 0; step < 5; ++step) {
    if (comm.rank() == 1 && step == 3) {
      dagalign::log::error(dagalign::cat("rank 1: reward process died in step 3 (test, mode ", mode, ")"));
      if (mode == "--kill") std::raise(SIGKILL);
      if (mode == "--exit") std::exit(1);
      if (mode == "--hang") std::this_thread::sleep_for(std::chrono::hours(1));
      throw dagalign::Error("rank 1: giving up");
    }
    comm.allreduce_mean_(g);  // rank 0 blocks here in step 3, waiting for rank 1
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  bool finalize = mode == "--finalize";
  dagalign::MpiSession mpi(&argc, &argv, /*force=*/true);
  int code = 0;
  try {
    auto comm = dagalign::make_communicator("mpi");
    dagalign::log_startup(*comm);
    code = run(*comm, mode);
  } catch (const std::exception& e) {
    dagalign::log::error(e.what());
    code = 1;
  }
  if (finalize) return code;  // negative control: MpiSession's destructor calls MPI_Finalize -> hang
  return mpi.finish(code);
}
