// NCCL smoke program (DAGALIGN_CUDA builds; needs GPUs): `mpirun -np N nccl_smoke` or `srun nccl_smoke`.
// Checks sum / mean / broadcast / allgather of CUDA tensors against values computed by hand, then times
// the all-reduce of a LoRA-sized (3.2 MB) and a 256 MB fp32 buffer. Exit 0 = all checks passed.
#include <algorithm>
#include <cstdio>
#include <vector>

#include <ATen/ATen.h>
#include <c10/cuda/CUDAFunctions.h>

#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/core/timer.h"
#include "dagalign/dist/communicator.h"
#include "dagalign/dist/flat_grads.h"

namespace {

int run() {
  auto comm = dagalign::make_communicator("nccl");
  dagalign::log_startup(*comm);
  const int n = comm->size(), r = comm->rank();
  const at::Device dev(comm->device());
  at::Tensor t = at::arange(1000, at::TensorOptions().dtype(at::kFloat).device(dev)) + float(r);
  comm->allreduce_sum_(t);
  at::Tensor want = at::arange(1000, at::kFloat) * n + float(n * (n - 1) / 2);
  DAG_CHECK(t.cpu().equal(want), "nccl_smoke: allreduce_sum_ differs from the hand-computed sum");
  at::Tensor m = at::full({4096}, float(r + 1), at::TensorOptions().device(dev));
  comm->allreduce_mean_(m);
  DAG_CHECK(at::allclose(m.cpu(), at::full({4096}, (n + 1) / 2.0f)), "nccl_smoke: allreduce_mean_ wrong");
  at::Tensor b = at::full({17}, float(r), at::TensorOptions().device(dev));
  comm->broadcast_(b, n - 1);
  DAG_CHECK(b.cpu().equal(at::full({17}, float(n - 1))), "nccl_smoke: broadcast_ wrong");
  at::Tensor g = comm->allgather(at::full({2, 3}, float(r), at::TensorOptions().device(dev)));
  DAG_CHECK(g.size(0) == 2 * n && g.cpu()[2 * n - 1][0].item<float>() == float(n - 1), "nccl_smoke: allgather wrong");
  // A flat gradient buffer on the GPU, averaged.
  at::Tensor p = at::ones({3, 5}, at::TensorOptions().device(dev)).set_requires_grad(true);
  dagalign::FlatGrads fg(std::vector<at::Tensor>{p});
  (p * float(r + 1)).sum().backward();
  fg.allreduce_mean(*comm);
  DAG_CHECK(at::allclose(p.grad().cpu(), at::full({3, 5}, (n + 1) / 2.0f)), "nccl_smoke: FlatGrads mean wrong");
  dagalign::log::info("nccl_smoke: collectives correct");
  for (int64_t bytes : {int64_t(3'200'000), int64_t(256) << 20}) {
    at::Tensor buf = at::ones({bytes / 4}, at::TensorOptions().device(dev));
    std::vector<double> times;
    for (int i = 0; i < 12; ++i) {
      c10::cuda::device_synchronize();
      dagalign::Stopwatch sw;
      comm->allreduce_mean_(buf);  // returns when the all-reduce is done (host polls its event)
      if (i >= 2) times.push_back(sw.seconds());
    }
    double t_med = dagalign::median(times);
    double busbw = n > 1 ? 2.0 * (n - 1) / n * double(bytes) / t_med / 1e9 : 0.0;
    dagalign::log::info(dagalign::cat("nccl_smoke: allreduce ", bytes, " B: median ", t_med * 1e3,
                                      " ms, bus bandwidth ", busbw, " GB/s (", n, " rank(s))"));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  dagalign::MpiSession mpi(&argc, &argv, /*force=*/true);
  int code = 0;
  try {
    code = run();
  } catch (const std::exception& e) {
    dagalign::log::error(e.what());
    code = 1;
  }
  return mpi.finish(code);
}
