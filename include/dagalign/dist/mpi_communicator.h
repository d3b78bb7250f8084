#pragma once
// MPI implementation of Communicator: CPU tensors, MPI_Allreduce(MPI_IN_PLACE) on a duplicate of
// MPI_COMM_WORLD with MPI_ERRORS_RETURN, so a failed call throws Error naming the MPI error.
// DAGALIGN_MPI_TIMEOUT_S > 0 (default 0: off): every collective runs as its nonblocking twin, polled;
// one that has not finished after that many seconds (a rank hangs, e.g. in a reward process) aborts
// the whole job with exit code kMpiTimeoutExit instead of waiting forever.
#include <mpi.h>

#include "dagalign/dist/communicator.h"

namespace dagalign {

constexpr int kMpiTimeoutExit = 4;

class MpiCommunicator : public Communicator {
 public:
  // Needs MPI initialised. Duplicates `world`; local rank/size from MPI_Comm_split_type(SHARED).
  explicit MpiCommunicator(MPI_Comm world = MPI_COMM_WORLD);
  ~MpiCommunicator() override;
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  std::string backend() const override { return "mpi"; }
  std::string device() const override { return "cpu"; }
  void allreduce_sum_(at::Tensor& t) override;
  void broadcast_(at::Tensor& t, int root) override;
  at::Tensor allgather(const at::Tensor& t) override;
  std::vector<std::string> allgather_strings(const std::vector<std::string>& local) override;
  int64_t allreduce_max(int64_t v) override;
  void barrier() override;
  [[noreturn]] void abort(int code) override;
  MPI_Comm comm() const { return comm_; }
  double timeout_seconds() const { return timeout_s_; }

 private:
  template <class Blocking, class Nonblocking>
  void collective(const char* what, Blocking blocking, Nonblocking nonblocking);

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  double timeout_s_ = 0;  // DAGALIGN_MPI_TIMEOUT_S
};

// Throws Error("MPI <what> failed: <MPI error string>") when rc != MPI_SUCCESS.
void mpi_check(int rc, const char* what);

}  // namespace dagalign
