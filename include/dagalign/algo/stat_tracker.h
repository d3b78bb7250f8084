#pragma once
// Per-prompt reward statistics for DDPO advantages (ddpo-pytorch stat_tracking.PerPromptStatTracker):
// for each prompt keep its last `buffer_size` rewards; A = (r - mean)/(std + 1e-6) with the buffer's
// mean/std once it holds >= min_count rewards, else the whole batch's. std is the population std.
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace dagalign {

class PerPromptStatTracker {
 public:
  PerPromptStatTracker(int buffer_size, int min_count) : buffer_size_(buffer_size), min_count_(min_count) {}
  std::vector<double> update(const std::vector<std::string>& prompts, const std::vector<double>& rewards);
  // State for checkpoints: prompts and their buffered rewards.
  const std::map<std::string, std::deque<double>>& state() const { return stats_; }
  void restore(std::map<std::string, std::deque<double>> s) { stats_ = std::move(s); }

 private:
  int buffer_size_, min_count_;
  std::map<std::string, std::deque<double>> stats_;
};

// Without tracking: A = (r - mean) / (std + 1e-8) over the batch.
std::vector<double> batch_advantages(const std::vector<double>& rewards);

}  // namespace dagalign
