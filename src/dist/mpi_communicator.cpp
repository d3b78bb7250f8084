#include "dagalign/dist/mpi_communicator.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/core/timer.h"

namespace dagalign {
namespace {

// MPI counts are int: large buffers go in pieces of at most 2^30 elements.
constexpr int64_t kMaxCount = int64_t(1) << 30;

MPI_Datatype mpi_type(at::ScalarType s, const char* op) {
  switch (s) {
    case at::kFloat: return MPI_FLOAT;
    case at::kDouble: return MPI_DOUBLE;
    case at::kInt: return MPI_INT32_T;
    case at::kLong: return MPI_INT64_T;
    case at::kByte: return MPI_UINT8_T;
    case at::kChar: return MPI_INT8_T;
    default:
      throw Error(cat("MPI ", op, ": dtype ", c10::toString(s),
                      " is not supported (expected float32, float64, int32, int64, uint8 or int8)"));
  }
}

void check_cpu_contiguous(const at::Tensor& t, const char* op) {
  DAG_CHECK(t.defined(), "MPI ", op, ": tensor is undefined");
  DAG_CHECK(t.device().is_cpu(), "MPI ", op, ": expected a CPU tensor, found one on ", t.device().str());
  DAG_CHECK(t.is_contiguous(), "MPI ", op, ": expected a contiguous tensor, found sizes ", t.sizes(),
            " strides ", t.strides());
}

double collective_timeout() {
  const char* v = std::getenv("DAGALIGN_MPI_TIMEOUT_S");
  if (!v || !*v) return 0.0;
  char* end = nullptr;
  double s = std::strtod(v, &end);
  DAG_CHECK(end && *end == '\0' && s >= 0, "DAGALIGN_MPI_TIMEOUT_S='", v, "' is not a number of seconds >= 0");
  return s;
}

}  // namespace

// Without a timeout: the blocking call. With one: the nonblocking call, polled with MPI_Test; past the
// timeout the job is aborted (exit kMpiTimeoutExit) instead of waiting forever for a stuck rank.
template <class Blocking, class Nonblocking>
void MpiCommunicator::collective(const char* what, Blocking blocking, Nonblocking nonblocking) {
  if (timeout_s_ <= 0) return mpi_check(blocking(), what);
  MPI_Request req;
  mpi_check(nonblocking(&req), what);
  Stopwatch sw;
  auto pause = std::chrono::microseconds(0);
  for (int polls = 0;; ++polls) {
    int done = 0;
    mpi_check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), what);
    if (done) return;
    if (sw.seconds() > timeout_s_) {
      log::error(cat("MPI ", what, " did not finish within ", timeout_s_, " s (DAGALIGN_MPI_TIMEOUT_S): another rank is "
                     "stuck or gone; aborting the job (exit ", kMpiTimeoutExit, ")"));
      abort(kMpiTimeoutExit);
    }
    if (polls < 100) continue;
    std::this_thread::sleep_for(pause);
    pause = std::min(std::max(pause * 2, std::chrono::microseconds(20)), std::chrono::microseconds(1000));
  }
}

void mpi_check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw Error(cat("MPI ", what, " failed: ", std::string(msg, len)));
}

MpiCommunicator::MpiCommunicator(MPI_Comm world) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  DAG_CHECK(initialised, "MpiCommunicator: MPI is not initialised (create a dagalign::MpiSession in main)");
  mpi_check(MPI_Comm_dup(world, &comm_), "Comm_dup");
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  // Ranks sharing memory = ranks on this host (same as OMPI_COMM_WORLD_LOCAL_RANK / SLURM_LOCALID for
  // block placement, and right for any placement).
  MPI_Comm local;
  mpi_check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local), "Comm_split_type");
  MPI_Comm_rank(local, &local_rank_);
  MPI_Comm_size(local, &local_size_);
  MPI_Comm_free(&local);
  timeout_s_ = collective_timeout();
}

