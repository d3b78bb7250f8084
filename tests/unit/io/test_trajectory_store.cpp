// Trajectory store: round trips, options, validation errors naming file and dataset, global views.
#include <gtest/gtest.h>

#include <filesystem>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/core/runtime.h"
#include "dagalign/io/hdf5.h"
#include "dagalign/io/trajectory_store.h"
#include "io_test_util.h"
#include "trajectory_test_util.h"

using namespace dagalign;

namespace {

TrajectoryFileMeta meta(int64_t rank = 0, int64_t segment = 0) {
  TrajectoryFileMeta m;
  m.run_name = "unit";
  m.rank = rank;
  m.world_size = 2;
  m.segment = segment;
  m.model_id = "toy-2d";
  m.eta = 1.0;
  m.guidance = 4.5;
  m.algorithm = "dag-db";
  m.config = "[train]\nlr = 0.001\n";
  return m;
}

void expect_equal(const TrajectoryBatch& a, const TrajectoryBatch& b) {
  auto same = [](const at::Tensor& x, const at::Tensor& y, const char* n) {
    ASSERT_EQ(x.defined(), y.defined()) << n;
    if (x.defined()) {
      EXPECT_EQ(x.scalar_type(), y.scalar_type()) << n;
      EXPECT_TRUE(at::equal(x, y)) << n;
    }
  };
  same(a.latents, b.latents, "latents");
  same(a.timesteps, b.timesteps, "timesteps");
  same(a.log_pf, b.log_pf, "log_pf");
  same(a.log_pb, b.log_pb, "log_pb");
  same(a.eps, b.eps, "eps");
  same(a.rewards, b.rewards, "rewards");
  same(a.cond, b.cond, "cond");
  same(a.prompt_ids, b.prompt_ids, "prompt_ids");
  same(a.seeds, b.seeds, "seeds");
  same(a.policy_version, b.policy_version, "policy_version");
  same(a.images, b.images, "images");
  EXPECT_EQ(a.prompts, b.prompts);
}

TrajectoryBatch cat2(const TrajectoryBatch& a, const TrajectoryBatch& b) { return TrajectoryBatch::cat({a, b}); }

}  // namespace

TEST(TrajectoryStore, RoundTripAllFieldsAndAttributes) {
  TempDir dir;
  const std::string path = trajectory_segment_path(dir.path.string(), 5, 1);
  EXPECT_EQ(path, (dir.path / "trajectories" / "seg-000005.rank-001.h5").string());
  auto b1 = make_batch(3, 4, {2}, 0), b2 = make_batch(5, 4, {2}, 3);
  b2.policy_version.fill_(7);
  {
    TrajectoryWriter w(path, meta(1, 5));
    w.append(b1);
    w.append(b2);
    EXPECT_EQ(w.rows(), 8);
  }
  TrajectoryReader r(path);
  EXPECT_EQ(r.rows(), 8);
  EXPECT_EQ(r.state_shape(), (std::vector<int64_t>{2}));
  const auto& m = r.meta();
  EXPECT_EQ(m.schema_version, 1);
  EXPECT_EQ(m.run_name, "unit");
  EXPECT_EQ(m.rank, 1);
  EXPECT_EQ(m.world_size, 2);
  EXPECT_EQ(m.segment, 5);
  EXPECT_EQ(m.model_id, "toy-2d");
  EXPECT_EQ(m.scheduler, "ddim");
  EXPECT_EQ(m.steps, 4);  // taken from the first batch
  EXPECT_DOUBLE_EQ(m.guidance, 4.5);
  EXPECT_EQ(m.algorithm, "dag-db");
  EXPECT_EQ(m.git_revision, git_revision());
  EXPECT_EQ(m.policy_version_min, 0);
  EXPECT_EQ(m.policy_version_max, 7);
  EXPECT_EQ(m.latents_dtype, "float32");
  EXPECT_EQ(m.config, "[train]\nlr = 0.001\n");
  expect_equal(r.read(), cat2(b1, b2));
  expect_equal(r.read(2, 3), rows_of(cat2(b1, b2), 2, 5));
  EXPECT_TRUE(at::equal(r.rewards(), cat2(b1, b2).rewards));
  // Small rows are grouped into chunks of up to 16 KiB (at most 1024 rows): 8*8*3 bytes -> 85 rows.
  auto f = h5::File::open(path);
  EXPECT_EQ(f.dataset("images").chunk(), (std::vector<int64_t>{85, 8, 8, 3}));
  EXPECT_EQ(f.dataset("rewards").chunk(), (std::vector<int64_t>{1024}));
  // chunk_bytes = 0: one trajectory per chunk everywhere.
  TrajectoryStoreOptions one;
  one.chunk_bytes = 0;
  {
    TrajectoryWriter w(dir.file("one.h5"), meta(), one);
    w.append(b1);
  }
  auto g = h5::File::open(dir.file("one.h5"));
  EXPECT_EQ(g.dataset("latents").chunk(), (std::vector<int64_t>{1, 5, 2}));
  EXPECT_EQ(g.dataset("images").chunk(), (std::vector<int64_t>{1, 8, 8, 3}));
  EXPECT_EQ(g.dataset("rewards").chunk(), (std::vector<int64_t>{1}));
}

