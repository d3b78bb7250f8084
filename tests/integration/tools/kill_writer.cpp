// io_kill_writer: the writer side of the SIGKILL test (tests/integration/tools/kill_test.py).
//   io_kill_writer write FILE DEFLATE FLOAT16   appends batches of 4 trajectories forever, printing the
//                                               row count after each append() returned (flushed)
//   io_kill_writer read FILE...                 prints "FILE ROWS" per file as TrajectoryReader sees it
// Row g holds known values (rewards = g, latents = g + (k % 7) / 8, rounded to float16 when stored so)
// so the checker can verify every row without the writer.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/io/trajectory_store.h"

using namespace dagalign;

int main(int argc, char** argv) {
  if (argc >= 3 && std::string(argv[1]) == "read") {
    int rc = 0;
    for (int i = 2; i < argc; ++i) {
      try {
        TrajectoryReader r(argv[i]);
        std::printf("%s %lld\n", argv[i], (long long)r.rows());
      } catch (const std::exception& e) {
        std::printf("%s ERROR %s\n", argv[i], e.what());
        rc = 1;
      }
    }
    return rc;
  }
  if (argc != 5 || std::string(argv[1]) != "write") {
    std::fprintf(stderr, "usage: io_kill_writer write FILE DEFLATE FLOAT16 | read FILE...\n");
    return 2;
  }
  const int64_t n = 4, T = 10;
  TrajectoryFileMeta m;
  m.run_name = "kill-test";
  m.model_id = "kill";
  m.algorithm = "dag-db";
  TrajectoryStoreOptions o;
  o.deflate = std::atoi(argv[3]);
  o.float16 = std::atoi(argv[4]) != 0;
  TrajectoryWriter w(argv[2], m, o);
  std::printf("created\n");
  std::fflush(stdout);
  const at::Tensor pattern = (at::arange(0, (T + 1) * 4 * 16 * 16, at::kLong) % 7).to(at::kFloat).reshape({T + 1, 4, 16, 16}) / 8;
  for (int64_t first = 0;; first += n) {
    TrajectoryBatch b;
    at::Tensor g = at::arange(first, first + n, at::kFloat);
    b.latents = g.view({n, 1, 1, 1, 1}) + pattern.unsqueeze(0);
    b.timesteps = at::arange(T, 0, -1, at::kLong).repeat({n, 1});
    b.log_pf = g.view({n, 1}).repeat({1, T});
    b.log_pb = -g.view({n, 1}).repeat({1, T});
    b.rewards = g.clone();
    b.seeds = g.to(at::kLong);
    b.policy_version = g.to(at::kLong) / 4;
    b.images = (g.to(at::kLong) % 256).to(at::kByte).view({n, 1, 1, 1}).repeat({1, 32, 32, 3});
    for (int64_t i = 0; i < n; ++i) b.prompts.push_back("row " + std::to_string(first + i));
    w.append(b);
    std::printf("%lld\n", (long long)w.rows());
    std::fflush(stdout);
  }
}
