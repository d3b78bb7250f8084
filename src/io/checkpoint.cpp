// HDF5 checkpoints: atomic write (tmp, flush, fsync, rename, fsync dir), validating read, latest valid.
#include "dagalign/io/checkpoint.h"

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <regex>
#include <set>

#include <ATen/ATen.h>

#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/core/runtime.h"
#include "dagalign/io/fsync.h"
#include "dagalign/io/hdf5.h"

namespace dagalign {
namespace fs = std::filesystem;

namespace {
const std::set<std::string> kReserved = {"schema_version", "kind", "complete", "created", "git_revision"};

template <class M>
const typename M::mapped_type& find_or_throw(const M& m, const std::string& name, const char* what,
                                             const std::string& source) {
  auto it = m.find(name);
  if (it == m.end())
    throw Error(cat("checkpoint", (source.empty() ? "" : " " + source), ": missing ", what, " '", name, "'"));
  return it->second;
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return b;
}

// Reads every dataset below `loc` (recursively) into data.
void read_tree(const h5::Location& loc, const std::string& prefix, CheckpointData& data) {
  for (const auto& name : loc.children()) {
    const std::string full = prefix.empty() ? name : prefix + "/" + name;
    if (loc.is_group(name)) {
      read_tree(loc.group(name), full, data);
    } else if (loc.dataset(name).is_string()) {
      data.texts[full] = loc.read_text(name);
    } else {
      data.tensors[full] = loc.read_tensor(name);
    }
  }
}
}  // namespace

const at::Tensor& CheckpointData::tensor(const std::string& n) const { return find_or_throw(tensors, n, "tensor", source); }
int64_t CheckpointData::int_attr(const std::string& n) const { return find_or_throw(ints, n, "attribute", source); }
double CheckpointData::real_attr(const std::string& n) const { return find_or_throw(reals, n, "attribute", source); }
const std::string& CheckpointData::string_attr(const std::string& n) const {
  return find_or_throw(strings, n, "attribute", source);
}
const std::string& CheckpointData::text(const std::string& n) const { return find_or_throw(texts, n, "text", source); }

std::map<std::string, at::Tensor> CheckpointData::under(const std::string& prefix) const {
  std::map<std::string, at::Tensor> out;
  const std::string p = prefix + "/";
  for (auto it = tensors.lower_bound(p); it != tensors.end() && it->first.compare(0, p.size(), p) == 0; ++it)
    out[it->first.substr(p.size())] = it->second;
  return out;
}

namespace checkpoint {

std::string path(const std::string& dir, int64_t epoch) {
  char name[40];
  std::snprintf(name, sizeof name, "epoch-%06lld.h5", (long long)epoch);
  return (fs::path(dir) / name).string();
}

void write(const std::string& file, const CheckpointData& data, const Options& opt) {
  auto reserved = [&](const std::string& k) {
    if (kReserved.count(k)) throw Error(cat("checkpoint ", file, ": attribute name '", k, "' is reserved"));
  };
  for (const auto& kv : data.ints) reserved(kv.first);
  for (const auto& kv : data.reals) reserved(kv.first);
  for (const auto& kv : data.strings) reserved(kv.first);

  fs::path target(file);
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  fs::create_directories(dir);
  const std::string tmp = file + ".tmp";
  {
    auto f = h5::File::create(tmp, false);
    f.set_attr("schema_version", kCheckpointSchemaVersion);
    f.set_attr("kind", "checkpoint");
    f.set_attr("created", utc_now());
    f.set_attr("git_revision", git_revision());
    for (const auto& [k, v] : data.ints) f.set_attr(k, v);
    for (const auto& [k, v] : data.reals) f.set_attr(k, v);
    for (const auto& [k, v] : data.strings) f.set_attr(k, v);
    for (const auto& [k, v] : data.texts) f.write_text(k, v);
    for (const auto& [k, t] : data.tensors) {
      if (!t.defined()) throw Error(cat("checkpoint ", file, ": tensor '", k, "' is undefined"));
      f.write_tensor(k, t);
    }
    f.flush();
    f.set_attr("complete", int64_t(1));  // the marker, last
    f.flush();
    f.close();
  }
  if (opt.fsync) fsync_path(tmp, false);
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) throw Error(cat("checkpoint ", file, ": rename from ", tmp, " failed (", ec.message(), ")"));
  // dir/latest.h5 -> the file just written (relative symlink, replaced atomically), for people and scripts;
  // resume uses find_latest_valid(), which does not trust it.
  const fs::path link = dir / "latest.h5", link_tmp = dir / "latest.h5.tmp";
  fs::remove(link_tmp, ec);
  fs::create_symlink(target.filename(), link_tmp, ec);
  if (!ec) fs::rename(link_tmp, link, ec);
  if (ec) log::warn(cat("checkpoint ", file, ": cannot update ", link.string(), " (", ec.message(), ")"));
  if (opt.fsync) fsync_path(dir.string(), true);
  if (opt.keep_last > 0) prune(dir.string(), opt.keep_last);
}

CheckpointData read(const std::string& file) {
  auto f = h5::File::open(file);
  if (!f.has_attr("schema_version")) throw Error(cat("checkpoint ", file, ": no schema_version attribute (not a dagalign checkpoint)"));
  const int64_t sv = f.attr_int("schema_version");
  if (sv != kCheckpointSchemaVersion)
    throw Error(cat("checkpoint ", file, ": schema_version ", sv, " is not supported (this build reads ",
                    kCheckpointSchemaVersion, ")"));
  const std::string kind = f.attr_string("kind");
  if (kind != "checkpoint") throw Error(cat("checkpoint ", file, ": is a '", kind, "' file, not a checkpoint"));
  if (!f.has_attr("complete") || f.attr_int("complete") != 1)
    throw Error(cat("checkpoint ", file, ": incomplete (no complete = 1 marker; the writer stopped before the end)"));
  CheckpointData d;
  d.source = file;
  for (const auto& a : f.attr_names()) {
    if (a == "git_revision") d.git_revision = f.attr_string(a);
    else if (a == "created") d.created = f.attr_string(a);
    if (kReserved.count(a)) continue;
    switch (f.attr_class(a)) {
      case 'i': d.ints[a] = f.attr_int(a); break;
      case 'f': d.reals[a] = f.attr_double(a); break;
      case 's': d.strings[a] = f.attr_string(a); break;
      default: throw Error(cat("checkpoint ", file, ": attribute '", a, "' is not a scalar number or string"));
    }
  }
  read_tree(f, "", d);
  return d;
}

std::string check(const std::string& file) {
  try {
    read(file);
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

std::vector<std::pair<int64_t, std::string>> list(const std::string& dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  if (!fs::is_directory(dir)) return out;
  const std::regex pat(R"(epoch-(\d+)\.h5)");
  for (const auto& e : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (std::regex_match(name, m, pat)) out.emplace_back(std::stoll(m[1].str()), e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string> find_latest_valid(const std::string& dir) {
  auto all = list(dir);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    std::string why = check(it->second);
    if (why.empty()) return it->second;
    log::warn(cat("skipping checkpoint ", it->second, ": ", why));
  }
  return std::nullopt;
}

void prune(const std::string& dir, int keep_last) {
  if (keep_last <= 0) return;
  auto all = list(dir);
  for (size_t i = 0; i + size_t(keep_last) < all.size(); ++i) {
    std::error_code ec;
    fs::remove(all[i].second, ec);
    if (ec) log::warn(cat("cannot remove old checkpoint ", all[i].second, ": ", ec.message()));
  }
}

}  // namespace checkpoint
}  // namespace dagalign
