// dagalign bench io: HDF5 trajectory store write throughput against a raw sequential write of the same
// bytes to the same disk, in the same run, and the file size per trajectory with and without deflate.
//
// For each case (toy: 2-D states; SD: 4x64x64 latents, T = 50, float16 and float32):
//   hdf5: TrajectoryWriter over io.*_batches batches, a new file every io.batches_per_file batches (training
//         writes one file per rank per epoch); each append publishes the whole file so far (tmp + rename,
//         the SIGKILL guarantee), so a file of B batches writes (B+1)/2 times its data; close, fsync;
//   raw : fwrite of the same payload bytes batch by batch (fflush after each) into one file, fclose, fsync.
// Throughput = payload bytes / wall time (MB = 1e6 bytes); the median of io.reps runs of each, the two
// alternating so that both see the same disk state. Payload = the bytes of every stored field
// (latents in their stored dtype, timesteps, log P_F, log P_B, rewards, seeds, policy versions, prompt
// ids); the file size also counts HDF5 metadata and chunk padding. Data: Gaussian latents (as real
// latents, which compress poorly).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

#include <ATen/ATen.h>

#include "dagalign/cli/commands.h"
#include "dagalign/core/config.h"
#include "dagalign/core/error.h"
#include "dagalign/core/rng.h"
#include "dagalign/core/runtime.h"
#include "dagalign/core/timer.h"
#include "dagalign/io/fsync.h"
#include "dagalign/io/trajectory_store.h"

