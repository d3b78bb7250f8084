// RAII HDF5 wrappers: round trips of every supported dtype, attributes, extendible rows, strings, and
// error messages naming the file and the object.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/io/hdf5.h"
#include "io_test_util.h"

using namespace dagalign;

TEST(Hdf5, TensorRoundTripEveryDtype) {
  TempDir dir;
  const std::string path = dir.file("t.h5");
  at::manual_seed(0);
  std::vector<std::pair<std::string, at::Tensor>> cases = {
      {"f32", at::randn({3, 4})},
      {"f64", at::randn({2, 2, 2}, at::kDouble)},
      {"f16", at::randn({5}).to(at::kHalf)},
      {"bf16", at::randn({4, 3}).to(at::kBFloat16)},
      {"i64", at::arange(-5, 7, at::kLong).reshape({3, 4})},
      {"i32", at::arange(0, 6, at::kInt)},
      {"u8", at::randint(0, 256, {2, 3, 3}, at::kByte)},
      {"bool", at::rand({7}) > 0.5},
      {"scalar", at::scalar_tensor(3.25, at::kDouble)},
      {"empty", at::zeros({0, 3})},
  };
  {
    auto f = h5::File::create(path);
    for (auto& [n, t] : cases) f.write_tensor("grp/" + n, t);
    f.close();
  }
  auto f = h5::File::open(path);
  EXPECT_TRUE(f.is_group("grp"));
  for (auto& [n, t] : cases) {
    at::Tensor r = f.read_tensor("grp/" + n);
    EXPECT_EQ(r.scalar_type(), t.scalar_type()) << n;
    EXPECT_EQ(r.sizes(), t.sizes()) << n;
    EXPECT_TRUE(at::equal(r, t)) << n;
  }
  EXPECT_EQ(f.dataset("grp/f16").type_name(), "float16");
  EXPECT_EQ(f.dataset("grp/bf16").type_name(), "float32");
  EXPECT_EQ(f.dataset("grp/u8").type_name(), "uint8");
  EXPECT_EQ(f.group("grp").children().size(), cases.size());
}

