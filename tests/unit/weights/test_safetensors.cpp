// safetensors reader/writer: round trip of every dtype (incl. 0-rank and zero-size tensors), files written by
// the Python `safetensors` package (tools/golden/clip_weights_safetensors.py), and corrupted headers.
#include <cstdio>
#include <fstream>
#include <string>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "dagalign/core/error.h"
#include "dagalign/weights/safetensors.h"

using namespace dagalign;

namespace {

std::string tmp_path(const std::string& name) {
  return testing::TempDir() + "/dagalign_st_" + std::to_string(::getpid()) + "_" + name;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

// A raw file: 8-byte little-endian length (or `len` if given), header text, `data_bytes` zero bytes.
std::string raw_file(const std::string& header, size_t data_bytes, long long len = -1) {
  uint64_t n = len < 0 ? header.size() : uint64_t(len);
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = char((n >> (8 * i)) & 0xff);
  return out + header + std::string(data_bytes, '\0');
}

// Expects read_safetensors(path) to throw an Error whose message contains every one of `parts`.
void expect_error(const std::string& path, std::initializer_list<std::string> parts) {
  try {
    read_safetensors(path);
    FAIL() << "no error for " << path;
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

TensorMap all_dtypes() {
  TensorMap m;
  m["f32"] = at::randn({3, 5});
  m["f64"] = at::randn({2, 2}, at::kDouble);
  m["f16"] = at::randn({4, 1, 3}).to(at::kHalf);
  m["bf16"] = at::randn({7}).to(at::kBFloat16);
  m["i64"] = at::arange(-5, 7, at::kLong).reshape({3, 4});
  m["i32"] = at::arange(-3, 3, at::kInt);
  m["i16"] = at::arange(-3, 3, at::kShort);
  m["i8"] = at::arange(-3, 3, at::kChar);
  m["u8"] = at::arange(0, 250, 7, at::kByte);
  m["bool"] = at::rand({5}) > 0.5;
  m["scalar"] = at::scalar_tensor(3.25, at::kFloat);  // 0-rank
  m["empty"] = at::empty({0, 3}, at::kHalf);          // zero-size
  m["noncontig"] = at::randn({4, 6}).t();              // written contiguous
  return m;
}

}  // namespace

TEST(Safetensors, RoundTripAllDtypes) {
  const auto path = tmp_path("roundtrip.safetensors");
  const auto in = all_dtypes();
  write_safetensors(path, in, {{"format", "pt"}, {"note", "round trip"}});
  Metadata meta;
  const auto out = read_safetensors(path, &meta);
  ASSERT_EQ(out.size(), in.size());
  for (const auto& [k, t] : in) {
    ASSERT_TRUE(out.count(k)) << k;
    const auto& u = out.at(k);
    EXPECT_EQ(u.scalar_type(), t.scalar_type()) << k;
    EXPECT_EQ(u.sizes(), t.sizes()) << k;
    EXPECT_TRUE(at::equal(u, t)) << k;
  }
  EXPECT_EQ(out.at("scalar").dim(), 0);
  EXPECT_EQ(out.at("empty").numel(), 0);
  EXPECT_EQ(meta.at("format"), "pt");
  EXPECT_EQ(meta.at("note"), "round trip");

  // Layout: header length is a multiple of 8 and padded with spaces; 8 + N + data == file size.
  const auto bytes = slurp(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[i]);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(bytes[8], '{');
  size_t data = 0;
  for (const auto& [k, t] : in) data += size_t(t.numel()) * t.element_size();
  EXPECT_EQ(bytes.size(), 8 + n + data);
  const auto last = bytes.find_last_not_of(' ', 8 + n - 1);
  EXPECT_EQ(bytes[last], '}');
  std::remove(path.c_str());
}

TEST(Safetensors, WriterIsAtomicAndLeavesNoTemporary) {
  const auto path = tmp_path("atomic.safetensors");
  write_safetensors(path, {{"a", at::ones({2})}});
  write_safetensors(path, {{"b", at::zeros({3})}});  // replaces the file
  const auto out = read_safetensors(path);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out.count("b"));
  std::ifstream tmp(path + ".tmp." + std::to_string(::getpid()));
  EXPECT_FALSE(tmp.good());
  std::remove(path.c_str());
}

TEST(Safetensors, WriterRejectsUnsupportedDtypeNamingKey) {
  const auto path = tmp_path("complex.safetensors");
  try {
    write_safetensors(path, {{"zc", at::randn({2}, at::kComplexFloat)}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("zc"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
}

// tests/data/weights/python_written.safetensors was written by safetensors.torch.save_file; the values follow
// formulas restated here (tools/golden/clip_weights_safetensors.py).
TEST(Safetensors, ReadsFilesWrittenByPythonPackage) {
  const std::string path = std::string(DAGALIGN_TEST_DATA) + "/weights/python_written.safetensors";
  Metadata meta;
  const auto m = read_safetensors(path, &meta);
  EXPECT_EQ(meta.at("format"), "pt");
  EXPECT_EQ(meta.at("writer"), "safetensors.torch.save_file");
  const auto base = at::arange(24, at::kDouble).reshape({2, 3, 4}) * 0.25 - 2.5;
  EXPECT_TRUE(at::equal(m.at("f32"), base.to(at::kFloat)));
  EXPECT_TRUE(at::equal(m.at("f64"), base));
  EXPECT_TRUE(at::equal(m.at("f16"), base.to(at::kHalf)));
  EXPECT_TRUE(at::equal(m.at("bf16"), base.to(at::kBFloat16)));
  EXPECT_TRUE(at::equal(m.at("i64"), at::arange(-6, 6, at::kLong).reshape({3, 4}) * at::Scalar(int64_t(1000000007))));
  EXPECT_TRUE(at::equal(m.at("i32"), at::arange(-6, 6, at::kInt)));
  EXPECT_TRUE(at::equal(m.at("u8"), at::arange(0, 256, 17, at::kByte)));
  EXPECT_TRUE(at::equal(m.at("bool"), at::arange(7, at::kLong).remainder(3) == 0));
  EXPECT_EQ(m.at("scalar").dim(), 0);
  EXPECT_EQ(m.at("scalar").item<float>(), -1.5f);
  EXPECT_EQ(m.at("empty").sizes(), at::IntArrayRef({2, 0}));
  EXPECT_EQ(m.at("empty").scalar_type(), at::kHalf);
  EXPECT_TRUE(at::equal(m.at("text_model.embeddings.position_ids"), at::arange(77, at::kLong).unsqueeze(0)));
  EXPECT_EQ(m.size(), 11u);
}

// Re-writing a Python-written file with our writer keeps every tensor, dtype and metadata entry.
TEST(Safetensors, RewritingPythonFileKeepsEveryTensor) {
  const std::string src = std::string(DAGALIGN_TEST_DATA) + "/weights/python_written.safetensors";
  const auto path = tmp_path("rewrite.safetensors");
  Metadata meta;
  const auto m = read_safetensors(src, &meta);
  write_safetensors(path, m, meta);
  Metadata meta2;
  const auto m2 = read_safetensors(path, &meta2);
  EXPECT_EQ(meta, meta2);
  ASSERT_EQ(m.size(), m2.size());
  for (const auto& [k, t] : m) EXPECT_TRUE(at::equal(t, m2.at(k))) << k;
  std::remove(path.c_str());
}

TEST(SafetensorsCorrupt, HeaderLengthBeyondLimit) {
  const auto path = tmp_path("biglen.safetensors");
  spit(path, raw_file("{}", 0, 100000001LL));
  expect_error(path, {"header length 100000001", "limit"});
}

TEST(SafetensorsCorrupt, HeaderLengthPastEndOfFile) {
  const auto path = tmp_path("pastend.safetensors");
  spit(path, raw_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4, 5000));
  expect_error(path, {"header length 5000", "truncated"});
}

TEST(SafetensorsCorrupt, ShorterThanLengthField) {
  const auto path = tmp_path("tiny.safetensors");
  spit(path, "abc");
  expect_error(path, {"shorter than"});
}

TEST(SafetensorsCorrupt, OverlappingOffsets) {
  const auto path = tmp_path("overlap.safetensors");
  spit(path, raw_file(R"({"a.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                      R"("b.bias":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                      12));
  expect_error(path, {"'b.bias'", "overlaps", "'a.weight'"});
}

TEST(SafetensorsCorrupt, GapBetweenTensors) {
  const auto path = tmp_path("gap.safetensors");
  spit(path, raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                      R"("conv.weight":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                      12));
  expect_error(path, {"'conv.weight'", "gap"});
}

TEST(SafetensorsCorrupt, SizeDoesNotMatchShapeAndDtype) {
  const auto path = tmp_path("size.safetensors");
  spit(path, raw_file(R"({"unet.conv_in.weight":{"dtype":"F16","shape":[2,3],"data_offsets":[0,24]}})", 24));
  expect_error(path, {"'unet.conv_in.weight'", "needs 12"});
}

TEST(SafetensorsCorrupt, TruncatedFileNamesLastTensor) {
  const auto path = tmp_path("trunc.safetensors");
  write_safetensors(path, {{"first", at::ones({4})}, {"zlast.weight", at::ones({16})}});
  auto bytes = slurp(path);
  spit(path, bytes.substr(0, bytes.size() - 5));
  expect_error(path, {"truncated", "'zlast.weight'"});
}

TEST(SafetensorsCorrupt, TrailingBytes) {
  const auto path = tmp_path("trailing.safetensors");
  write_safetensors(path, {{"only.weight", at::ones({4})}});
  spit(path, slurp(path) + "xx");
  expect_error(path, {"trailing", "'only.weight'"});
}

TEST(SafetensorsCorrupt, DuplicateKey) {
  const auto path = tmp_path("dup.safetensors");
  spit(path, raw_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                      R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                      8));
  expect_error(path, {"'w'", "twice"});
}

TEST(SafetensorsCorrupt, UnknownDtypeAndBadFields) {
  const auto path = tmp_path("dtype.safetensors");
  spit(path, raw_file(R"({"emb":{"dtype":"F17","shape":[1],"data_offsets":[0,4]}})", 4));
  expect_error(path, {"'emb'", "F17"});
  spit(path, raw_file(R"({"emb":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4));
  expect_error(path, {"'emb'", "shape"});
  spit(path, raw_file(R"({"emb":{"dtype":"F32","shape":[1]}})", 4));
  expect_error(path, {"'emb'", "data_offsets"});
  spit(path, raw_file(R"({"emb":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 4));
  expect_error(path, {"'emb'", "end < begin"});
}

TEST(SafetensorsCorrupt, NotJson) {
  const auto path = tmp_path("json.safetensors");
  spit(path, raw_file("{\"w\": [1, 2", 0));
  expect_error(path, {"not valid JSON"});
  spit(path, raw_file("[1, 2]  ", 0));
  expect_error(path, {"'{'"});
}

TEST(SafetensorsCorrupt, MissingFile) {
  expect_error(tmp_path("does-not-exist.safetensors"), {"cannot open"});
}
