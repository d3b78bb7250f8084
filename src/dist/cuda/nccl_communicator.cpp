// NcclCommunicator: see include/dagalign/dist/nccl_communicator.h (compiled only with DAGALIGN_CUDA).
#include "dagalign/dist/nccl_communicator.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>

#include <ATen/ATen.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#include <mpi.h>
#include <nccl.h>

#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/core/timer.h"
#include "dagalign/dist/mpi_communicator.h"

namespace dagalign {
namespace {

void cuda_check(cudaError_t rc, const char* what) {
  if (rc != cudaSuccess) throw Error(cat("CUDA ", what, " failed: ", cudaGetErrorString(rc)));
}

ncclDataType_t nccl_type(at::ScalarType s, const char* op) {
  switch (s) {
    case at::kFloat: return ncclFloat32;
    case at::kDouble: return ncclFloat64;
    case at::kHalf: return ncclFloat16;
    case at::kBFloat16: return ncclBfloat16;
    case at::kInt: return ncclInt32;
    case at::kLong: return ncclInt64;
    case at::kByte: return ncclUint8;
    case at::kChar: return ncclInt8;
    default: throw Error(cat("NCCL ", op, ": dtype ", c10::toString(s), " is not supported"));
  }
}

double timeout_seconds() {
  const char* v = std::getenv("DAGALIGN_NCCL_TIMEOUT_S");
  if (!v || !*v) return 1800.0;
  char* end = nullptr;
  double s = std::strtod(v, &end);
  DAG_CHECK(end && *end == '\0' && s > 0, "DAGALIGN_NCCL_TIMEOUT_S='", v, "' is not a positive number of seconds");
  return s;
}

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator() {
    int devices = int(c10::cuda::device_count());
    DAG_CHECK(devices > 0, "NCCL communicator: no CUDA device is visible (CUDA_VISIBLE_DEVICES='",
              std::getenv("CUDA_VISIBLE_DEVICES") ? std::getenv("CUDA_VISIBLE_DEVICES") : "", "')");
    device_ = mpi_.local_rank() % devices;
    if (mpi_.local_size() > devices)
      log::warn(cat(mpi_.local_size(), " ranks on this host share ", devices, " GPU(s)"));
    c10::cuda::set_device(c10::DeviceIndex(device_));
    pool_stream_ = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, c10::DeviceIndex(device_));
    stream_ = pool_stream_->stream();
    cuda_check(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming), "EventCreate");
    cuda_check(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming), "EventCreate");
    timeout_s_ = timeout_seconds();
    // Bootstrap: unique id from rank 0 over MPI.
    ncclUniqueId id;
    if (mpi_.rank() == 0) nccl_check(ncclGetUniqueId(&id), "GetUniqueId");
    mpi_check(MPI_Bcast(&id, int(sizeof(id)), MPI_BYTE, 0, mpi_.comm()), "Bcast(ncclUniqueId)");
    nccl_check(ncclCommInitRank(&comm_, mpi_.size(), id, mpi_.rank()), "CommInitRank");
  }

  ~NcclCommunicator() override {
    if (comm_) {
      cudaStreamSynchronize(stream_);
      ncclCommDestroy(comm_);
    }
    cudaEventDestroy(ready_);
    cudaEventDestroy(done_);
  }

  int rank() const override { return mpi_.rank(); }
  int size() const override { return mpi_.size(); }
  int local_rank() const override { return mpi_.local_rank(); }
  int local_size() const override { return mpi_.local_size(); }
  std::string backend() const override { return "nccl"; }
  std::string device() const override { return cat("cuda:", device_); }

  void allreduce_sum_(at::Tensor& t) override { allreduce(t, ncclSum, "allreduce_sum_"); }
  void allreduce_mean_(at::Tensor& t) override { allreduce(t, ncclAvg, "allreduce_mean_"); }

  void broadcast_(at::Tensor& t, int root) override {
    if (!t.is_cuda()) return mpi_.broadcast_(t, root);
    check_cuda_contiguous(t, "broadcast_");
    DAG_CHECK(root >= 0 && root < size(), "NCCL broadcast_: root ", root, " outside [0, ", size(), ")");
    ncclDataType_t type = nccl_type(t.scalar_type(), "broadcast_");
    run(t, "Broadcast", [&](cudaStream_t s) {
      return ncclBroadcast(t.data_ptr(), t.data_ptr(), size_t(t.numel()), type, root, comm_, s);
    });
  }

  at::Tensor allgather(const at::Tensor& t_in) override {
    if (!t_in.is_cuda()) return mpi_.allgather(t_in);
    at::Tensor t = (t_in.dim() == 0 ? t_in.reshape({1}) : t_in).contiguous();
    // Same shape everywhere: compare the shapes over MPI first (clear error instead of a hang).
    at::Tensor shape = at::full({1, 9}, -1, at::kLong);
    shape[0][0] = int64_t(t.scalar_type());
    for (int64_t d = 0; d < t.dim() && d < 8; ++d) shape[0][1 + d] = t.size(d);
    at::Tensor shapes = mpi_.allgather(shape);
    for (int r = 0; r < size(); ++r)
      DAG_CHECK(shapes[r].equal(shape[0]), "NCCL allgather: rank ", rank(), " passes shape ", t.sizes(),
                " but rank ", r, " passes ", shapes[r], " (all ranks must agree)");
    std::vector<int64_t> out_sizes = t.sizes().vec();
    out_sizes[0] *= size();
    at::Tensor out = at::empty(out_sizes, t.options());
    ncclDataType_t type = nccl_type(t.scalar_type(), "allgather");
    run(out, "AllGather", [&](cudaStream_t s) {
      return ncclAllGather(t.data_ptr(), out.data_ptr(), size_t(t.numel()), type, comm_, s);
    }, &t);
    return out;
  }

  std::vector<std::string> allgather_strings(const std::vector<std::string>& local) override {
    return mpi_.allgather_strings(local);
  }
  int64_t allreduce_max(int64_t v) override { return mpi_.allreduce_max(v); }
  void barrier() override { mpi_.barrier(); }
  [[noreturn]] void abort(int code) override {
    if (comm_) ncclCommAbort(comm_);
    comm_ = nullptr;
    mpi_.abort(code);
  }

 private:
  void nccl_check(ncclResult_t rc, const char* what) {
    if (rc == ncclSuccess) return;
    fail(cat("NCCL ", what, " failed: ", ncclGetErrorString(rc), " (", ncclGetLastError(comm_), ")"));
  }

  // Any NCCL failure ends the job: the communicator is unusable and peers may be stuck in a kernel.
  [[noreturn]] void fail(const std::string& why) {
    log::error(cat(why, "; aborting the NCCL communicator and the job (exit ", kNcclFailureExit, ")"));
    abort(kNcclFailureExit);
  }

  void check_cuda_contiguous(const at::Tensor& t, const char* op) {
    DAG_CHECK(t.get_device() == device_, "NCCL ", op, ": tensor on ", t.device().str(), ", communicator on ", device());
    DAG_CHECK(t.is_contiguous(), "NCCL ", op, ": expected a contiguous tensor, found strides ", t.strides());
  }

  void allreduce(at::Tensor& t, ncclRedOp_t op, const char* what) {
    if (!t.is_cuda()) {
      if (op == ncclAvg) return mpi_.allreduce_mean_(t);
      return mpi_.allreduce_sum_(t);
    }
    check_cuda_contiguous(t, what);
    ncclDataType_t type = nccl_type(t.scalar_type(), what);
    run(t, "AllReduce", [&](cudaStream_t s) {
      return ncclAllReduce(t.data_ptr(), t.data_ptr(), size_t(t.numel()), type, op, comm_, s);
    });
  }

  // compute stream --ready--> NCCL stream: op --done--> compute stream; host polls done + async errors.
  template <class Op>
  void run(const at::Tensor& t, const char* what, Op op, const at::Tensor* also = nullptr) {
    cudaStream_t compute = c10::cuda::getCurrentCUDAStream(c10::DeviceIndex(device_)).stream();
    cuda_check(cudaEventRecord(ready_, compute), "EventRecord");
    cuda_check(cudaStreamWaitEvent(stream_, ready_, 0), "StreamWaitEvent");
    nccl_check(op(stream_), what);
    // The caching allocator must not reuse these blocks before the NCCL stream is done with them.
    c10::cuda::CUDACachingAllocator::recordStream(t.storage().data_ptr(), *pool_stream_);
    if (also) c10::cuda::CUDACachingAllocator::recordStream(also->storage().data_ptr(), *pool_stream_);
    cuda_check(cudaEventRecord(done_, stream_), "EventRecord");
    cuda_check(cudaStreamWaitEvent(compute, done_, 0), "StreamWaitEvent");
    wait(what);
  }

  void wait(const char* what) {
    Stopwatch sw;
    // Spin for the first ~100 us (small LoRA all-reduces finish in tens of us), then back off to 1 ms.
    auto pause = std::chrono::microseconds(0);
    for (int polls = 0;; ++polls) {
      cudaError_t q = cudaEventQuery(done_);
      if (q == cudaSuccess) return;
      if (q != cudaErrorNotReady) fail(cat("CUDA error while waiting for NCCL ", what, ": ", cudaGetErrorString(q)));
      ncclResult_t async = ncclSuccess;
      ncclCommGetAsyncError(comm_, &async);
      if (async != ncclSuccess && async != ncclInProgress)
        fail(cat("NCCL ", what, " asynchronous error: ", ncclGetErrorString(async), " (", ncclGetLastError(comm_), ")"));
      if (sw.seconds() > timeout_s_)
        fail(cat("NCCL ", what, " did not finish within ", timeout_s_, " s (DAGALIGN_NCCL_TIMEOUT_S): a rank is stuck or gone"));
      if (polls < 100) continue;
      std::this_thread::sleep_for(pause);
      pause = std::min(std::max(pause * 2, std::chrono::microseconds(20)), std::chrono::microseconds(1000));
    }
  }

  MpiCommunicator mpi_;
  int device_ = 0;
  std::optional<c10::cuda::CUDAStream> pool_stream_;  // a dedicated stream from the device's pool
  cudaStream_t stream_ = nullptr;                     // its handle
  cudaEvent_t ready_ = nullptr, done_ = nullptr;
  ncclComm_t comm_ = nullptr;
  double timeout_s_ = 1800.0;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator() { return std::make_unique<NcclCommunicator>(); }

bool cuda_device_visible() { return c10::cuda::device_count() > 0; }

}  // namespace dagalign