TEST(TrajectoryStore, ReadRowsAnyOrderWithRepeats) {
  TempDir dir;
  const std::string path = dir.file("t.h5");
  auto b = make_batch(10, 3, {2, 2}, 0);
  {
    TrajectoryWriter w(path, meta());
    w.append(rows_of(b, 0, 6));
    w.append(rows_of(b, 6, 10));
  }
  std::vector<int64_t> rows{7, 2, 2, 9, 0, 3};
  auto got = TrajectoryReader(path).read_rows(rows);
  TrajectoryBatch want;
  std::vector<TrajectoryBatch> parts;
  for (int64_t r : rows) parts.push_back(rows_of(b, r, r + 1));
  expect_equal(got, TrajectoryBatch::cat(parts));
}

TEST(TrajectoryStore, Float16DeflateAndAbsentOptionalFields) {
  TempDir dir;
  auto b = make_batch(4, 6, {3, 4, 4}, 0, /*optional=*/false);
  b.latents.zero_();  // compressible
  TrajectoryStoreOptions o16;
  o16.float16 = true;
  o16.deflate = 6;
  TrajectoryStoreOptions o32;
  {
    TrajectoryWriter a(dir.file("f16.h5"), meta(), o16), c(dir.file("f32.h5"), meta(), o32);
    a.append(b);
    c.append(b);
  }
  auto f = h5::File::open(dir.file("f16.h5"));
  EXPECT_EQ(f.dataset("latents").type_name(), "float16");
  EXPECT_EQ(f.dataset("latents").deflate_level(), 6);
  EXPECT_FALSE(f.exists("eps"));
  EXPECT_FALSE(f.exists("images"));
  EXPECT_LT(std::filesystem::file_size(dir.file("f16.h5")), std::filesystem::file_size(dir.file("f32.h5")));
  auto r = TrajectoryReader(dir.file("f16.h5")).read();
  EXPECT_EQ(r.latents.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(r.latents, b.latents.to(at::kHalf).to(at::kFloat)));
  EXPECT_FALSE(r.eps.defined());
  EXPECT_FALSE(r.images.defined());
  EXPECT_FALSE(r.prompt_ids.defined());
  EXPECT_EQ(r.prompts, b.prompts);
  // float16 rounding of non-trivial values: within half precision of the original.
  auto b2 = make_batch(2, 6, {3, 4, 4}, 9, false);
  {
    TrajectoryWriter a(dir.file("g.h5"), meta(), o16);
    a.append(b2);
  }
  auto r2 = TrajectoryReader(dir.file("g.h5")).read();
  EXPECT_TRUE(at::allclose(r2.latents, b2.latents, 1e-3, 1e-3));
  EXPECT_FALSE(at::equal(r2.latents, b2.latents));
  // Options drop optional fields even when the batch has them.
  TrajectoryStoreOptions lean;
  lean.eps = lean.images = lean.cond = false;
  {
    TrajectoryWriter a(dir.file("lean.h5"), meta(), lean);
    a.append(make_batch(2, 6, {3, 4, 4}, 0, true));
  }
  auto r3 = TrajectoryReader(dir.file("lean.h5")).read();
  EXPECT_FALSE(r3.eps.defined());
  EXPECT_FALSE(r3.images.defined());
  EXPECT_FALSE(r3.cond.defined());
  EXPECT_TRUE(r3.prompt_ids.defined());
}

TEST(TrajectoryStore, AppendRejectsInconsistentBatches) {
  TempDir dir;
  TrajectoryWriter w(dir.file("t.h5"), meta());
  auto b = make_batch(2, 4, {2}, 0);
  b.log_pb = at::Tensor();
  EXPECT_THROW_MSG(w.append(b), {"t.h5", "log_pb", "undefined (required)"});
  w.append(make_batch(2, 4, {2}, 0));
  EXPECT_THROW_MSG(w.append(make_batch(2, 5, {2}, 2)), {"t.h5", "T = 5", "steps attribute is 4"});
  EXPECT_THROW_MSG(w.append(make_batch(2, 4, {2}, 2, false)), {"t.h5", "eps", "undefined but the file stores it"});
  EXPECT_THROW_MSG(w.append(make_batch(2, 4, {3}, 2)), {"t.h5", "latents", "trailing dimension"});
  auto c = make_batch(2, 4, {2}, 2);
  c.rewards = at::zeros({3});
  EXPECT_THROW_MSG(w.append(c), {"rewards", "expected N = 2"});
  EXPECT_EQ(w.rows(), 2);
}

