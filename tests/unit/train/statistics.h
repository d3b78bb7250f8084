#pragma once
// Seeds, overrides and summaries of the statistical tests (training outcomes over several seeds).
#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace dagalign::testing {

// Seeds of a statistical test: DAGALIGN_TEST_SEEDS (a comma list, e.g. "0,1,2,3,4,5,6,7"; tools/bench/
// seed-margins.sh measures the margins with more seeds and kernel families), else `fallback`.
inline std::vector<int> test_seeds(std::vector<int> fallback) {
  const char* env = std::getenv("DAGALIGN_TEST_SEEDS");
  if (!env || !*env) return fallback;
  std::vector<int> out;
  std::stringstream list(env);
  for (std::string item; std::getline(list, item, ',');) out.push_back(std::stoi(item));
  return out;
}

// Experiments only: INI overrides of a statistical test's configuration (DAGALIGN_TEST_OVERRIDES, with "\n"
// written as ";").
inline std::string test_overrides() {
  const char* env = std::getenv("DAGALIGN_TEST_OVERRIDES");
  std::string s = env ? env : "";
  for (auto& c : s)
    if (c == ';') c = '\n';
  return s;
}

// Median of a non-empty list.
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace dagalign::testing
