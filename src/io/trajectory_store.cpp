// Trajectory files (schema v1): writer, validating reader, global view over many files.
#include "dagalign/io/trajectory_store.h"

#include <glob.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/core/runtime.h"
#include "dagalign/io/hdf5.h"

namespace dagalign {
namespace {

const char* kPrompts = "prompts";

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + ")";
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return b;
}

[[noreturn]] void bad(const std::string& path, const std::string& dataset, const std::string& what) {
  throw Error(cat("HDF5 file ", path, (dataset.empty() ? "" : ", dataset " + dataset), ": ", what));
}

bool stored(const TrajectoryField& f, const TrajectoryStoreOptions& o) {
  std::string n = f.name;
  if (n == "eps") return o.eps;
  if (n == "cond") return o.cond;
  if (n == "images") return o.images;
  return true;
}

}  // namespace

std::string trajectory_segment_path(const std::string& run_dir, int64_t segment, int64_t rank) {
  char name[64];
  std::snprintf(name, sizeof name, "seg-%06lld.rank-%03lld.h5", (long long)segment, (long long)rank);
  return (std::filesystem::path(run_dir) / "trajectories" / name).string();
}

// ------------------------------------------------------------------------------------------- writer

struct TrajectoryWriter::Impl {
  std::string path;
  TrajectoryFileMeta meta;
  TrajectoryStoreOptions opt;
  h5::File file;
  std::map<std::string, h5::Dataset> ds;  // created datasets by name (prompts included)
  bool created = false;
  int64_t rows = 0;

  void create_datasets(const TrajectoryBatch& b) {
    for (const auto& f : trajectory_fields()) {
      const at::Tensor& t = b.*f.member;
      if (!t.defined() || !stored(f, opt)) continue;
      at::ScalarType st = f.floaty ? (opt.float16 ? at::kHalf : at::kFloat) : f.dtype;
      std::vector<int64_t> trailing(t.sizes().begin() + 1, t.sizes().end());
      int64_t row_bytes = int64_t(at::elementSize(st));
      for (int64_t d : trailing) row_bytes *= d;
      h5::RowsLayout layout;
      layout.chunk_rows = std::clamp<int64_t>(opt.chunk_bytes / std::max<int64_t>(row_bytes, 1), 1, 1024);
      layout.deflate = opt.deflate;
      ds.emplace(f.name, file.create_rows(f.name, st, trailing, layout));
    }
    h5::RowsLayout sl;
    sl.chunk_rows = 256;
    sl.deflate = 0;
    ds.emplace(kPrompts, file.create_string_rows(kPrompts, sl));
    meta.latents_dtype = opt.float16 ? "float16" : "float32";
    file.set_attr("latents_dtype", meta.latents_dtype);
    created = true;
  }

  void check(const TrajectoryBatch& b) const {
    const int64_t n = b.size();
    const int64_t T = b.steps();
    for (const auto& f : trajectory_fields()) {
      const at::Tensor& t = b.*f.member;
      if (f.required && !t.defined())
        bad(path, f.name, cat("append: TrajectoryBatch field ", f.name, " is undefined (required)"));
      if (t.defined() && (t.dim() < 1 || t.size(0) != n))
        bad(path, f.name, cat("append: field ", f.name, " has shape ", t.sizes(), ", expected N = ", n, " rows"));
      if (created && stored(f, opt) && t.defined() != (ds.count(f.name) > 0))
        bad(path, f.name, cat("append: field ", f.name, t.defined() ? " is defined but the file has no such dataset"
                                                                   : " is undefined but the file stores it"));
    }
    if (b.timesteps.dim() != 2) bad(path, "timesteps", cat("append: timesteps must be (N, T), found ", b.timesteps.sizes()));
    if (b.latents.dim() < 2 || b.latents.size(1) != T + 1)
      bad(path, "latents", cat("append: latents ", b.latents.sizes(), " must be (N, T+1, S...) with T = ", T));
    for (const char* n2 : {"log_pf", "log_pb"}) {
      const at::Tensor& t = n2 == std::string("log_pf") ? b.log_pf : b.log_pb;
      if (t.dim() != 2 || t.size(1) != T) bad(path, n2, cat("append: ", n2, " ", t.sizes(), " must be (N, T) with T = ", T));
    }
    if (meta.steps > 0 && T != meta.steps)
      bad(path, "timesteps", cat("append: batch has T = ", T, " but the file's steps attribute is ", meta.steps));
    if (!b.prompts.empty() && int64_t(b.prompts.size()) != n)
      bad(path, kPrompts, cat("append: ", b.prompts.size(), " prompts for ", n, " trajectories"));
  }
};

