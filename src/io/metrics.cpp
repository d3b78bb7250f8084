// Metrics writers: JSONL (one line per epoch) and an HDF5 table (one extendible dataset per metric).
#include "dagalign/io/metrics.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "dagalign/core/error.h"
#include "dagalign/core/log.h"
#include "dagalign/io/hdf5.h"

namespace dagalign {
namespace fs = std::filesystem;

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();

h5::RowsLayout rows_layout() {
  h5::RowsLayout l;
  l.chunk_rows = 256;
  return l;
}

// Keeps the JSONL lines whose epoch < keep (a torn last line is dropped); atomic rewrite.
void trim_jsonl(const std::string& path, int64_t keep) {
  std::ifstream in(path);
  if (!in) return;
  std::string line, kept;
  while (std::getline(in, line)) {
    try {
      auto j = nlohmann::json::parse(line);
      if (j.contains("epoch") && j["epoch"].is_number_integer() && j["epoch"].get<int64_t>() < keep) kept += line + "\n";
    } catch (const nlohmann::json::exception&) {
      log::warn(cat("metrics: dropping unreadable line of ", path, ": ", line.substr(0, 80)));
    }
  }
  in.close();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << kept;
    if (!out) throw Error(cat("metrics: cannot write ", tmp));
  }
  fs::rename(tmp, path);
}
}  // namespace

struct MetricsWriter::Impl {
  std::string jsonl_path, h5_path;
  std::FILE* jsonl = nullptr;
  h5::File file;
  std::map<std::string, h5::Dataset> cols;  // metric name -> dataset ("epoch" included)
  int64_t rows = 0;

  void open_h5_fresh() {
    file = h5::File::create(h5_path);
    file.set_attr("schema_version", kMetricsSchemaVersion);
    file.set_attr("kind", "metrics");
    cols.emplace("epoch", file.create_rows("epoch", at::kLong, {}, rows_layout()));
    rows = 0;
    file.flush();
  }

  void open_h5_resume(int64_t keep) {
    file = h5::File::open(h5_path, true);
    if (!file.has_attr("kind") || file.attr_string("kind") != "metrics")
      throw Error(cat("HDF5 file ", h5_path, ": not a metrics file"));
    for (const auto& n : file.children()) cols.emplace(n, file.dataset(n));
    if (!cols.count("epoch")) throw Error(cat("HDF5 file ", h5_path, ": missing dataset 'epoch'"));
    at::Tensor ep = cols.at("epoch").read();
    int64_t n = 0;
    while (n < ep.size(0) && ep[n].item<int64_t>() < keep) ++n;
    for (auto& [name, d] : cols) {
      if (d.rows() < n) throw Error(cat("HDF5 file ", h5_path, ", dataset ", name, ": ", d.rows(), " rows, expected ", n));
      d.resize_rows(n);
    }
    rows = n;
    file.flush();
  }
};

MetricsWriter::MetricsWriter(const std::string& run_dir, int64_t keep_before_epoch) : impl_(std::make_unique<Impl>()) {
  auto& I = *impl_;
  fs::create_directories(run_dir);
  I.jsonl_path = (fs::path(run_dir) / "metrics.jsonl").string();
  I.h5_path = (fs::path(run_dir) / "metrics.h5").string();
  const bool resume = keep_before_epoch >= 0;
  if (resume && fs::exists(I.jsonl_path)) trim_jsonl(I.jsonl_path, keep_before_epoch);
  I.jsonl = std::fopen(I.jsonl_path.c_str(), resume ? "a" : "w");
  if (!I.jsonl) throw Error(cat("metrics: cannot open ", I.jsonl_path, " for writing"));
  if (resume && fs::exists(I.h5_path)) {
    try {
      I.open_h5_resume(keep_before_epoch);
      return;
    } catch (const Error& e) {
      I.cols.clear();
      I.file.reset();
      const std::string aside = I.h5_path + ".unreadable";
      log::warn(cat("metrics: ", e.what(), "; moved to ", aside, " and starting a new metrics.h5"));
      fs::rename(I.h5_path, aside);
    }
  }
  I.open_h5_fresh();
}

MetricsWriter::~MetricsWriter() {
  if (!impl_) return;
  try {
    close();
  } catch (const std::exception& e) {
    log::warn(e.what());
  }
}
MetricsWriter::MetricsWriter(MetricsWriter&&) noexcept = default;

const std::string& MetricsWriter::jsonl_path() const { return impl_->jsonl_path; }
const std::string& MetricsWriter::h5_path() const { return impl_->h5_path; }

void MetricsWriter::write(int64_t epoch, const std::map<std::string, double>& values) {
  auto& I = *impl_;
  if (!I.jsonl) throw Error(cat("metrics: write after close (", I.jsonl_path, ")"));
  nlohmann::json j;
  j["epoch"] = epoch;
  for (const auto& [k, v] : values) {
    if (k == "epoch") continue;
    if (k.empty() || k.find('/') != std::string::npos) throw Error(cat("metrics: bad metric name '", k, "'"));
    j[k] = v;  // NaN/inf are written as null
  }
  const std::string line = j.dump() + "\n";
  if (std::fputs(line.c_str(), I.jsonl) < 0 || std::fflush(I.jsonl) != 0)
    throw Error(cat("metrics: cannot write ", I.jsonl_path));

  for (const auto& [k, v] : values) {
    if (k == "epoch" || I.cols.count(k)) continue;
    auto d = I.file.create_rows(k, at::kDouble, {}, rows_layout());  // a new metric: NaN for earlier epochs
    d.append_rows(at::full({I.rows}, kNaN, at::kDouble));
    I.cols.emplace(k, std::move(d));
  }
  for (auto& [k, d] : I.cols) {
    if (k == "epoch") {
      d.append_rows(at::full({1}, epoch, at::kLong));
    } else {
      auto it = values.find(k);
      d.append_rows(at::full({1}, it == values.end() ? kNaN : it->second, at::kDouble));
    }
  }
  ++I.rows;
  I.file.flush();
}

void MetricsWriter::close() {
  auto& I = *impl_;
  if (I.jsonl) {
    std::fclose(I.jsonl);
    I.jsonl = nullptr;
  }
  if (I.file.valid()) {
    I.cols.clear();
    I.file.close();
  }
}

std::map<std::string, std::vector<double>> read_metrics_h5(const std::string& path) {
  auto f = h5::File::open(path);
  if (!f.has_attr("kind") || f.attr_string("kind") != "metrics") throw Error(cat("HDF5 file ", path, ": not a metrics file"));
  std::map<std::string, std::vector<double>> out;
  for (const auto& n : f.children()) {
    at::Tensor t = f.dataset(n).read().to(at::kDouble).contiguous();
    out[n] = std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
  }
  return out;
}

std::vector<std::map<std::string, double>> read_metrics_jsonl(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(cat("metrics: cannot read ", path));
  std::vector<std::map<std::string, double>> out;
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw Error(cat("metrics: ", path, " line ", n, ": ", e.what()));
    }
    std::map<std::string, double> row;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it->is_number()) row[it.key()] = it->get<double>();
      else if (it->is_null()) row[it.key()] = kNaN;
    }
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace dagalign
