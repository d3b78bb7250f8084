// MPI ownership (MpiSession), the job-wide exit path (finish_job) and the communicator factory.
#include <cstdio>
#include <exception>

#include <mpi.h>

#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/dist/communicator.h"
#include "dagalign/dist/mpi_communicator.h"
#ifdef DAGALIGN_CUDA
#include "dagalign/dist/nccl_communicator.h"
#endif

namespace dagalign {

namespace {
bool mpi_running() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}
}  // namespace

MpiSession::MpiSession(int* argc, char*** argv, bool force) {
  int init = 0;
  MPI_Initialized(&init);
  if (init || !(force || launched_by_mpi())) return;
  detail::g_mpirun_launch_at_init = mpirun_launched_now() ? 1 : 0;
  int provided = 0;
  mpi_check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "Init_thread");
  owned_ = true;
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  log::set_rank(rank, size);
}

MpiSession::~MpiSession() {
  if (!owned_ || !mpi_running()) return;
  if (std::uncaught_exceptions() > 0) finish_job(1);  // unwinding from an error: never Finalize
  MPI_Finalize();
}

int MpiSession::finish(int code) { return finish_job(code); }

int finish_job(int code) {
  if (code == 0 || !mpi_running()) return code;
  int size = 1, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (size == 1) return code;
  log::error(cat("rank ", rank, " failed with exit code ", code, ": aborting all ", size, " ranks"));
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  return code;  // not reached
}

std::unique_ptr<Communicator> make_communicator(const std::string& backend) {
  DAG_CHECK(backend == "auto" || backend == "mpi" || backend == "nccl" || backend == "self",
            "dist.backend: '", backend, "' is not one of auto, mpi, nccl, self");
  if (backend == "self" || (backend == "auto" && !mpi_running() && !launched_by_mpi())) {
    check_slurm_world(1);
    return make_self_communicator();
  }
  if (!mpi_running()) {
    // Launched by mpirun/srun (or "mpi"/"nccl" asked for) but nobody made a session: own MPI until
    // the process exits (a singleton world when not launched).
    static std::unique_ptr<MpiSession> session(new MpiSession(nullptr, nullptr, true));
  }
  std::unique_ptr<Communicator> comm;
#ifdef DAGALIGN_CUDA
  if (backend == "nccl" || (backend == "auto" && cuda_device_visible())) comm = make_nccl_communicator();
#else
  DAG_CHECK(backend != "nccl", "dist.backend: 'nccl' needs a build with -DDAGALIGN_CUDA=ON");
#endif
  if (!comm) comm = std::make_unique<MpiCommunicator>();
  log::set_rank(comm->rank(), comm->size());
  check_slurm_world(comm->size());
  return comm;
}

}  // namespace dagalign