TrajectoryWriter::TrajectoryWriter(const std::string& path, const TrajectoryFileMeta& meta,
                                   const TrajectoryStoreOptions& opt)
    : impl_(std::make_unique<Impl>()) {
  auto& I = *impl_;
  I.path = path;
  I.meta = meta;
  I.opt = opt;
  if (opt.deflate < 0 || opt.deflate > 9) throw Error(cat("trajectory store: deflate level ", opt.deflate, " not in 0..9"));
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  // Held in memory and published (path.tmp renamed over path) after every append: `path` always holds
  // the image of the last append() that returned, whenever the process dies (h5::File::publish).
  I.file = h5::File::create_in_memory(path);
  I.meta.git_revision = git_revision();
  I.meta.schema_version = kTrajectorySchemaVersion;
  auto& f = I.file;
  f.set_attr("schema_version", kTrajectorySchemaVersion);
  f.set_attr("kind", "trajectories");
  f.set_attr("run_name", meta.run_name);
  f.set_attr("rank", meta.rank);
  f.set_attr("world_size", meta.world_size);
  f.set_attr("segment", meta.segment);
  f.set_attr("git_revision", I.meta.git_revision);
  f.set_attr("model_id", meta.model_id);
  f.set_attr("scheduler", meta.scheduler);
  f.set_attr("steps", meta.steps);
  f.set_attr("eta", meta.eta);
  f.set_attr("guidance", meta.guidance);
  f.set_attr("algorithm", meta.algorithm);
  f.set_attr("created", utc_now());
  f.set_attr("n_trajectories", int64_t(0));
  f.set_attr("policy_version_min", int64_t(0));
  f.set_attr("policy_version_max", int64_t(-1));
  f.write_text("config", meta.config);
  f.publish(opt.fsync);
}

TrajectoryWriter::TrajectoryWriter() : impl_(std::make_unique<Impl>()) {}

TrajectoryWriter TrajectoryWriter::reopen(const std::string& path, int64_t keep_before_version,
                                          const TrajectoryStoreOptions& opt) {
  int64_t keep = 0;
  TrajectoryFileMeta meta;
  {
    TrajectoryReader r(path);  // validates schema and shapes
    meta = r.meta();
    if (r.rows() > 0) {
      at::Tensor pv = r.read(0, r.rows()).policy_version;
      while (keep < pv.size(0) && pv[keep].item<int64_t>() < keep_before_version) ++keep;
    }
  }
  TrajectoryWriter w;
  auto& I = *w.impl_;
  I.path = path;
  I.meta = meta;
  I.opt = opt;
  I.file = h5::File::open_in_memory(path);
  for (const auto& f : trajectory_fields())
    if (I.file.exists(f.name)) I.ds.emplace(f.name, I.file.dataset(f.name));
  if (I.file.exists(kPrompts)) I.ds.emplace(kPrompts, I.file.dataset(kPrompts));
  I.created = !I.ds.empty();
  if (I.created) I.opt.float16 = meta.latents_dtype == "float16";  // else the caller's choice applies
  for (auto& [name, d] : I.ds) d.resize_rows(keep);
  I.rows = keep;
  I.meta.n_trajectories = keep;
  I.meta.policy_version_min = 0;
  I.meta.policy_version_max = -1;
  if (keep > 0) {
    at::Tensor pv = I.ds.at("policy_version").read_rows(0, keep);
    I.meta.policy_version_min = pv.min().item<int64_t>();
    I.meta.policy_version_max = pv.max().item<int64_t>();
  }
  I.file.set_attr("policy_version_min", I.meta.policy_version_min);
  I.file.set_attr("policy_version_max", I.meta.policy_version_max);
  I.file.set_attr("n_trajectories", keep);
  I.file.publish(opt.fsync);
  return w;
}

