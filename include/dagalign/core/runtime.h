#pragma once
// Process-wide runtime settings: LibTorch thread count (it defaults to 1 here), version strings.
#include <string>

namespace dagalign {

// threads <= 0: use the cores this process may run on (sched_getaffinity), divided by local ranks.
int set_threads(int threads, int local_ranks = 1);
std::string git_revision();
std::string torch_version();

}  // namespace dagalign
