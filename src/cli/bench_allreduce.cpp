// dagalign bench allreduce: time and bus bandwidth of the gradient all-reduce, run under mpirun/srun.
//
// For each buffer size: (a) FlatGrads::allreduce_mean over a set of parameters whose grads are views
// of one flat fp32 buffer (what the trainer does once per optimiser step), (b) one raw
// MPI_Allreduce(MPI_IN_PLACE, SUM) of the same bytes, (c) for LoRA-like sets of many small tensors,
// one all-reduce per parameter (the per-tensor pattern of pytorch/examples dist-mnist.cpp).
// Time of one call = max over ranks (barrier before); median over --allreduce.reps calls.
// Bus bandwidth (nccl-tests convention) = 2 (n-1)/n * bytes / time: what each rank's link carries in
// a ring all-reduce.
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include <ATen/ATen.h>

#include "dagalign/cli/commands.h"
#include "dagalign/core/config.h"
#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/core/runtime.h"
#include "dagalign/core/timer.h"
#include "dagalign/dist/communicator.h"
#include "dagalign/dist/flat_grads.h"
#include "dagalign/dist/mpi_communicator.h"

namespace dagalign::cli {
namespace {

// Parameters totalling `numel` floats, split into `tensors` pieces (the last takes the remainder).
std::vector<at::Tensor> make_params(int64_t numel, int64_t tensors, const at::Device& device) {
  std::vector<at::Tensor> ps;
  int64_t each = numel / tensors;
  for (int64_t i = 0; i < tensors; ++i) {
    int64_t n = i + 1 < tensors ? each : numel - each * (tensors - 1);
    ps.push_back(at::empty({n}, at::TensorOptions().device(device)).set_requires_grad(true));  // values never read: pages stay untouched
  }
  return ps;
}

struct Timing {
  double median = 0, best = 0;  // seconds
};

// Median and minimum over reps of the slowest rank's time for fn(), after `warmup` untimed calls.
// On a shared, busy machine the minimum is the closer estimate of the uncontended cost.
template <class F>
Timing time_collective(Communicator& comm, int warmup, int reps, F fn) {
  std::vector<double> times;
  for (int i = 0; i < warmup + reps; ++i) {
    comm.barrier();
    Stopwatch sw;
    fn();
    double slowest = double(comm.allreduce_max(int64_t(sw.seconds() * 1e9))) * 1e-9;
    if (i >= warmup) times.push_back(slowest);
  }
  return {median(times), *std::min_element(times.begin(), times.end())};
}

void raw_mpi_allreduce(float* p, int64_t n, MPI_Comm mpi_comm) {
  constexpr int64_t kMax = int64_t(1) << 30;
  for (int64_t off = 0; off < n; off += kMax) {
    int rc = MPI_Allreduce(MPI_IN_PLACE, p + off, int(std::min(kMax, n - off)), MPI_FLOAT, MPI_SUM, mpi_comm);
    DAG_CHECK(rc == MPI_SUCCESS, "bench allreduce: MPI_Allreduce failed with code ", rc);
  }
}

}  // namespace

int bench_allreduce(const Args& args) {
  std::string sizes_mb = "3.2,32,256,1024", backend = "mpi";
  int reps = 7, warmup = 2, lora_tensors = 256, big_tensors = 4, threads = 1;
  Config cfg("dagalign bench allreduce");
  cfg.add("allreduce.sizes_mb", &sizes_mb, "buffer sizes in MB (1e6 bytes) of fp32; 3.2 = SD 1.5 LoRA r=4 (~0.8M params), 3438 = full UNet")
      .add("allreduce.reps", &reps, "timed calls per size and method (median and best reported)")
      .add("allreduce.warmup", &warmup, "untimed calls first")
      .add("allreduce.lora_tensors", &lora_tensors, "tensors in buffers <= 16 MB (LoRA: 2 per adapted layer)")
      .add("allreduce.big_tensors", &big_tensors, "tensors in larger buffers")
      .add("allreduce.threads", &threads, "LibTorch threads per rank")
      .add("allreduce.backend", &backend, "mpi (CPU buffers) or nccl (GPU buffers; needs -DDAGALIGN_CUDA=ON; no raw MPI column)");
  if (!cfg.parse(args)) {
    std::printf("%s", cfg.help().c_str());
    return 0;
  }
  DAG_CHECK(reps > 0 && warmup >= 0, "allreduce.reps must be > 0 and allreduce.warmup >= 0");
  set_threads(threads);
  auto comm = make_communicator(backend);
  const at::Device device(comm->device());
  log_startup(*comm);
  const int n = comm->size();
  if (n == 1) log::warn("bench allreduce: a world of one rank (run under mpirun -np 2 or srun)");
  log::info(cat("all-reduce of fp32 gradient buffers over ", n, " rank(s), ", comm->backend(), "; median of ",
                reps, " calls (and best call), slowest rank; bus bandwidth = 2(n-1)/n * bytes / best time"));
  if (comm->rank() == 0)
    std::printf("%9s %7s | %9s %9s %8s | %9s %9s %8s | %10s %10s\n", "MB", "tensors", "flat med", "best ms",
                "GB/s", "raw med", "best ms", "GB/s", "per-t med", "best ms");
  const double bus = n > 1 ? 2.0 * (n - 1) / n : 0.0;
  for (const std::string& s : split_list(sizes_mb)) {
    double mb = std::stod(s);
    DAG_CHECK(mb > 0, "allreduce.sizes_mb: '", s, "' is not a positive size");
    const int64_t numel = std::max<int64_t>(1, int64_t(mb * 1e6 / 4));
    const double bytes = double(numel) * 4;
    const int64_t tensors = std::min<int64_t>(numel, bytes <= 16e6 ? lora_tensors : big_tensors);
    std::vector<at::Tensor> params = make_params(numel, tensors, device);
    FlatGrads grads(params);
    grads.buffer().fill_(float(comm->rank() + 1));
    Timing flat = time_collective(*comm, warmup, reps, [&] { grads.allreduce_mean(*comm); });
    Timing raw;  // raw MPI on host memory only (CUDA-aware MPI is not assumed)
    if (device.is_cpu()) {
      float* p = grads.buffer().data_ptr<float>();
      // The communicator's own MPI_Comm when it is MPI: only the wrapper differs.
      auto* mpi = dynamic_cast<MpiCommunicator*>(comm.get());
      MPI_Comm mc = mpi ? mpi->comm() : MPI_COMM_WORLD;
      raw = time_collective(*comm, warmup, reps, [&] { raw_mpi_allreduce(p, numel, mc); });
    }
    std::string per = "         -          -";
    if (tensors > big_tensors) {
      Timing t = time_collective(*comm, warmup, reps, [&] {
        for (auto& q : params) comm->allreduce_mean_(q.mutable_grad());
      });
      char b[64];
      std::snprintf(b, sizeof(b), "%10.3f %10.3f", t.median * 1e3, t.best * 1e3);
      per = b;
    }
    if (comm->rank() == 0)
      std::printf("%9.1f %7lld | %9.3f %9.3f %8.2f | %9.3f %9.3f %8.2f | %s\n", bytes / 1e6, (long long)tensors,
                  flat.median * 1e3, flat.best * 1e3, bus * bytes / flat.best / 1e9, raw.median * 1e3,
                  raw.best * 1e3, raw.best > 0 ? bus * bytes / raw.best / 1e9 : 0.0, per.c_str());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace dagalign::cli
