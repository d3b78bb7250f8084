#pragma once
// Collective communication between ranks, each holding one model replica. MPI on CPU tensors; NCCL on
// CUDA tensors when built with DAGALIGN_CUDA. Every rank calls the same collectives in the same order.
//
// Start-up (docs/scaling.md, "Launch"):
//   int main(int argc, char** argv) {
//     dagalign::MpiSession mpi(&argc, &argv);        // MPI_Init_thread iff launched by mpirun/srun
//     int code = ...;  // run; catch exceptions, log them, set code != 0
//     return mpi.finish(code);                       // code != 0 with > 1 rank: MPI_Abort (no hang)
//   }
//   auto comm = dagalign::make_communicator();        // MPI world, or a world of one
//   dagalign::log_startup(*comm);                     // host, rank, local rank, device, world size
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace dagalign {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual int local_rank() const = 0;  // rank among the ranks on this host
  virtual int local_size() const = 0;  // ranks on this host
  virtual std::string backend() const = 0;  // "self", "mpi", "nccl"
  virtual std::string device() const = 0;   // where tensors of the collectives live: "cpu", "cuda:0"
  // In-place sum / mean over ranks of a contiguous tensor (float32/float64/int32/int64; NCCL also half).
  virtual void allreduce_sum_(at::Tensor& t) = 0;
  // sum / size; exact for power-of-two worlds. NCCL overrides it with ncclAvg.
  virtual void allreduce_mean_(at::Tensor& t);
  virtual void broadcast_(at::Tensor& t, int root) = 0;
  // Concatenates every rank's t along dim 0 (all ranks pass the same shape; checked), rank order.
  // A 0-dim t is treated as shape {1}.
  virtual at::Tensor allgather(const at::Tensor& t) = 0;
  // Every rank's list, concatenated in rank order (lists and strings may differ in length per rank).
  virtual std::vector<std::string> allgather_strings(const std::vector<std::string>& local) = 0;
  // Max over ranks of a flag (preemption agreement); logical OR.
  virtual int64_t allreduce_max(int64_t v) = 0;
  virtual void barrier() = 0;
  // Ends the whole job (all ranks) with this exit code.
  [[noreturn]] virtual void abort(int code) = 0;

  // Sums of scalar metrics over ranks (float64 on the CPU, one collective for the whole vector).
  std::vector<double> allreduce_sum(std::vector<double> v);
  double allreduce_sum(double v);
};

// A single-process communicator (world of one): every collective is the identity.
std::unique_ptr<Communicator> make_self_communicator();

// True when this process was started by an MPI launcher or by srun: OMPI_COMM_WORLD_SIZE, PMIX_RANK,
// PMI_RANK, PMI_SIZE or SLURM_PROCID is set (or DAGALIGN_FORCE_MPI=1).
bool launched_by_mpi();

// Owns MPI for the process. MPI is initialised (MPI_THREAD_FUNNELED) only when launched_by_mpi() or
// force is set, so a plain `dagalign ...` or a unit test starts no MPI runtime. Finalises in the
// destructor if it initialised MPI; an exception escaping main aborts the job instead (no hang).
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv, bool force = false);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  bool active() const { return owned_; }
  // Returns code; when code != 0 and MPI runs more than one rank, logs and calls MPI_Abort(code) on
  // MPI_COMM_WORLD so that every rank ends now (MPI_Finalize would wait for ranks stuck in a
  // collective forever).
  int finish(int code);

 private:
  bool owned_ = false;
};

// The same as MpiSession::finish for code that has no session object at hand.
int finish_job(int code);

// "auto": NCCL when built with DAGALIGN_CUDA and a GPU is visible, else MPI (CPU tensors);
// "mpi", "nccl", "self" select one. MPI and NCCL need MPI initialised (MpiSession, or initialised
// here on first use when launched_by_mpi()); not launched by MPI -> a world of one ("self").
// Checks the Slurm world (check_slurm_world) and throws Error on mismatch.
std::unique_ptr<Communicator> make_communicator(const std::string& backend = "auto");

// Under Slurm (SLURM_NTASKS set, or SLURM_STEP_NUM_TASKS inside a step), the world size must equal
// the task count: N copies of "rank 0 of 1" mean MPI did not see the launcher (Open MPI without PMIx).
// Throws Error naming both numbers. DAGALIGN_SKIP_SLURM_CHECK=1 skips it (mpirun with fewer ranks
// inside an allocation on purpose).
void check_slurm_world(int world_size);

// True when the environment says mpirun's daemons (ORTE) started this process (OMPI_MCA_orte_launch,
// OMPI_MCA_orte_hnp_uri). MpiSession records it before MPI_Init (a singleton init sets them too).
bool mpirun_launched_now();
namespace detail {
extern int g_mpirun_launch_at_init;  // -1: MPI not initialised by MpiSession; else 0/1
}

// "host vm rank 1/2 local 1/2 device cpu backend mpi"
std::string startup_banner(const Communicator& comm);
// Every rank prints its banner (stdout, prefixed with the rank).
void log_startup(const Communicator& comm);

}  // namespace dagalign
