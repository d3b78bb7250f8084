#pragma once
// Wall-clock timing: a stopwatch and named phase accumulators (sampling, reward, training, io, ...).
#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace dagalign {

class Stopwatch {
 public:
  Stopwatch() : t0_(std::chrono::steady_clock::now()) {}
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(); }
  void reset() { t0_ = std::chrono::steady_clock::now(); }
 private:
  std::chrono::steady_clock::time_point t0_;
};

// phases["sample"] += seconds of each scoped region; Scope is RAII.
class PhaseTimer {
 public:
  class Scope {
   public:
    Scope(PhaseTimer& t, std::string name) : t_(t), name_(std::move(name)) {}
    ~Scope() { t_.seconds_[name_] += sw_.seconds(); }
   private:
    PhaseTimer& t_;
    std::string name_;
    Stopwatch sw_;
  };
  Scope scope(const std::string& name) { return Scope(*this, name); }
  double operator[](const std::string& name) const {
    auto it = seconds_.find(name);
    return it == seconds_.end() ? 0.0 : it->second;
  }
  const std::map<std::string, double>& all() const { return seconds_; }
  void clear() { seconds_.clear(); }
 private:
  std::map<std::string, double> seconds_;
};

// Median of a few timings (benchmarks on noisy machines report medians).
double median(std::vector<double> v);

}  // namespace dagalign
