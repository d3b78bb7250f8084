#pragma once
// Configuration as data: typed keys "section.name" read from INI files ([section] name = value) through
// Boost.Program_options, any of which the command line overrides (--section.name value). Each key is
// declared once, by one add() call: key, member (whose current value is the default), help, and its
// constraint (numeric bounds, the names of an enum's values, a list's element type). --help, the resolved
// configuration and the load-time checks all come from these declarations. Unknown keys, malformed values,
// values out of bounds and missing files raise ConfigError naming the key, value and file.
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/value_semantic.hpp>

namespace dagalign {

// The allowed range of a numeric key (or of each element of a numeric list); the default admits every
// finite value. A floating-point key is never allowed to be inf or nan.
struct Bounds {
  double lo = -INFINITY, hi = INFINITY;
  bool lo_open = false, hi_open = false;
  bool contains(double v) const;
  std::string describe() const;  // "> 0", ">= 1", "in [0, 1)"
};
inline Bounds positive() { return {0, INFINITY, true, false}; }             // > 0
inline Bounds at_least(double lo) { return {lo, INFINITY, false, false}; }  // >= lo
inline Bounds in_range(double lo, double hi, bool hi_open = false) { return {lo, hi, false, hi_open}; }

// The names of an enum's values, as written in INI files ("none", "cosine").
template <class E>
using Choices = std::vector<std::pair<std::string, E>>;

template <class E>
const std::string& name_of(const Choices<E>& choices, E value) {
  for (const auto& [name, v] : choices)
    if (v == value) return name;
  static const std::string unnamed = "?";
  return unnamed;
}

class Config {
 public:
  explicit Config(std::string program);

  // key -> *target (bool, int, int64_t, double, std::string); the default is *target's current value.
  template <class T>
  Config& add(const std::string& key, T* target, const std::string& help, Bounds bounds = {}) {
    static_assert(std::is_arithmetic_v<T> || std::is_same_v<T, std::string>, "use the enum or list overloads");
    const std::string h = std::is_arithmetic_v<T> && !std::is_same_v<T, bool> && !unbounded(bounds)
                              ? help + " (" + bounds.describe() + ")"
                              : help;
    desc_.add_options()(key.c_str(), boost::program_options::value<T>(target)->default_value(*target, show(*target)),
                        h.c_str());
    std::function<void()> check;
    if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>)
      check = [key, target, bounds] { check_number(key, static_cast<double>(*target), bounds); };
    keys_.push_back({key, [target] { return show(*target); }, check});
    return *this;
  }

  // key -> an enum member, written as one of the names in `choices` (listed in --help).
  template <class E, class = std::enable_if_t<std::is_enum_v<E>>>
  Config& add(const std::string& key, E* target, Choices<E> choices, const std::string& help) {
    auto names = std::make_shared<Choices<E>>(std::move(choices));
    std::string list;
    for (const auto& [name, v] : *names) list += (list.empty() ? "" : " | ") + name;
    return add_text(
        key, name_of(*names, *target), help + " (" + list + ")",
        [key, target, names, list](const std::string& text) {
          for (const auto& [name, v] : *names)
            if (name == text) return void(*target = v);
          unknown_value(key, text, list);
        },
        [target, names] { return name_of(*names, *target); });
  }

  // key -> a string that must be one of `names` (listed in --help).
  Config& add(const std::string& key, std::string* target, const std::vector<std::string>& names,
              const std::string& help);

  // key -> a list, written comma-separated ("16,32,32"); `each` bounds every element of a numeric list.
  Config& add(const std::string& key, std::vector<int64_t>* target, const std::string& help, Bounds each = {});
  Config& add(const std::string& key, std::vector<double>* target, const std::string& help, Bounds each = {});
  Config& add(const std::string& key, std::vector<std::string>* target, const std::string& help);

  // Parses "--config FILE" (may repeat; later files win) and "--key value" overrides from args
  // (the arguments after the subcommand). Returns false when --help was asked for (help() then applies).
  bool parse(const std::vector<std::string>& args);
  // Parses one INI text, as if it were a --config file named `name` (for tests and stored configs).
  void parse_ini_text(const std::string& text, const std::string& name);

  // --check was given: the command validates its configuration, prints it resolved and exits 0.
  bool check_only() const { return check_; }

  std::string help() const;
  // The resolved configuration as INI text, every key with its value, grouped by section.
  std::string resolved() const;
  const std::vector<std::string>& files() const { return files_; }

 private:
  struct Key {
    std::string name;
    std::function<std::string()> print;
    std::function<void()> check;  // after parsing: converts and validates (throws ConfigError naming the key)
  };
  template <class T>
  static std::string show(const T& v) {
    std::ostringstream os;
    if constexpr (std::is_same_v<T, bool>) os << (v ? "true" : "false");
    else { os.precision(10); os << v; }
    return os.str();
  }
  static bool unbounded(const Bounds& b) { return std::isinf(b.lo) && std::isinf(b.hi); }
  static void check_number(const std::string& key, double v, const Bounds& b);
  [[noreturn]] static void unknown_value(const std::string& key, const std::string& text, const std::string& list);
  // A key stored as text and converted by `parse` after each parse step.
  Config& add_text(const std::string& key, const std::string& def, const std::string& help,
                   std::function<void(const std::string&)> parse, std::function<std::string()> print);
  void finish(const std::string& source);

  std::string program_;
  boost::program_options::options_description desc_;
  std::vector<Key> keys_;
  std::vector<std::shared_ptr<std::string>> texts_;  // the text of enum and list keys
  std::vector<std::string> files_;
  bool check_ = false;
  std::shared_ptr<void> state_;  // the variables_map being filled, kept opaque for compile time
};

// Splits "a,b, c" into {"a","b","c"}.
std::vector<std::string> split_list(const std::string& s, char sep = ',');

}  // namespace dagalign
