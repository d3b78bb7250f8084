#pragma once
// Per-epoch metrics of a run, in two forms written side by side and flushed after every epoch:
//   run_dir/metrics.jsonl  one JSON object per line: {"epoch": 5, "loss": 0.12, "reward_mean": ...}
//   run_dir/metrics.h5     one extendible 1-D float64 dataset per metric name plus an int64 "epoch"
//                          dataset, all of equal length (NaN where a metric was not reported that epoch).
// A resumed run passes the epoch it restarts from: rows of later epochs (written before the kill) are
// dropped from both files, so that each epoch appears once.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace dagalign {

inline constexpr int64_t kMetricsSchemaVersion = 1;

class MetricsWriter {
 public:
  // keep_before_epoch < 0: start both files afresh; >= 0: keep existing rows with epoch < it.
  explicit MetricsWriter(const std::string& run_dir, int64_t keep_before_epoch = -1);
  ~MetricsWriter();
  MetricsWriter(MetricsWriter&&) noexcept;
  // Appends one epoch to both files and flushes them. Names may not contain '/' (HDF5 group separator).
  void write(int64_t epoch, const std::map<std::string, double>& values);
  void close();
  const std::string& jsonl_path() const;
  const std::string& h5_path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// metrics.h5 as columns: "epoch" and one entry per metric (for tests and the inspect command).
std::map<std::string, std::vector<double>> read_metrics_h5(const std::string& path);
// metrics.jsonl as one map per line (non-numeric values skipped; NaN is written as null).
std::vector<std::map<std::string, double>> read_metrics_jsonl(const std::string& path);

}  // namespace dagalign
