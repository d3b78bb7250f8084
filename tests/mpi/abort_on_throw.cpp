// The process-level error path under `mpirun -np 2` (driven by tests/mpi/expect_abort.sh): rank 1 throws
// in the middle of a run while rank 0 waits in a collective for it. main() catches, logs and returns
// MpiSession::finish(1), which aborts the job; without that (--finalize) rank 1 would call MPI_Finalize
// and both ranks would wait for each other forever.
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/dist/communicator.h"

namespace {

int run(dagalign::Communicator& comm) {
  at::Tensor g = at::ones({1000});
  for (int step = 0; step < 5; ++step) {
    if (comm.rank() == 1 && step == 3) throw dagalign::Error("rank 1: reward process died in step 3 (test)");
    comm.allreduce_mean_(g);  // rank 0 blocks here in step 3, waiting for rank 1
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool finalize = argc > 1 && std::strcmp(argv[1], "--finalize") == 0;
  dagalign::MpiSession mpi(&argc, &argv, /*force=*/true);
  int code = 0;
  try {
    auto comm = dagalign::make_communicator("mpi");
    dagalign::log_startup(*comm);
    code = run(*comm);
  } catch (const std::exception& e) {
    dagalign::log::error(e.what());
    code = 1;
  }
  if (finalize) return code;  // negative control: MpiSession's destructor calls MPI_Finalize -> hang
  return mpi.finish(code);
}
