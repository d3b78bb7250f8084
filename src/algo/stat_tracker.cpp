#include "dagalign/algo/stat_tracker.h"

#include <cmath>
#include <numeric>

#include "dagalign/core/error.h"

namespace dagalign {

namespace {
template <class C>
std::pair<double, double> mean_std(const C& v) {  // population std (numpy's default)
  double m = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return {m, std::sqrt(s / v.size())};
}
}  // namespace

std::vector<double> PerPromptStatTracker::update(const std::vector<std::string>& prompts,
                                                 const std::vector<double>& rewards) {
  DAG_CHECK(prompts.size() == rewards.size(), "stat tracker: ", prompts.size(), " prompts but ", rewards.size(), " rewards");
  std::vector<double> adv(rewards.size());
  std::map<std::string, std::vector<size_t>> rows;
  for (size_t i = 0; i < prompts.size(); ++i) rows[prompts[i]].push_back(i);
  const auto batch = mean_std(rewards);
  for (const auto& [prompt, idx] : rows) {
    auto& buf = stats_[prompt];
    for (size_t i : idx) {
      buf.push_back(rewards[i]);
      if (static_cast<int>(buf.size()) > buffer_size_) buf.pop_front();
    }
    const auto [m, s] = static_cast<int>(buf.size()) < min_count_ ? batch : mean_std(buf);
    for (size_t i : idx) adv[i] = (rewards[i] - m) / (s + 1e-6);
  }
  return adv;
}

std::vector<double> batch_advantages(const std::vector<double>& rewards) {
  const auto [m, s] = mean_std(rewards);
  std::vector<double> adv(rewards.size());
  for (size_t i = 0; i < rewards.size(); ++i) adv[i] = (rewards[i] - m) / (s + 1e-8);
  return adv;
}

}  // namespace dagalign