TrajectoryWriter::~TrajectoryWriter() {
  if (!impl_) return;
  try {
    close();
  } catch (const std::exception& e) {
    log::warn(e.what());
  }
}

TrajectoryWriter::TrajectoryWriter(TrajectoryWriter&&) noexcept = default;
TrajectoryWriter& TrajectoryWriter::operator=(TrajectoryWriter&&) noexcept = default;

void TrajectoryWriter::append(const TrajectoryBatch& b) {
  auto& I = *impl_;
  if (!I.file.valid()) bad(I.path, "", "append after close");
  const int64_t n = b.size();
  if (n == 0) return;
  I.check(b);
  if (!I.created) {
    if (I.meta.steps <= 0) {
      I.meta.steps = b.steps();
      I.file.set_attr("steps", I.meta.steps);
    }
    I.create_datasets(b);
  }
  for (const auto& f : trajectory_fields()) {
    auto it = I.ds.find(f.name);
    if (it != I.ds.end()) it->second.append_rows(b.*f.member);
  }
  I.ds.at(kPrompts).append_strings(b.prompts.empty() ? std::vector<std::string>(size_t(n)) : b.prompts);
  // The row count and version range are written last: a reader trusts n_trajectories.
  at::Tensor pv = b.policy_version.to(at::kLong);
  int64_t lo = pv.min().item<int64_t>(), hi = pv.max().item<int64_t>();
  if (I.meta.policy_version_max < I.meta.policy_version_min) {
    I.meta.policy_version_min = lo;
    I.meta.policy_version_max = hi;
  } else {
    I.meta.policy_version_min = std::min(I.meta.policy_version_min, lo);
    I.meta.policy_version_max = std::max(I.meta.policy_version_max, hi);
  }
  I.rows += n;
  I.meta.n_trajectories = I.rows;
  I.file.set_attr("policy_version_min", I.meta.policy_version_min);
  I.file.set_attr("policy_version_max", I.meta.policy_version_max);
  I.file.set_attr("n_trajectories", I.rows);
  I.file.publish(I.opt.fsync);
}

int64_t TrajectoryWriter::rows() const { return impl_->rows; }
const std::string& TrajectoryWriter::path() const { return impl_->path; }

void TrajectoryWriter::close() {
  auto& I = *impl_;
  if (!I.file.valid()) return;
  I.ds.clear();  // every change was published by the append (or constructor) that made it
  I.file.close();
}

// ------------------------------------------------------------------------------------------- reader

struct TrajectoryReader::Impl {
  std::string path;
  h5::File file;
  TrajectoryFileMeta meta;
  int64_t rows = 0;
  std::vector<int64_t> state;
  std::map<std::string, h5::Dataset> ds;  // present datasets (prompts included)
};

