// io_make_run DIR: writes a small run directory with the io library (trajectories of 2 ranks x 2
// segments + index, an image trajectory file, metrics, a checkpoint, config) and DIR/expected.json, the
// values written, for the Python checks (h5py reads what the C++ wrote) in tests/tools.cmake.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "dagalign/core/rng.h"
#include "dagalign/io/checkpoint.h"
#include "dagalign/io/metrics.h"
#include "dagalign/io/trajectory_store.h"

using namespace dagalign;
namespace fs = std::filesystem;

namespace {
const char* kConfig = "[run]\nname = tools-run\n[train]\nlr = 0.0003\nepochs = 12\n";

TrajectoryBatch batch(int64_t n, int64_t T, std::vector<int64_t> state, int64_t first, bool images) {
  at::Generator g = make_generator(uint64_t(77 + first));
  TrajectoryBatch b;
  std::vector<int64_t> ls{n, T + 1};
  ls.insert(ls.end(), state.begin(), state.end());
  b.latents = at::randn(ls, g);
  b.timesteps = (at::arange(T, 0, -1, at::kLong) * (1000 / T) - 1).repeat({n, 1});
  b.log_pf = -at::rand({n, T}, g);
  b.log_pb = -at::rand({n, T}, g);
  b.rewards = at::randn({n}, g);
  b.seeds = at::arange(first, first + n, at::kLong);
  b.policy_version = at::full({n}, first / 10, at::kLong);
  for (int64_t i = 0; i < n; ++i) b.prompts.push_back("a prompt ✓ " + std::to_string(first + i));
  if (images) b.images = at::randint(0, 256, {n, 16, 16, 3}, g, at::kByte);
  return b;
}

std::vector<double> vec(const at::Tensor& t) {
  at::Tensor c = t.to(at::kDouble).contiguous().flatten();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: io_make_run DIR\n");
    return 2;
  }
  const std::string run = argv[1];
  fs::remove_all(run);
  fs::create_directories(run);
  std::ofstream(run + "/config.ini") << kConfig;
  nlohmann::json expect;

  // Trajectories: 2 segments x 2 ranks, 2-D states, two appends of 5 per file.
  std::vector<double> rewards, x0;
  int64_t first = 0;
  const int64_t T = 6;
  for (int64_t seg = 0; seg < 2; ++seg)
    for (int64_t rank = 0; rank < 2; ++rank) {
      TrajectoryFileMeta m;
      m.run_name = "tools-run";
      m.rank = rank;
      m.world_size = 2;
      m.segment = seg;
      m.model_id = "toy-2d";
      m.algorithm = "dag-db";
      m.config = kConfig;
      TrajectoryWriter w(trajectory_segment_path(run, seg, rank), m);
      for (int k = 0; k < 2; ++k) {
        auto b = batch(5, T, {2}, first, false);
        first += 5;
        w.append(b);
        auto r = vec(b.rewards), x = vec(b.latents.select(1, T));
        rewards.insert(rewards.end(), r.begin(), r.end());
        x0.insert(x0.end(), x.begin(), x.end());
      }
    }
  write_trajectory_index(run);
  expect["rewards"] = rewards;
  expect["x0"] = x0;
  expect["steps"] = T;
  expect["config"] = kConfig;

  // An image trajectory file: float16 latents (4, 8, 8), deflate, images.
  {
    TrajectoryFileMeta m;
    m.run_name = "tools-run";
    m.model_id = "tiny-unet";
    m.algorithm = "ddpo";
    m.config = kConfig;
    TrajectoryStoreOptions o;
    o.float16 = true;
    o.deflate = 4;
    TrajectoryWriter w(run + "/images.h5", m, o);
    auto b = batch(6, 3, {4, 8, 8}, 1000, true);
    w.append(b);
    expect["images_rewards"] = vec(b.rewards);
    expect["images_sum"] = b.images.to(at::kLong).sum().item<int64_t>();
    expect["images_latents_f16"] = vec(b.latents.to(at::kHalf).to(at::kFloat).select(1, 3).flatten());
  }

  // Metrics: 12 epochs; kl reported from epoch 5 on.
  {
    MetricsWriter w(run);
    std::vector<double> loss, reward;
    for (int e = 0; e < 12; ++e) {
      std::map<std::string, double> v{{"loss", 1.0 / (e + 1)}, {"reward_mean", 0.1 * e}};
      if (e >= 5) v["kl"] = 0.01 * e;
      w.write(e, v);
      loss.push_back(v["loss"]);
      reward.push_back(v["reward_mean"]);
    }
    expect["loss"] = loss;
    expect["reward_mean"] = reward;
  }

  // A checkpoint.
  {
    CheckpointData d;
    d.tensors["params/w"] = at::arange(0, 6, at::kFloat).reshape({2, 3}) / 4;
    d.tensors["optim/exp_avg/w"] = at::full({2, 3}, 0.5, at::kFloat);
    d.tensors["rng/rank-000"] = make_generator(5).get_state();
    d.ints["epoch"] = 3;
    d.ints["step"] = 30;
    d.texts["config"] = kConfig;
    checkpoint::write(checkpoint::path(run + "/checkpoints", 3), d);
  }
  std::ofstream(run + "/expected.json") << expect.dump(1);
  std::printf("wrote %s\n", run.c_str());
  return 0;
}
