// Checkpoints: bitwise round trip, atomic write, keep-last-K, and detection of truncated, corrupt,
// incomplete and foreign files by read() and find_latest_valid().
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/core/rng.h"
#include "dagalign/core/runtime.h"
#include "dagalign/io/checkpoint.h"
#include "dagalign/io/hdf5.h"
#include "io_test_util.h"

using namespace dagalign;
namespace fs = std::filesystem;

namespace {
CheckpointData sample(int64_t epoch) {
  CheckpointData d;
  at::Generator g = make_generator(uint64_t(epoch));
  d.tensors["params/lora.down_blocks.0.attn1.to_q.lora_A.weight"] = at::randn({4, 8}, g);
  d.tensors["params/flow.0.bias"] = at::randn({3}, g).to(at::kDouble);
  d.tensors["optim/exp_avg/flow.0.bias"] = at::randn({3}, g);
  d.tensors["optim/step"] = at::scalar_tensor(epoch * 10, at::kLong);
  d.tensors["params/half"] = at::randn({5}, g).to(at::kBFloat16);
  d.tensors["rng/rank-000"] = g.get_state();
  d.ints["epoch"] = epoch;
  d.ints["step"] = epoch * 10;
  d.reals["lr"] = 1e-4;
  d.strings["algorithm"] = "dag-db";
  d.texts["config"] = "[train]\nepochs = 4\n";
  return d;
}
}  // namespace

TEST(Checkpoint, RoundTripIsBitwise) {
  TempDir dir;
  const std::string p = checkpoint::path(dir.path.string(), 3);
  EXPECT_EQ(fs::path(p).filename(), "epoch-000003.h5");
  auto d = sample(3);
  checkpoint::write(p, d);
  EXPECT_FALSE(fs::exists(p + ".tmp"));
  auto r = checkpoint::read(p);
  EXPECT_EQ(r.source, p);
  EXPECT_EQ(r.git_revision, git_revision());
  EXPECT_FALSE(r.created.empty());
  ASSERT_EQ(r.tensors.size(), d.tensors.size());
  for (const auto& [k, t] : d.tensors) {
    EXPECT_EQ(r.tensor(k).scalar_type(), t.scalar_type()) << k;
    EXPECT_TRUE(at::equal(r.tensor(k), t)) << k;
  }
  EXPECT_EQ(r.ints, d.ints);
  EXPECT_EQ(r.reals, d.reals);
  EXPECT_EQ(r.strings, d.strings);
  EXPECT_EQ(r.texts, d.texts);
  auto params = r.under("params");
  EXPECT_EQ(params.size(), 3u);
  EXPECT_TRUE(params.count("flow.0.bias"));
  // The RNG state restores the same stream.
  at::Generator g1 = make_generator(0), g2 = make_generator(0);
  g2.set_state(r.tensor("rng/rank-000"));
  at::Generator g3 = make_generator(3);
  at::randn({4, 8}, g3);
  at::randn({3}, g3);
  at::randn({3}, g3);
  at::randn({5}, g3);
  EXPECT_TRUE(at::equal(at::randn({6}, g2), at::randn({6}, g3)));
  EXPECT_THROW_MSG(r.tensor("params/nope"), {p, "missing tensor 'params/nope'"});
  EXPECT_THROW_MSG(r.int_attr("epochs"), {p, "missing attribute 'epochs'"});
}

TEST(Checkpoint, ReservedNamesRejected) {
  TempDir dir;
  CheckpointData d;
  d.ints["complete"] = 1;
  EXPECT_THROW_MSG(checkpoint::write(dir.file("x.h5"), d), {"'complete' is reserved"});
}

TEST(Checkpoint, KeepLastK) {
  TempDir dir;
  checkpoint::Options o;
  o.keep_last = 2;
  for (int64_t e : {2, 4, 6, 8, 10}) checkpoint::write(checkpoint::path(dir.path.string(), e), sample(e), o);
  auto l = checkpoint::list(dir.path.string());
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].first, 8);
  EXPECT_EQ(l[1].first, 10);
  EXPECT_EQ(fs::read_symlink(dir.path / "latest.h5"), "epoch-000010.h5");
  EXPECT_EQ(checkpoint::read((dir.path / "latest.h5").string()).int_attr("epoch"), 10);
}

TEST(Checkpoint, FindLatestValidSkipsBadOnesWithReasons) {
  TempDir dir;
  const std::string d = dir.path.string();
  EXPECT_FALSE(checkpoint::find_latest_valid(d).has_value());
  for (int64_t e : {1, 2, 3, 4, 5, 6}) checkpoint::write(checkpoint::path(d, e), sample(e));
  // 6: truncated (killed while the OS wrote it, or a copy cut short)
  fs::resize_file(checkpoint::path(d, 6), fs::file_size(checkpoint::path(d, 6)) / 2);
  // 5: incomplete (no marker)
  {
    auto f = h5::File::open(checkpoint::path(d, 5), true);
    ASSERT_GE(H5Adelete(f.id(), "complete"), 0);
  }
  // 4: wrong schema version
  h5::File::open(checkpoint::path(d, 4), true).set_attr("schema_version", int64_t(7));
  // 3: not HDF5 at all
  std::ofstream(checkpoint::path(d, 3), std::ios::trunc) << "garbage";
  // a stale temporary of a newer one is ignored
  std::ofstream(d + "/epoch-000009.h5.tmp") << "partial";
  testing::internal::CaptureStderr();
  auto latest = checkpoint::find_latest_valid(d);
  std::string err = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(*latest, checkpoint::path(d, 2));
  for (const std::string& want : std::vector<std::string>{checkpoint::path(d, 6) + ": HDF5 file", "truncated",
                           checkpoint::path(d, 5) + ": checkpoint " + checkpoint::path(d, 5) + ": incomplete",
                           "schema_version 7 is not supported", checkpoint::path(d, 3)})
    EXPECT_NE(err.find(want), std::string::npos) << "stderr lacks '" << want << "':\n" << err;
  EXPECT_EQ(err.find("epoch-000009"), std::string::npos);
  EXPECT_THROW_MSG(checkpoint::read(checkpoint::path(d, 5)), {checkpoint::path(d, 5), "incomplete"});
  EXPECT_THROW_MSG(checkpoint::read(checkpoint::path(d, 6)), {checkpoint::path(d, 6), "truncated"});
  EXPECT_EQ(checkpoint::check(checkpoint::path(d, 1)), "");
}

TEST(Checkpoint, CorruptDataDetected) {
  TempDir dir;
  const std::string p = dir.file("epoch-000001.h5");
  CheckpointData d;
  d.tensors["params/w"] = at::arange(0, 4096, at::kFloat);
  checkpoint::write(p, d);
  // The first 64 bytes (the superblock) overwritten with garbage.
  {
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0);
    std::string junk(64, '\xff');
    f.write(junk.data(), std::streamsize(junk.size()));  // superblock destroyed
  }
  EXPECT_THROW_MSG(checkpoint::read(p), {p, "truncated, corrupt or not HDF5"});
}