TrajectoryReader::TrajectoryReader(const std::string& path, const TrajectoryExpect& expect)
    : impl_(std::make_unique<Impl>()) {
  auto& I = *impl_;
  I.path = path;
  I.file = h5::File::open(path);
  auto& f = I.file;
  if (!f.has_attr("schema_version"))
    bad(path, "", "not a dagalign trajectory file (no schema_version attribute)");
  const int64_t sv = f.attr_int("schema_version");
  if (sv != kTrajectorySchemaVersion)
    bad(path, "", cat("schema_version ", sv, " is not supported (this build reads trajectory schema ",
                      kTrajectorySchemaVersion, ")"));
  const std::string kind = f.attr_string("kind");
  if (kind != "trajectories") bad(path, "", cat("is a '", kind, "' file, not a trajectory file"));
  auto& m = I.meta;
  m.schema_version = sv;
  m.run_name = f.attr_string("run_name");
  m.rank = f.attr_int("rank");
  m.world_size = f.attr_int("world_size");
  m.segment = f.attr_int("segment");
  m.git_revision = f.attr_string("git_revision");
  m.model_id = f.attr_string("model_id");
  m.scheduler = f.attr_string("scheduler");
  m.steps = f.attr_int("steps");
  m.eta = f.attr_double("eta");
  m.guidance = f.attr_double("guidance");
  m.algorithm = f.attr_string("algorithm");
  m.n_trajectories = f.attr_int("n_trajectories");
  m.policy_version_min = f.attr_int("policy_version_min");
  m.policy_version_max = f.attr_int("policy_version_max");
  if (f.has_attr("latents_dtype")) m.latents_dtype = f.attr_string("latents_dtype");
  if (f.exists("config")) m.config = f.read_text("config");

  if (!expect.model_id.empty() && m.model_id != expect.model_id)
    bad(path, "", cat("model_id '", m.model_id, "' does not match the expected model '", expect.model_id, "'"));
  if (expect.steps >= 0 && m.steps != expect.steps)
    bad(path, "", cat("steps attribute ", m.steps, " does not match the expected T = ", expect.steps));

  if (m.n_trajectories == 0 && !f.exists("latents")) {  // created, killed before the first batch
    I.state = expect.state_shape;
    return;
  }
  std::vector<std::string> required;
  for (const auto& fl : trajectory_fields())
    if (fl.required) required.push_back(fl.name);
  required.push_back(kPrompts);
  for (const auto& n : required)
    if (!f.exists(n)) bad(path, n, "missing dataset (required by trajectory schema v1)");
  for (const auto& fl : trajectory_fields())
    if (f.exists(fl.name)) I.ds.emplace(fl.name, f.dataset(fl.name));
  I.ds.emplace(kPrompts, f.dataset(kPrompts));

  auto shape = [&](const char* n) { return I.ds.at(n).shape(); };
  auto ts = shape("timesteps");
  if (ts.size() != 2) bad(path, "timesteps", cat("shape ", shape_str(ts), " is not (N, T)"));
  const int64_t T = ts[1];
  if (T != m.steps) bad(path, "timesteps", cat("has T = ", T, " but the steps attribute is ", m.steps));
  auto lat = shape("latents");
  if (lat.size() < 3 || lat[1] != T + 1)
    bad(path, "latents", cat("shape ", shape_str(lat), " is not (N, T+1, S...) with T = ", T));
  I.state.assign(lat.begin() + 2, lat.end());
  for (const char* n : {"log_pf", "log_pb"}) {
    auto s = shape(n);
    if (s.size() != 2 || s[1] != T) bad(path, n, cat("shape ", shape_str(s), " is not (N, T) with T = ", T));
  }
  for (const char* n : {"rewards", "seed", "policy_version", "prompts"}) {
    auto s = shape(n);
    if (s.size() != 1) bad(path, n, cat("shape ", shape_str(s), " is not (N,)"));
  }
  if (I.ds.count("eps")) {
    auto s = shape("eps");
    std::vector<int64_t> want{s.empty() ? 0 : s[0], T};
    want.insert(want.end(), I.state.begin(), I.state.end());
    if (s != want) bad(path, "eps", cat("shape ", shape_str(s), " is not (N, T, S...) = ", shape_str(want)));
  }
  if (I.ds.count("images")) {
    auto s = shape("images");
    if (s.size() != 4 || s[3] != 3) bad(path, "images", cat("shape ", shape_str(s), " is not (N, H, W, 3)"));
  }
  if (I.ds.count("prompt_ids") && shape("prompt_ids").size() != 2)
    bad(path, "prompt_ids", cat("shape ", shape_str(shape("prompt_ids")), " is not (N, L)"));
  if (!expect.state_shape.empty() && I.state != expect.state_shape)
    bad(path, "latents", cat("state shape ", shape_str(I.state), " does not match the expected ",
                             shape_str(expect.state_shape)));

  // Rows: n_trajectories, unless a torn final append left some dataset shorter.
  int64_t n = m.n_trajectories;
  std::string shortest;
  for (auto& [name, d] : I.ds) {
    int64_t r = d.rows();
    if (r < n) {
      n = r;
      shortest = name;
    }
  }
  if (n < m.n_trajectories)
    log::warn(cat("HDF5 file ", path, ": n_trajectories = ", m.n_trajectories, " but dataset ", shortest, " holds ",
                  n, " rows (torn final append); reading ", n));
  I.rows = n;
}