MpiCommunicator::~MpiCommunicator() {
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (!finalised && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void MpiCommunicator::allreduce_sum_(at::Tensor& t) {
  check_cpu_contiguous(t, "allreduce_sum_");
  MPI_Datatype type = mpi_type(t.scalar_type(), "allreduce_sum_");
  auto* p = static_cast<char*>(t.data_ptr());
  const int64_t n = t.numel(), es = t.element_size();
  for (int64_t off = 0; off < n; off += kMaxCount) {
    int count = int(std::min(kMaxCount, n - off));
    char* q = p + off * es;
    collective("Allreduce", [&] { return MPI_Allreduce(MPI_IN_PLACE, q, count, type, MPI_SUM, comm_); },
               [&](MPI_Request* r) { return MPI_Iallreduce(MPI_IN_PLACE, q, count, type, MPI_SUM, comm_, r); });
  }
}

void MpiCommunicator::broadcast_(at::Tensor& t, int root) {
  check_cpu_contiguous(t, "broadcast_");
  DAG_CHECK(root >= 0 && root < size_, "MPI broadcast_: root ", root, " outside [0, ", size_, ")");
  MPI_Datatype type = mpi_type(t.scalar_type(), "broadcast_");
  auto* p = static_cast<char*>(t.data_ptr());
  const int64_t n = t.numel(), es = t.element_size();
  for (int64_t off = 0; off < n; off += kMaxCount) {
    int count = int(std::min(kMaxCount, n - off));
    char* q = p + off * es;
    collective("Bcast", [&] { return MPI_Bcast(q, count, type, root, comm_); },
               [&](MPI_Request* r) { return MPI_Ibcast(q, count, type, root, comm_, r); });
  }
}

at::Tensor MpiCommunicator::allgather(const at::Tensor& t_in) {
  at::Tensor t = t_in.dim() == 0 ? t_in.reshape({1}) : t_in;
  DAG_CHECK(t.device().is_cpu(), "MPI allgather: expected a CPU tensor, found one on ", t.device().str());
  t = t.contiguous();
  MPI_Datatype type = mpi_type(t.scalar_type(), "allgather");
  // Every rank must pass the same shape: gather (ndim, dtype, sizes...) and compare.
  constexpr int kSlots = 10;
  DAG_CHECK(t.dim() <= kSlots - 2, "MPI allgather: at most ", kSlots - 2, " dims, found ", t.dim());
  std::vector<int64_t> mine(kSlots, -1), all(size_t(kSlots) * size_);
  mine[0] = t.dim();
  mine[1] = int64_t(t.scalar_type());
  for (int64_t d = 0; d < t.dim(); ++d) mine[2 + d] = t.size(d);
  collective("Allgather", [&] { return MPI_Allgather(mine.data(), kSlots, MPI_INT64_T, all.data(), kSlots, MPI_INT64_T, comm_); },
             [&](MPI_Request* r) {
               return MPI_Iallgather(mine.data(), kSlots, MPI_INT64_T, all.data(), kSlots, MPI_INT64_T, comm_, r);
             });
  for (int r = 0; r < size_; ++r) {
    if (!std::equal(mine.begin(), mine.end(), all.begin() + r * kSlots)) {
      std::vector<int64_t> theirs(all.begin() + r * kSlots + 2, all.begin() + r * kSlots + 2 + std::max<int64_t>(0, all[r * kSlots]));
      throw Error(cat("MPI allgather: rank ", rank_, " passes shape ", t.sizes(), " ", c10::toString(t.scalar_type()),
                      " but rank ", r, " passes shape ", c10::IntArrayRef(theirs), " ",
                      c10::toString(at::ScalarType(all[r * kSlots + 1])), " (all ranks must agree)"));
    }
  }
  std::vector<int64_t> out_sizes = t.sizes().vec();
  out_sizes[0] *= size_;
  at::Tensor out = at::empty(out_sizes, t.options());
  const int64_t n = t.numel();
  DAG_CHECK(n <= INT_MAX, "MPI allgather: ", n, " elements per rank exceed the MPI count limit ", INT_MAX);
  collective("Allgather", [&] { return MPI_Allgather(t.data_ptr(), int(n), type, out.data_ptr(), int(n), type, comm_); },
             [&](MPI_Request* r) {
               return MPI_Iallgather(t.data_ptr(), int(n), type, out.data_ptr(), int(n), type, comm_, r);
             });
  return out;
}

std::vector<std::string> MpiCommunicator::allgather_strings(const std::vector<std::string>& local) {
  // 1. how many strings each rank has; 2. their lengths (Allgatherv); 3. the bytes (Allgatherv).
  int mine = int(local.size());
  std::vector<int> counts(size_);
  collective("Allgather", [&] { return MPI_Allgather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_); },
             [&](MPI_Request* r) { return MPI_Iallgather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_, r); });
  std::vector<int> displs(size_, 0);
  for (int r = 1; r < size_; ++r) displs[r] = displs[r - 1] + counts[r - 1];
  const int total = displs.back() + counts.back();
  std::vector<int64_t> my_lens(local.size()), lens(size_t(std::max(total, 1)));
  int64_t my_bytes = 0;
  for (size_t i = 0; i < local.size(); ++i) my_bytes += my_lens[i] = int64_t(local[i].size());
  collective("Allgatherv",
             [&] {
               return MPI_Allgatherv(my_lens.data(), mine, MPI_INT64_T, lens.data(), counts.data(), displs.data(),
                                     MPI_INT64_T, comm_);
             },
             [&](MPI_Request* r) {
               return MPI_Iallgatherv(my_lens.data(), mine, MPI_INT64_T, lens.data(), counts.data(), displs.data(),
                                      MPI_INT64_T, comm_, r);
             });
  std::vector<int> bytes(size_, 0), bdispl(size_, 0);
  int64_t total_bytes = 0;
  for (int r = 0; r < size_; ++r) {
    int64_t b = 0;
    for (int i = 0; i < counts[r]; ++i) b += lens[displs[r] + i];
    DAG_CHECK(total_bytes + b <= INT_MAX, "MPI allgather_strings: more than ", INT_MAX, " bytes in all");
    bdispl[r] = int(total_bytes);
    bytes[r] = int(b);
    total_bytes += b;
  }
  std::string mine_cat;
  mine_cat.reserve(size_t(my_bytes));
  for (const auto& s : local) mine_cat += s;
  std::string all(size_t(std::max<int64_t>(total_bytes, 1)), '\0');
  collective("Allgatherv",
             [&] {
               return MPI_Allgatherv(mine_cat.data(), int(my_bytes), MPI_CHAR, all.data(), bytes.data(), bdispl.data(),
                                     MPI_CHAR, comm_);
             },
             [&](MPI_Request* r) {
               return MPI_Iallgatherv(mine_cat.data(), int(my_bytes), MPI_CHAR, all.data(), bytes.data(),
                                      bdispl.data(), MPI_CHAR, comm_, r);
             });
  std::vector<std::string> out;
  out.reserve(size_t(total));
  int64_t pos = 0;
  for (int i = 0; i < total; ++i) {
    out.emplace_back(all.data() + pos, size_t(lens[i]));
    pos += lens[i];
  }
  return out;
}

int64_t MpiCommunicator::allreduce_max(int64_t v) {
  int64_t out = v;
  collective("Allreduce(MAX)", [&] { return MPI_Allreduce(&v, &out, 1, MPI_INT64_T, MPI_MAX, comm_); },
             [&](MPI_Request* r) { return MPI_Iallreduce(&v, &out, 1, MPI_INT64_T, MPI_MAX, comm_, r); });
  return out;
}

void MpiCommunicator::barrier() {
  collective("Barrier", [&] { return MPI_Barrier(comm_); }, [&](MPI_Request* r) { return MPI_Ibarrier(comm_, r); });
}

void MpiCommunicator::abort(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; this satisfies [[noreturn]]
}

}  // namespace dagalign
