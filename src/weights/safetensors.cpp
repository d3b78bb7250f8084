// safetensors reader and writer. Validation follows huggingface/safetensors `safetensors/src/tensor.rs`
// (SafeTensors::read_metadata + Metadata::validate):
//   bytes [0, 8): N, u64 little-endian, N <= 100,000,000 (MAX_HEADER_SIZE), 8 + N <= file size;
//   bytes [8, 8+N): UTF-8 JSON object starting with '{': {key: {dtype, shape, data_offsets}, "__metadata__"};
//   entries sorted by data_offsets cover [0, B) contiguously (no gap, no overlap), with
//   end - begin == prod(shape) * itemsize(dtype), and 8 + N + B == file size.
#include "dagalign/weights/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <tuple>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "dagalign/core/error.h"

namespace dagalign {
namespace {

constexpr uint64_t kMaxHeaderSize = 100000000;  // safetensors MAX_HEADER_SIZE

static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE types expected");

bool host_little_endian() {
  const uint16_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

struct DtypeInfo {
  const char* name;
  at::ScalarType type;
  size_t itemsize;
};

// The safetensors dtypes LibTorch can hold without reinterpretation.
const DtypeInfo kDtypes[] = {
    {"F64", at::kDouble, 8}, {"F32", at::kFloat, 4}, {"F16", at::kHalf, 2}, {"BF16", at::kBFloat16, 2},
    {"I64", at::kLong, 8},   {"I32", at::kInt, 4},   {"I16", at::kShort, 2}, {"I8", at::kChar, 1},
    {"U8", at::kByte, 1},    {"BOOL", at::kBool, 1},
};

const DtypeInfo* dtype_by_name(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

const DtypeInfo& dtype_by_type(at::ScalarType t, const std::string& path, const std::string& key) {
  for (const auto& d : kDtypes)
    if (t == d.type) return d;
  throw Error(cat("safetensors file ", path, ": tensor '", key, "' has dtype ", c10::toString(t),
                  " which safetensors (as written here) does not support"));
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

struct Entry {
  std::string key;
  const DtypeInfo* dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

// Reads a non-negative JSON integer that fits in int64 (shapes) / uint64 (offsets).
uint64_t json_u64(const nlohmann::json& v, const std::string& path, const std::string& key, const char* field) {
  DAG_CHECK(v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0), "safetensors file ",
            path, ": tensor '", key, "': ", field, " must hold non-negative integers, found ", v.dump());
  return v.get<uint64_t>();
}

Entry parse_entry(const std::string& path, const std::string& key, const nlohmann::json& info) {
  const auto where = [&] { return cat("safetensors file ", path, ": tensor '", key, "': "); };
  DAG_CHECK(info.is_object(), where(), "header entry must be an object, found ", info.dump());
  for (const char* f : {"dtype", "shape", "data_offsets"})
    DAG_CHECK(info.contains(f), where(), "header entry lacks '", f, "'");
  const auto& jd = info.at("dtype");
  DAG_CHECK(jd.is_string(), where(), "dtype must be a string, found ", jd.dump());
  Entry e;
  e.key = key;
  e.dtype = dtype_by_name(jd.get<std::string>());
  DAG_CHECK(e.dtype != nullptr, where(), "unsupported dtype '", jd.get<std::string>(),
            "' (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
  const auto& js = info.at("shape");
  DAG_CHECK(js.is_array(), where(), "shape must be an array, found ", js.dump());
  for (const auto& d : js) {
    uint64_t v = json_u64(d, path, key, "shape");
    DAG_CHECK(v <= uint64_t(std::numeric_limits<int64_t>::max()), where(), "shape entry too large: ", v);
    e.shape.push_back(int64_t(v));
  }
  const auto& jo = info.at("data_offsets");
  DAG_CHECK(jo.is_array() && jo.size() == 2, where(), "data_offsets must be [begin, end], found ", jo.dump());
  e.begin = json_u64(jo[0], path, key, "data_offsets");
  e.end = json_u64(jo[1], path, key, "data_offsets");
  DAG_CHECK(e.begin <= e.end, where(), "data_offsets [", e.begin, ", ", e.end, ") has end < begin");
  // end - begin == prod(shape) * itemsize, with overflow checks (tensor.rs: ValidationOverflow).
  uint64_t bytes = e.dtype->itemsize;
  for (int64_t d : e.shape) {
    DAG_CHECK(d == 0 || bytes <= std::numeric_limits<uint64_t>::max() / uint64_t(d), where(),
              "shape ", shape_str(e.shape), " overflows");
    bytes *= uint64_t(d);
  }
  DAG_CHECK(e.end - e.begin == bytes, where(), "data_offsets [", e.begin, ", ", e.end, ") span ",
            e.end - e.begin, " bytes but dtype ", e.dtype->name, " shape ", shape_str(e.shape), " needs ", bytes);
  return e;
}

}  // namespace

TensorMap read_safetensors(const std::string& path, Metadata* metadata) {
  DAG_CHECK(host_little_endian(), "safetensors file ", path, ": big-endian hosts are not supported");
  std::ifstream in(path, std::ios::binary);
  DAG_CHECK(in, "safetensors file ", path, ": cannot open (", std::strerror(errno), ")");
  in.seekg(0, std::ios::end);
  const uint64_t file_size = uint64_t(in.tellg());
  in.seekg(0);
  DAG_CHECK(file_size >= 8, "safetensors file ", path, ": ", file_size,
            " bytes is shorter than the 8-byte header length (truncated?)");
  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | len_bytes[i];  // little-endian u64
  DAG_CHECK(n <= kMaxHeaderSize, "safetensors file ", path, ": header length ", n,
            " exceeds the format's limit of ", kMaxHeaderSize, " bytes (not a safetensors file?)");
  DAG_CHECK(8 + n <= file_size, "safetensors file ", path, ": header length ", n, " runs past the end of the ",
            file_size, "-byte file (truncated?)");
  std::string header(n, '\0');
  in.read(header.data(), std::streamsize(n));
  DAG_CHECK(in, "safetensors file ", path, ": cannot read the ", n, "-byte header");
  DAG_CHECK(n > 0 && header[0] == '{', "safetensors file ", path, ": header does not start with '{'");

  // Duplicate top-level keys are an error (serde rejects them); nlohmann would silently keep the last one.
  std::set<std::string> seen;
  std::string duplicate;
  nlohmann::json::parser_callback_t cb = [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& v) {
    if (depth == 1 && ev == nlohmann::json::parse_event_t::key) {
      auto k = v.get<std::string>();
      if (!seen.insert(k).second && duplicate.empty()) duplicate = k;
    }
    return true;
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header, cb);
  } catch (const nlohmann::json::exception& e) {
    throw Error(cat("safetensors file ", path, ": header is not valid JSON: ", e.what()));
  }
  DAG_CHECK(duplicate.empty(), "safetensors file ", path, ": tensor '", duplicate, "' appears twice in the header");
  DAG_CHECK(j.is_object(), "safetensors file ", path, ": header must be a JSON object");

  std::vector<Entry> entries;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") {
      DAG_CHECK(it.value().is_object(), "safetensors file ", path, ": __metadata__ must be an object");
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        DAG_CHECK(m.value().is_string(), "safetensors file ", path, ": __metadata__ key '", m.key(),
                  "' must map to a string, found ", m.value().dump());
        if (metadata) (*metadata)[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(path, it.key(), it.value()));
  }
  // Contiguity: sorted by offsets, each tensor starts where the previous one ended.
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  uint64_t expected = 0;
  std::string prev = "(start of data)";
  for (const auto& e : entries) {
    DAG_CHECK(e.begin == expected, "safetensors file ", path, ": tensor '", e.key, "' data_offsets [", e.begin,
              ", ", e.end, ") ", (e.begin < expected ? "overlaps" : "leaves a gap after"), " '", prev,
              "' which ends at ", expected);
    expected = e.end;
    prev = e.key;
  }
  DAG_CHECK(8 + n + expected == file_size, "safetensors file ", path, ": header describes ", 8 + n + expected,
            " bytes (last tensor '", prev, "' ends at data offset ", expected, ") but the file has ", file_size,
            " bytes", (8 + n + expected > file_size ? " (truncated)" : " (trailing bytes)"));

  TensorMap out;
  for (const auto& e : entries) {
    at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(e.dtype->type));
    const uint64_t bytes = e.end - e.begin;
    if (bytes > 0) {
      in.seekg(std::streamoff(8 + n + e.begin));
      in.read(static_cast<char*>(t.data_ptr()), std::streamsize(bytes));
      DAG_CHECK(in, "safetensors file ", path, ": tensor '", e.key, "': short read of ", bytes, " bytes");
    }
    out.emplace(e.key, std::move(t));
  }
  return out;
}

void write_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata) {
  DAG_CHECK(host_little_endian(), "safetensors file ", path, ": big-endian hosts are not supported");
  struct Item {
    std::string key;
    const DtypeInfo* dtype;
    at::Tensor t;
  };
  std::vector<Item> items;
  for (const auto& [key, tensor] : tensors) {
    DAG_CHECK(!key.empty() && key != "__metadata__", "safetensors file ", path, ": invalid tensor name '", key,
              "'");
    DAG_CHECK(tensor.defined(), "safetensors file ", path, ": tensor '", key, "' is undefined");
    const auto& d = dtype_by_type(tensor.scalar_type(), path, key);
    items.push_back({key, &d, tensor.detach().to(at::kCPU).contiguous()});
  }
  // Layout as the Python package writes it: descending alignment (itemsize), then name.
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return a.dtype->itemsize != b.dtype->itemsize ? a.dtype->itemsize > b.dtype->itemsize : a.key < b.key;
  });
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& it : items) {
    const uint64_t bytes = uint64_t(it.t.numel()) * it.dtype->itemsize;
    header[it.key] = {{"dtype", it.dtype->name},
                      {"shape", std::vector<int64_t>(it.t.sizes().begin(), it.t.sizes().end())},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // pad with spaces to a multiple of 8
  const uint64_t n = text.size();

  const std::string tmp = cat(path, ".tmp.", ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    DAG_CHECK(out, "safetensors file ", path, ": cannot create ", tmp, " (", std::strerror(errno), ")");
    unsigned char len_bytes[8];
    for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xff);
    out.write(reinterpret_cast<const char*>(len_bytes), 8);
    out.write(text.data(), std::streamsize(n));
    for (const auto& it : items)
      out.write(static_cast<const char*>(it.t.data_ptr()), std::streamsize(uint64_t(it.t.numel()) * it.dtype->itemsize));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw Error(cat("safetensors file ", path, ": write to ", tmp, " failed (", std::strerror(errno), ")"));
    }
  }
  // Data on disk before the rename makes it visible: a crash leaves the old file or the new one, whole.
  const int fd = ::open(tmp.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    std::remove(tmp.c_str());
    throw Error(cat("safetensors file ", path, ": cannot sync ", tmp, " (", std::strerror(err), ")"));
  }
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw Error(cat("safetensors file ", path, ": cannot rename ", tmp, " into place (", std::strerror(err), ")"));
  }
}

}  // namespace dagalign
