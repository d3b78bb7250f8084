#pragma once
// Collective communication between ranks, each holding one model replica. MPI on CPU tensors; NCCL on
// CUDA tensors when built with DAGALIGN_CUDA. Every rank calls the same collectives in the same order.
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
  virtual int local_rank() const = 0;
  virtual std::string backend() const = 0;
  // In-place sum / mean over ranks of a contiguous tensor.
  virtual void allreduce_sum_(at::Tensor& t) = 0;
  void allreduce_mean_(at::Tensor& t);
  virtual void broadcast_(at::Tensor& t, int root) = 0;
  // Concatenates every rank's t along dim 0 (all ranks pass the same shape), rank order.
  virtual at::Tensor allgather(const at::Tensor& t) = 0;
  virtual std::vector<std::string> allgather_strings(const std::vector<std::string>& local) = 0;
  // Max over ranks of a flag (preemption agreement); logical OR.
  virtual int64_t allreduce_max(int64_t v) = 0;
  virtual void barrier() = 0;
  // Ends the whole job (all ranks) with this exit code.
  [[noreturn]] virtual void abort(int code) = 0;
};

// A single-process communicator (world of one): every collective is the identity.
std::unique_ptr<Communicator> make_self_communicator();

}  // namespace dagalign