TrajectoryReader::~TrajectoryReader() = default;
TrajectoryReader::TrajectoryReader(TrajectoryReader&&) noexcept = default;

const std::string& TrajectoryReader::path() const { return impl_->path; }
const TrajectoryFileMeta& TrajectoryReader::meta() const { return impl_->meta; }
int64_t TrajectoryReader::rows() const { return impl_->rows; }
std::vector<int64_t> TrajectoryReader::state_shape() const { return impl_->state; }

TrajectoryBatch TrajectoryReader::read(int64_t begin, int64_t count) const {
  auto& I = *impl_;
  if (count < 0) count = I.rows - begin;
  if (begin < 0 || begin + count > I.rows)
    bad(I.path, "", cat("rows [", begin, ", ", begin + count, ") out of range (file holds ", I.rows, ")"));
  TrajectoryBatch b;
  if (count == 0 && I.ds.empty()) return b;
  for (const auto& f : trajectory_fields()) {
    auto it = I.ds.find(f.name);
    if (it != I.ds.end()) b.*f.member = it->second.read_rows(begin, count).to(f.dtype);
  }
  b.prompts = I.ds.at(kPrompts).read_strings(begin, count);
  return b;
}

TrajectoryBatch TrajectoryReader::read_rows(const std::vector<int64_t>& rows) const {
  std::vector<int64_t> u(rows);
  std::sort(u.begin(), u.end());
  u.erase(std::unique(u.begin(), u.end()), u.end());
  std::vector<TrajectoryBatch> parts;
  for (size_t i = 0; i < u.size();) {  // contiguous runs of wanted rows
    size_t j = i + 1;
    while (j < u.size() && u[j] == u[j - 1] + 1) ++j;
    parts.push_back(read(u[i], int64_t(j - i)));
    i = j;
  }
  if (parts.empty()) return read(0, 0);
  TrajectoryBatch all = TrajectoryBatch::cat(parts);
  std::vector<int64_t> pos;
  for (int64_t r : rows) pos.push_back(int64_t(std::lower_bound(u.begin(), u.end(), r) - u.begin()));
  return all.select(at::tensor(pos, at::kLong));
}

at::Tensor TrajectoryReader::rewards() const {
  auto& I = *impl_;
  if (I.ds.empty()) return at::zeros({0}, at::kFloat);
  return I.ds.at("rewards").read_rows(0, I.rows).to(at::kFloat);
}

// -------------------------------------------------------------------------------------- global view

std::vector<std::string> glob_files(const std::string& pattern) {
  glob_t g{};
  int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
  std::vector<std::string> out;
  if (rc == 0)
    for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  globfree(&g);
  if (out.empty()) throw Error(cat("no files match '", pattern, "'"));
  std::sort(out.begin(), out.end());
  return out;
}