TEST(TrajectoryStore, ReaderErrorsNameFileAndDataset) {
  TempDir dir;
  auto write = [&](const std::string& name) {
    TrajectoryWriter w(dir.file(name), meta());
    w.append(make_batch(4, 4, {2}, 0));
    w.append(make_batch(4, 4, {2}, 4));
  };
  // Wrong schema version.
  write("schema.h5");
  h5::File::open(dir.file("schema.h5"), true).set_attr("schema_version", int64_t(2));
  EXPECT_THROW_MSG(TrajectoryReader(dir.file("schema.h5")), {dir.file("schema.h5"), "schema_version 2 is not supported"});
  // Missing dataset.
  write("missing.h5");
  {
    auto f = h5::File::open(dir.file("missing.h5"), true);
    ASSERT_GE(H5Ldelete(f.id(), "log_pb", H5P_DEFAULT), 0);
  }
  EXPECT_THROW_MSG(TrajectoryReader(dir.file("missing.h5")), {dir.file("missing.h5"), "dataset log_pb", "missing dataset"});
  // Truncated file.
  write("trunc.h5");
  auto size = std::filesystem::file_size(dir.file("trunc.h5"));
  std::filesystem::resize_file(dir.file("trunc.h5"), size / 2);
  EXPECT_THROW_MSG(TrajectoryReader(dir.file("trunc.h5")), {dir.file("trunc.h5"), "truncated"});
  // Mismatched model, state shape, steps.
  write("ok.h5");
  TrajectoryExpect e;
  e.model_id = "sd15";
  EXPECT_THROW_MSG(TrajectoryReader(dir.file("ok.h5"), e), {dir.file("ok.h5"), "model_id 'toy-2d'", "expected model 'sd15'"});
  e = {};
  e.state_shape = {4, 64, 64};
  EXPECT_THROW_MSG(TrajectoryReader(dir.file("ok.h5"), e), {dir.file("ok.h5"), "dataset latents", "(2)", "(4,64,64)"});
  e = {};
  e.steps = 50;
  EXPECT_THROW_MSG(TrajectoryReader(dir.file("ok.h5"), e), {dir.file("ok.h5"), "steps attribute 4", "T = 50"});
  e = {};
  e.model_id = "toy-2d";
  e.state_shape = {2};
  e.steps = 4;
  EXPECT_EQ(TrajectoryReader(dir.file("ok.h5"), e).rows(), 8);
  // Inconsistent shapes: a log_pf with the wrong T.
  write("shape.h5");
  {
    auto f = h5::File::open(dir.file("shape.h5"), true);
    ASSERT_GE(H5Ldelete(f.id(), "log_pf", H5P_DEFAULT), 0);
    f.write_tensor("log_pf", at::zeros({8, 3}));
  }
  EXPECT_THROW_MSG(TrajectoryReader(dir.file("shape.h5")), {dir.file("shape.h5"), "dataset log_pf", "(8,3)", "T = 4"});
  // Not a trajectory file.
  {
    auto f = h5::File::create(dir.file("other.h5"));
    f.set_attr("schema_version", int64_t(1));
    f.set_attr("kind", "checkpoint");
  }
  EXPECT_THROW_MSG(TrajectoryReader(dir.file("other.h5")), {dir.file("other.h5"), "'checkpoint' file"});
}

TEST(TrajectoryStore, TornAppendAndEmptyFile) {
  TempDir dir;
  {
    TrajectoryWriter w(dir.file("empty.h5"), meta());  // killed before the first batch: no datasets yet
  }
  TrajectoryReader e(dir.file("empty.h5"));
  EXPECT_EQ(e.rows(), 0);
  EXPECT_EQ(e.read().size(), 0);
  {
    TrajectoryWriter w(dir.file("torn.h5"), meta());
    w.append(make_batch(3, 4, {2}, 0));
  }
  h5::File::open(dir.file("torn.h5"), true).set_attr("n_trajectories", int64_t(5));  // claims more than stored
  TrajectoryReader t(dir.file("torn.h5"));
  EXPECT_EQ(t.rows(), 3);
  expect_equal(t.read(), make_batch(3, 4, {2}, 0));
}

