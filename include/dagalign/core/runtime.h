#pragma once
// Process-wide runtime settings: LibTorch thread count (it defaults to 1 here), version strings, BLAS kernels.
#include <string>

namespace dagalign {

// threads <= 0: use the cores this process may run on (sched_getaffinity), divided by local ranks.
int set_threads(int threads, int local_ranks = 1);
std::string git_revision();
std::string torch_version();
// "OpenBLAS <kernel family>" (e.g. SkylakeX, Prescott) when OpenBLAS serves BLAS, else "not OpenBLAS".
std::string blas_kernels();

}  // namespace dagalign