TrajectorySet::TrajectorySet(const std::string& glob, const TrajectoryExpect& expect)
    : TrajectorySet(glob_files(glob), expect) {}

TrajectorySet::TrajectorySet(const std::vector<std::string>& files, const TrajectoryExpect& expect) : expect_(expect) {
  for (const auto& p : files) {
    {  // a glob like trajectories/*.h5 also matches the index: skip it (its rows are the files' rows)
      auto f = h5::File::open(p);
      if (f.has_attr("kind") && f.attr_class("kind") == 's' && f.attr_string("kind") == "trajectory-index") continue;
    }
    TrajectoryReader r(p, expect);
    if (!files_.empty() && r.rows() > 0 && rows_ > 0) {
      const auto& m0 = files_.front().meta;
      if (r.meta().steps != m0.steps)
        bad(p, "timesteps", cat("T = ", r.meta().steps, " differs from T = ", m0.steps, " of ", files_.front().path));
    }
    files_.push_back({p, r.meta(), r.rows(), rows_});
    rows_ += r.rows();
  }
}

at::Tensor TrajectorySet::rewards() const {
  std::vector<at::Tensor> parts;
  for (const auto& e : files_) parts.push_back(TrajectoryReader(e.path, expect_).rewards().slice(0, 0, e.rows));
  return parts.empty() ? at::zeros({0}) : at::cat(parts);
}

at::Tensor TrajectorySet::policy_versions() const {
  std::vector<at::Tensor> parts;
  for (const auto& e : files_)
    if (e.rows > 0) parts.push_back(TrajectoryReader(e.path, expect_).read(0, e.rows).policy_version);
  return parts.empty() ? at::zeros({0}, at::kLong) : at::cat(parts);
}

TrajectoryBatch TrajectorySet::read_all() const {
  std::vector<TrajectoryBatch> parts;
  for (const auto& e : files_)
    if (e.rows > 0) parts.push_back(TrajectoryReader(e.path, expect_).read());
  return TrajectoryBatch::cat(parts);
}

TrajectoryBatch TrajectorySet::gather(const std::vector<int64_t>& rows) const {
  std::vector<std::vector<int64_t>> local(files_.size());
  std::vector<std::vector<int64_t>> out_pos(files_.size());
  for (size_t k = 0; k < rows.size(); ++k) {
    int64_t r = rows[k];
    if (r < 0 || r >= rows_) throw Error(cat("trajectory set: row ", r, " out of range (", rows_, " rows)"));
    size_t fi = size_t(std::upper_bound(files_.begin(), files_.end(), r,
                                        [](int64_t v, const Entry& e) { return v < e.first_row; }) -
                       files_.begin()) - 1;
    local[fi].push_back(r - files_[fi].first_row);
    out_pos[fi].push_back(int64_t(k));
  }
  std::vector<TrajectoryBatch> parts;
  std::vector<int64_t> order;  // order[i] = output position of concatenated row i
  for (size_t fi = 0; fi < files_.size(); ++fi) {
    if (local[fi].empty()) continue;
    parts.push_back(TrajectoryReader(files_[fi].path, expect_).read_rows(local[fi]));
    order.insert(order.end(), out_pos[fi].begin(), out_pos[fi].end());
  }
  if (parts.empty()) return {};
  TrajectoryBatch all = TrajectoryBatch::cat(parts);
  std::vector<int64_t> inv(order.size());
  for (size_t i = 0; i < order.size(); ++i) inv[size_t(order[i])] = int64_t(i);
  return all.select(at::tensor(inv, at::kLong));
}

TrajectoryBatch read_trajectories(const std::string& path_or_glob, const TrajectoryExpect& expect) {
  bool is_glob = path_or_glob.find_first_of("*?[") != std::string::npos;
  if (!is_glob) return TrajectoryReader(path_or_glob, expect).read();
  return TrajectorySet(path_or_glob, expect).read_all();
}

}  // namespace dagalign