TEST(TrajectoryStore, GlobalViewOverRanksAndSegments) {
  TempDir dir;
  const std::string run = dir.path.string();
  std::vector<TrajectoryBatch> in_order;  // sorted path order: seg-0 rank-0, seg-0 rank-1, seg-1 rank-0, ...
  int64_t first = 0;
  for (int64_t seg = 0; seg < 2; ++seg)
    for (int64_t rank = 0; rank < 2; ++rank) {
      TrajectoryWriter w(trajectory_segment_path(run, seg, rank), meta(rank, seg));
      auto b = make_batch(2 + rank, 3, {2}, first);
      first += b.size();
      w.append(b);
      in_order.push_back(b);
    }
  auto all = TrajectoryBatch::cat(in_order);
  TrajectorySet set(run + "/trajectories/seg-*.rank-*.h5");
  EXPECT_EQ(set.rows(), all.size());
  EXPECT_EQ(set.files().size(), 4u);
  EXPECT_EQ(set.files()[2].first_row, 5);
  EXPECT_TRUE(at::equal(set.rewards(), all.rewards));
  EXPECT_TRUE(at::equal(set.policy_versions(), all.policy_version));
  expect_equal(set.read_all(), all);
  expect_equal(read_trajectories(run + "/trajectories/*.h5"), all);
  std::vector<int64_t> rows{9, 0, 4, 5, 5, 1};
  std::vector<TrajectoryBatch> parts;
  for (int64_t r : rows) parts.push_back(rows_of(all, r, r + 1));
  expect_equal(set.gather(rows), TrajectoryBatch::cat(parts));
  EXPECT_THROW_MSG(set.gather({10}), {"row 10 out of range"});
  EXPECT_THROW_MSG(TrajectorySet(run + "/nothing-*.h5"), {"no files match", "nothing-*.h5"});

  // index.h5: table plus virtual datasets, readable as one array.
  EXPECT_EQ(write_trajectory_index(run), 4);
  auto f = h5::File::open(run + "/trajectories/index.h5");
  EXPECT_EQ(f.attr_string("kind"), "trajectory-index");
  EXPECT_EQ(f.attr_int("n_trajectories"), all.size());
  EXPECT_EQ(f.dataset("files").read_strings(),
            (std::vector<std::string>{"seg-000000.rank-000.h5", "seg-000000.rank-001.h5", "seg-000001.rank-000.h5",
                                      "seg-000001.rank-001.h5"}));
  EXPECT_TRUE(at::equal(f.read_tensor("rows"), at::tensor({2, 3, 2, 3}, at::kLong)));
  EXPECT_TRUE(at::equal(f.read_tensor("first_row"), at::tensor({0, 2, 5, 7}, at::kLong)));
  EXPECT_TRUE(f.dataset("rewards").is_virtual());
  EXPECT_FALSE(f.dataset("rows").is_virtual());
  EXPECT_TRUE(at::equal(f.read_tensor("rewards"), all.rewards));
  EXPECT_TRUE(at::equal(f.read_tensor("latents"), all.latents));
  EXPECT_TRUE(at::equal(f.read_tensor("images"), all.images));
  // A glob that also matches index.h5 skips it.
  TrajectorySet again(run + "/trajectories/*.h5");
  EXPECT_EQ(again.files().size(), 4u);
  expect_equal(again.read_all(), all);
}

TEST(TrajectoryStore, ReopenAfterResumeDropsLaterRows) {
  TempDir dir;
  const std::string path = dir.file("seg.h5");
  std::vector<TrajectoryBatch> b;
  for (int64_t v = 0; v < 3; ++v) {
    b.push_back(make_batch(3, 4, {2}, 3 * v));
    b.back().policy_version.fill_(v);
  }
  TrajectoryStoreOptions o;
  o.float16 = true;
  {
    TrajectoryWriter w(path, meta(), o);
    for (const auto& x : b) w.append(x);
  }
  // Resume from the checkpoint taken after policy version 1: the batch of version 2 is redone.
  auto redo = make_batch(3, 4, {2}, 100);
  redo.policy_version.fill_(2);
  {
    auto w = TrajectoryWriter::reopen(path, 2);
    EXPECT_EQ(w.rows(), 6);
    w.append(redo);
    EXPECT_EQ(w.rows(), 9);
  }
  TrajectoryReader r(path);
  EXPECT_EQ(r.rows(), 9);
  EXPECT_EQ(r.meta().policy_version_min, 0);
  EXPECT_EQ(r.meta().policy_version_max, 2);
  EXPECT_EQ(r.meta().latents_dtype, "float16");
  auto want = TrajectoryBatch::cat({b[0], b[1], redo});
  want.latents = want.latents.to(at::kHalf).to(at::kFloat);
  want.eps = want.eps.to(at::kHalf).to(at::kFloat);
  want.cond = want.cond.to(at::kHalf).to(at::kFloat);
  expect_equal(r.read(), want);
  // A file killed before its first batch reopens empty and takes the first batch.
  {
    TrajectoryWriter w(dir.file("empty.h5"), meta());
  }
  {
    auto w = TrajectoryWriter::reopen(dir.file("empty.h5"), 0);
    EXPECT_EQ(w.rows(), 0);
    w.append(b[0]);
  }
  expect_equal(TrajectoryReader(dir.file("empty.h5")).read(), b[0]);
}