TEST(Hdf5, AttributesOfScalarAndStringTypes) {
  TempDir dir;
  const std::string path = dir.file("a.h5");
  {
    auto f = h5::File::create(path);
    f.set_attr("n", int64_t(-42));
    f.set_attr("x", 0.125);
    f.set_attr("s", std::string("héllo wörld"));
    f.set_attr("n", int64_t(7));     // overwrite, same type
    f.set_attr("x", std::string("now text"));  // replace with another type
    f.close();
  }
  auto f = h5::File::open(path);
  EXPECT_EQ(f.attr_int("n"), 7);
  EXPECT_DOUBLE_EQ(f.attr_double("n"), 7.0);
  EXPECT_EQ(f.attr_string("x"), "now text");
  EXPECT_EQ(f.attr_string("s"), "héllo wörld");
  EXPECT_EQ(f.attr_text("n"), "7");
  EXPECT_TRUE(f.has_attr("s"));
  EXPECT_FALSE(f.has_attr("nope"));
  EXPECT_EQ(f.attr_names(), (std::vector<std::string>{"n", "s", "x"}));
  try {
    f.attr_int("s");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("attribute 's' is not an integer"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(Hdf5, ExtendibleRowsAppendAndRead) {
  TempDir dir;
  const std::string path = dir.file("r.h5");
  at::Tensor a = at::randn({3, 2, 5}), b = at::randn({4, 2, 5});
  {
    auto f = h5::File::create(path);
    auto d = f.create_rows("x", at::kFloat, {2, 5}, {1, 4});
    auto h = f.create_rows("h", at::kHalf, {2, 5}, {2, 0});
    auto s = f.create_string_rows("s", {16, 0});
    d.append_rows(a);
    d.append_rows(b);
    h.append_rows(a);  // converted float32 -> float16 on the way in
    s.append_strings({"a", "", "ünïcode"});
    s.append_strings({"d"});
    EXPECT_EQ(d.rows(), 7);
    EXPECT_THROW(d.append_rows(at::randn({1, 3, 5})), Error);
    f.close();
  }
  auto f = h5::File::open(path);
  auto d = f.dataset("x");
  EXPECT_EQ(d.shape(), (std::vector<int64_t>{7, 2, 5}));
  EXPECT_EQ(d.chunk(), (std::vector<int64_t>{1, 2, 5}));
  EXPECT_EQ(d.deflate_level(), 4);
  EXPECT_TRUE(at::equal(d.read(), at::cat({a, b})));
  EXPECT_TRUE(at::equal(d.read_rows(2, 3), at::cat({a, b}).slice(0, 2, 5)));
  auto h = f.dataset("h");
  EXPECT_EQ(h.type_name(), "float16");
  EXPECT_EQ(h.deflate_level(), 0);
  EXPECT_TRUE(at::equal(h.read(), a.to(at::kHalf)));
  EXPECT_EQ(f.dataset("s").read_strings(), (std::vector<std::string>{"a", "", "ünïcode", "d"}));
  EXPECT_EQ(f.dataset("s").read_strings(1, 2), (std::vector<std::string>{"", "ünïcode"}));
  EXPECT_THROW(d.read_rows(5, 3), Error);
}

TEST(Hdf5, TextDataset) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  std::string text(200000, 'x');  // longer than the 64 KiB object header limit for attributes
  text += "\n[train]\nlr = 1e-4\n";
  {
    auto f = h5::File::create(path);
    f.write_text("config", text);
    f.close();
  }
  EXPECT_EQ(h5::File::open(path).read_text("config"), text);
}

TEST(Hdf5, ErrorsNameFileAndObject) {
  TempDir dir;
  const std::string missing = dir.file("missing.h5");
  EXPECT_THROW_MSG(h5::File::open(missing), {missing, "cannot open"});
  const std::string text = dir.file("text.h5");
  std::ofstream(text) << "this is not an HDF5 file\n";
  EXPECT_THROW_MSG(h5::File::open(text), {text, "truncated, corrupt or not HDF5", "signature"});
  const std::string good = dir.file("g.h5");
  {
    auto f = h5::File::create(good);
    f.write_tensor("a/b", at::zeros({2}));
    f.close();
  }
  auto f = h5::File::open(good);
  EXPECT_THROW_MSG(f.dataset("a/zz"), {good, "missing dataset 'a/zz'"});
  EXPECT_THROW_MSG(f.dataset("q/r/s"), {good, "missing dataset 'q/r/s'"});
  EXPECT_THROW_MSG(f.group("nope"), {good, "missing group 'nope'"});
  EXPECT_THROW_MSG(f.attr_int("epoch"), {good, "missing attribute 'epoch'"});
  // A read-only file refuses writes with the HDF5 stack in the message.
  EXPECT_THROW_MSG(f.write_tensor("c", at::zeros({1})), {good, "object /c", "creating dataset", "H5Dcreate2"});
}

// An in-memory file reaches the disk only through publish(): until then the path does not exist, after
// it the path holds exactly the published state (later unpublished changes are not visible), no .tmp is
// left, and open_in_memory + publish continues a published file.
TEST(Hdf5, InMemoryFileIsVisibleOnlyAsPublished) {
  TempDir dir;
  const std::string path = dir.file("m.h5");
  auto f = h5::File::create_in_memory(path);
  auto d = f.create_rows("x", at::kFloat, {2}, h5::RowsLayout{4, 0});
  d.append_rows(at::ones({3, 2}));
  EXPECT_FALSE(std::ifstream(path).good());
  f.publish();
  d.append_rows(at::full({5, 2}, 2.0));  // not published
  EXPECT_FALSE(std::ifstream(path + ".tmp").good());
  {
    auto r = h5::File::open(path);
    EXPECT_TRUE(at::equal(r.dataset("x").read(), at::ones({3, 2})));
  }
  f.publish(/*fsync=*/true);
  d = h5::Dataset();
  f.close();
  {
    auto r = h5::File::open(path);
    EXPECT_EQ(r.dataset("x").rows(), 8);
  }
  auto g = h5::File::open_in_memory(path);
  g.dataset("x").resize_rows(1);
  g.set_attr("k", int64_t(7));
  {
    auto r = h5::File::open(path);  // the disk file is unchanged until publish
    EXPECT_EQ(r.dataset("x").rows(), 8);
  }
  g.publish();
  g.close();
  auto r = h5::File::open(path);
  EXPECT_EQ(r.dataset("x").rows(), 1);
  EXPECT_EQ(r.attr_int("k"), 7);
}
