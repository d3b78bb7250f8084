// dagalign inspect FILE.h5 [--no-config] [--max-datasets N]: what an HDF5 file of a run holds.
// Trajectory files: schema, counts, datasets (shape, dtype, chunks, deflate), reward statistics, config.
// Checkpoints: epoch/step and the tensors per group. Metrics: per-metric count, mean, min, max, last.
// Index files: the file table. Any other HDF5 file: attributes and datasets.
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>

#include <ATen/ATen.h>

#include "dagalign/cli/commands.h"
#include "dagalign/core/error.h"
#include "dagalign/io/checkpoint.h"
#include "dagalign/io/hdf5.h"
#include "dagalign/io/trajectory_store.h"

namespace dagalign::cli {
namespace {

std::string shape_text(const std::vector<int64_t>& s) {
  if (s.empty()) return "scalar";
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + ")";
}

std::string bytes_text(double b) {
  const char* unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  char s[32];
  std::snprintf(s, sizeof s, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
  return s;
}

// Visits every dataset below loc: fn(path, dataset).
void walk(const h5::Location& loc, const std::string& prefix, const std::function<void(const std::string&, const h5::Dataset&)>& fn) {
  for (const auto& n : loc.children()) {
    const std::string p = prefix.empty() ? n : prefix + "/" + n;
    if (loc.is_group(n)) walk(loc.group(n), p, fn);
    else fn(p, loc.dataset(n));
  }
}

void print_attrs(const h5::Object& o, const std::string& indent) {
  for (const auto& a : o.attr_names()) std::printf("%s%-20s = %s\n", indent.c_str(), a.c_str(), o.attr_text(a).c_str());
}

void print_datasets(const h5::File& f, int64_t max_rows) {
  int64_t n = 0, total = 0;
  walk(f, "", [&](const std::string& p, const h5::Dataset& d) {
    ++total;
    if (n >= max_rows) return;
    ++n;
    std::string layout;
    auto c = d.chunk();
    if (d.is_virtual()) layout = "virtual";
    if (!c.empty()) layout = "chunks " + shape_text(c);
    if (int lv = d.deflate_level()) layout += " deflate " + std::to_string(lv);
    std::printf("  %-40s %-8s %-22s %s\n", p.c_str(), d.type_name().c_str(), shape_text(d.shape()).c_str(), layout.c_str());
  });
  if (total > n) std::printf("  ... %" PRId64 " more (--max-datasets N)\n", total - n);
}

// mean, population std (as numpy's std), min, max of a 1-D float tensor, NaNs ignored.
void print_stats(const char* label, const at::Tensor& x_in) {
  at::Tensor x = x_in.to(at::kDouble).flatten();
  x = x.masked_select(x.isnan().logical_not());
  if (x.numel() == 0) {
    std::printf("%s: n=0\n", label);
    return;
  }
  std::printf("%s: n=%" PRId64 " mean=%.6g std=%.6g min=%.6g max=%.6g\n", label, int64_t(x.numel()),
              x.mean().item<double>(), x.std(/*unbiased=*/false).item<double>(), x.min().item<double>(),
              x.max().item<double>());
}

void print_config(const std::string& text) {
  std::printf("config:\n");
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::printf("  %s\n", text.substr(start, end - start).c_str());
    start = end + 1;
  }
}

void trajectories(const std::string& path, const h5::File& f, bool show_config) {
  TrajectoryReader r(path);  // full validation
  const auto& m = r.meta();
  std::printf("trajectories: %" PRId64 " (T = %" PRId64 ", state %s, latents %s, policy versions %" PRId64
              "..%" PRId64 ")\n",
              r.rows(), m.steps, shape_text(r.state_shape()).c_str(), m.latents_dtype.c_str(), m.policy_version_min,
              m.policy_version_max);
  if (r.rows() > 0) {
    std::printf("bytes per trajectory: %s\n", bytes_text(double(std::filesystem::file_size(path)) / double(r.rows())).c_str());
    print_stats("rewards", r.rewards());
  }
  if (show_config && !m.config.empty()) print_config(m.config);
}

void checkpoint_file(const std::string& path, bool show_config) {
  CheckpointData d = checkpoint::read(path);  // full validation
  std::map<std::string, std::pair<int64_t, int64_t>> groups;  // top group -> (tensors, elements)
  int64_t bytes = 0;
  for (const auto& [k, t] : d.tensors) {
    auto g = k.substr(0, k.find('/'));
    groups[g].first += 1;
    groups[g].second += t.numel();
    bytes += int64_t(t.numel() * t.element_size());
  }
  std::printf("checkpoint: complete, %zu tensors, %s\n", d.tensors.size(), bytes_text(double(bytes)).c_str());
  for (const auto& [g, c] : groups)
    std::printf("  %-20s %6" PRId64 " tensors %12" PRId64 " elements\n", g.c_str(), c.first, c.second);
  if (show_config)
    for (const auto& [k, t] : d.texts) {
      if (k == "config") print_config(t);
      else std::printf("text %s: %zu characters\n", k.c_str(), t.size());
    }
}

void metrics_file(const h5::File& f) {
  auto ep = f.dataset("epoch").read();
  std::printf("metrics: %" PRId64 " epochs", int64_t(ep.size(0)));
  if (ep.size(0) > 0)
    std::printf(" (%" PRId64 "..%" PRId64 ")", ep.min().item<int64_t>(), ep.max().item<int64_t>());
  std::printf("\n");
  for (const auto& n : f.children()) {
    if (n == "epoch") continue;
    at::Tensor v = f.dataset(n).read().to(at::kDouble);
    print_stats(("  " + n).c_str(), v);
  }
}

void index_file(const h5::File& f) {
  auto files = f.dataset("files").read_strings();
  auto rows = f.read_tensor("rows"), seg = f.read_tensor("segment"), rank = f.read_tensor("rank");
  std::printf("index: %zu files, %" PRId64 " trajectories\n", files.size(), f.attr_int("n_trajectories"));
  for (size_t i = 0; i < files.size(); ++i)
    std::printf("  %-30s segment %6" PRId64 " rank %4" PRId64 " rows %8" PRId64 "\n", files[i].c_str(),
                seg[int64_t(i)].item<int64_t>(), rank[int64_t(i)].item<int64_t>(), rows[int64_t(i)].item<int64_t>());
  if (f.exists("rewards")) print_stats("rewards", f.dataset("rewards").read());
}

}  // namespace

int inspect(const Args& args) {
  std::string path;
  bool show_config = true;
  int64_t max_datasets = 200;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::printf("usage: dagalign inspect FILE.h5 [--no-config] [--max-datasets N]\n"
                  "  describes a trajectory, checkpoint, metrics or index file of a run\n");
      return 0;
    } else if (a == "--no-config") {
      show_config = false;
    } else if (a == "--max-datasets" && i + 1 < args.size()) {
      max_datasets = std::stoll(args[++i]);
    } else if (!a.empty() && a[0] == '-') {
      throw ConfigError(cat("inspect: unknown option '", a, "'"));
    } else if (path.empty()) {
      path = a;
    } else {
      throw ConfigError(cat("inspect: one file at a time ('", path, "' and '", a, "')"));
    }
  }
  if (path.empty()) throw ConfigError("inspect: no file given (usage: dagalign inspect FILE.h5)");
  auto f = h5::File::open(path);
  const std::string kind = f.has_attr("kind") ? f.attr_string("kind") : "unknown";
  std::printf("file: %s (%s)\n", path.c_str(), bytes_text(double(std::filesystem::file_size(path))).c_str());
  std::printf("kind: %s  schema_version: %s\n", kind.c_str(),
              f.has_attr("schema_version") ? f.attr_text("schema_version").c_str() : "none");
  std::printf("attributes:\n");
  print_attrs(f, "  ");
  std::printf("datasets:\n");
  print_datasets(f, max_datasets);
  if (kind == "trajectories") trajectories(path, f, show_config);
  else if (kind == "checkpoint") checkpoint_file(path, show_config);
  else if (kind == "metrics") metrics_file(f);
  else if (kind == "trajectory-index") index_file(f);
  return 0;
}

}  // namespace dagalign::cli
