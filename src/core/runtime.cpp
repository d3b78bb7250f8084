#include "dagalign/core/runtime.h"

#include <dlfcn.h>
#include <sched.h>

#include <ATen/Parallel.h>
#include <c10/macros/cmake_macros.h>
#include <torch/version.h>

namespace dagalign {

int set_threads(int threads, int local_ranks) {
  if (threads <= 0) {
    cpu_set_t set;
    int cores = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
    threads = std::max(1, cores / std::max(1, local_ranks));
  }
  at::set_num_threads(threads);
  return threads;
}

std::string git_revision() { return DAGALIGN_GIT_REV; }
std::string torch_version() { return TORCH_VERSION; }

std::string blas_kernels() {
  // OpenBLAS picks its kernels from the CPU (or OPENBLAS_CORETYPE); float results round by kernel family.
  using CoreName = char* (*)();
  if (auto f = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"))) return std::string("OpenBLAS ") + f();
  return "not OpenBLAS";
}

}  // namespace dagalign