namespace dagalign::cli {
namespace fs = std::filesystem;

namespace {

struct Case {
  const char* name;
  std::vector<int64_t> state;
  int64_t T, batch;
  bool float16;
};

TrajectoryBatch make(const Case& c, int64_t first, uint64_t seed) {
  at::Generator g = make_generator(seed + uint64_t(first));
  const int64_t n = c.batch;
  std::vector<int64_t> ls{n, c.T + 1};
  ls.insert(ls.end(), c.state.begin(), c.state.end());
  TrajectoryBatch b;
  b.latents = at::randn(ls, g);
  b.timesteps = (at::arange(c.T, 0, -1, at::kLong) * (1000 / c.T)).repeat({n, 1});
  b.log_pf = at::randn({n, c.T}, g);
  b.log_pb = at::randn({n, c.T}, g);
  b.rewards = at::randn({n}, g);
  b.seeds = at::arange(first, first + n, at::kLong);
  b.policy_version = at::zeros({n}, at::kLong);
  b.prompt_ids = at::randint(0, 49408, {n, 77}, g, at::kLong);
  for (int64_t i = 0; i < n; ++i) b.prompts.push_back("a photo of a cat number " + std::to_string(first + i));
  return b;
}

// The batch's fields as the bytes the store holds (latents in the stored dtype).
std::vector<at::Tensor> payload(const TrajectoryBatch& b, bool float16) {
  return {(float16 ? b.latents.to(at::kHalf) : b.latents).contiguous(), b.timesteps, b.log_pf, b.log_pb,
          b.rewards, b.seeds, b.policy_version, b.prompt_ids};
}

int64_t bytes_of(const std::vector<at::Tensor>& ts) {
  int64_t n = 0;
  for (const auto& t : ts) n += int64_t(t.numel() * t.element_size());
  return n;
}

// Writes dir/t-<k>.h5 files of batches_per_file batches each; returns the seconds taken.
double write_hdf5(const Case& c, const std::vector<TrajectoryBatch>& batches, const fs::path& dir,
                  int64_t batches_per_file, int deflate) {
  TrajectoryFileMeta m;
  m.run_name = "bench-io";
  m.model_id = c.name;
  m.algorithm = "none";
  TrajectoryStoreOptions o;
  o.float16 = c.float16;
  o.deflate = deflate;
  Stopwatch sw;
  for (size_t first = 0, k = 0; first < batches.size(); first += size_t(batches_per_file), ++k) {
    const std::string path = (dir / cat("t-", k, ".h5")).string();
    {
      TrajectoryWriter w(path, m, o);
      for (size_t i = first; i < std::min(batches.size(), first + size_t(batches_per_file)); ++i) w.append(batches[i]);
      w.close();
    }
    fsync_path(path, false);
  }
  return sw.seconds();
}

double write_raw(const std::vector<std::vector<at::Tensor>>& batches, const std::string& path) {
  Stopwatch sw;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  DAG_CHECK(f, "bench io: cannot create ", path);
  for (const auto& ts : batches) {
    for (const auto& t : ts) {
      size_t n = size_t(t.numel() * t.element_size());
      DAG_CHECK(std::fwrite(t.data_ptr(), 1, n, f) == n, "bench io: short write to ", path);
    }
    std::fflush(f);
  }
  DAG_CHECK(std::fclose(f) == 0, "bench io: close of ", path, " failed");
  fsync_path(path, false);
  return sw.seconds();
}

}  // namespace

int bench_io(const Args& args) {
  std::string dir = ".";
  int reps = 5, threads = 1;
  int64_t toy_batches = 32, sd_batches = 8, per_file = 4;
  int deflate = 4;
  Config cfg("dagalign bench io");
  cfg.add("io.dir", &dir, "folder on the disk to measure (a temporary subfolder is removed after)")
      .add("io.reps", &reps, "timed runs of each writer (median reported)")
      .add("io.toy_batches", &toy_batches, "batches of 256 toy trajectories (2-D states, T = 20)")
      .add("io.sd_batches", &sd_batches, "batches of 8 SD-sized trajectories (4x64x64, T = 50)")
      .add("io.batches_per_file", &per_file, "batches per trajectory file (training: one file per rank "
           "per epoch, so sample.batches_per_epoch)")
      .add("io.deflate", &deflate, "gzip level for the size comparison")
      .add("io.threads", &threads, "LibTorch threads");
  if (!cfg.parse(args)) {
    std::printf("%s", cfg.help().c_str());
    return 0;
  }
  DAG_CHECK(reps > 0 && toy_batches > 0 && sd_batches > 0 && per_file > 0,
            "bench io: reps and batch counts must be positive");
  set_threads(threads);
  const fs::path tmp = fs::path(dir) / cat("bench-io-", ::getpid());
  fs::create_directories(tmp);
  const std::string raw = (tmp / "t.bin").string();
  auto h5_bytes = [&] {  // all trajectory files of the last write
    int64_t n = 0;
    for (const auto& e : fs::directory_iterator(tmp))
      if (e.path().extension() == ".h5") n += int64_t(e.file_size());
    return double(n);
  };

  const std::vector<std::pair<Case, int64_t>> cases = {
      {{"toy 2-D, T=20, f32", {2}, 20, 256, false}, toy_batches},
      {{"SD 4x64x64, T=50, f16", {4, 64, 64}, 50, 8, true}, sd_batches},
      {{"SD 4x64x64, T=50, f32", {4, 64, 64}, 50, 8, false}, sd_batches},
  };
  std::printf("bench io: %d reps (median), folder %s, %lld batches per file, git %s\n", reps, fs::absolute(dir).c_str(),
              (long long)per_file, git_revision().c_str());
  std::printf("| case | trajectories | payload MB | HDF5 MB/s | raw fwrite+fsync MB/s | HDF5/raw | file bytes/traj | deflate-%d bytes/traj | deflate-%d MB/s |\n",
              deflate, deflate);
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& [c, nb] : cases) {
    std::vector<TrajectoryBatch> batches;
    std::vector<std::vector<at::Tensor>> bytes;
    for (int64_t k = 0; k < nb; ++k) {
      batches.push_back(make(c, k * c.batch, 12345));
      bytes.push_back(payload(batches.back(), c.float16));
    }
    int64_t total = 0;
    for (const auto& b : bytes) total += bytes_of(b);
    const int64_t ntraj = nb * c.batch;
    std::vector<double> th, tr, tz;
    for (int r = 0; r < reps; ++r) {
      th.push_back(write_hdf5(c, batches, tmp, per_file, 0));
      tr.push_back(write_raw(bytes, raw));
    }
    const double size_plain = h5_bytes() / double(ntraj);
    for (int r = 0; r < reps; ++r) tz.push_back(write_hdf5(c, batches, tmp, per_file, deflate));
    const double size_deflate = h5_bytes() / double(ntraj);
    const double mb = double(total) / 1e6;
    const double h = mb / median(th), w = mb / median(tr), z = mb / median(tz);
    std::printf("| %s | %lld | %.1f | %.0f | %.0f | %.2f | %.0f | %.0f | %.0f |\n", c.name, (long long)ntraj, mb, h, w,
                h / w, size_plain, size_deflate, z);
    std::fflush(stdout);
  }
  fs::remove_all(tmp);
  return 0;
}

}  // namespace dagalign::cli
