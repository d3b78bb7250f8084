#pragma once
// Configuration as data: typed keys "section.name" read from INI files ([section] name = value) through
// Boost.Program_options, any of which the command line overrides (--section.name value).
// Unknown keys, malformed values and missing files raise ConfigError naming the key, value and file.
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/value_semantic.hpp>

namespace dagalign {

class Config {
 public:
  explicit Config(std::string program);

  // Registers key -> *target with a default and a help line. T: bool, int, int64_t, double, std::string.
  template <class T>
  Config& add(const std::string& key, T* target, const T& def, const std::string& help) {
    *target = def;
    desc_.add_options()(key.c_str(), boost::program_options::value<T>(target)->default_value(def, show(def)),
                        help.c_str());
    printers_.push_back({key, [target] { return show(*target); }});
    return *this;
  }

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
  template <class T>
  static std::string show(const T& v) {
    std::ostringstream os;
    if constexpr (std::is_same_v<T, bool>) os << (v ? "true" : "false");
    else { os.precision(10); os << v; }
    return os.str();
  }
  void finish(const std::string& source);

  std::string program_;
  boost::program_options::options_description desc_;
  std::vector<std::pair<std::string, std::function<std::string()>>> printers_;
  std::vector<std::string> files_;
  bool check_ = false;
  std::shared_ptr<void> state_;  // the variables_map being filled, kept opaque for compile time
};

// Splits "a,b, c" into {"a","b","c"}.
std::vector<std::string> split_list(const std::string& s, char sep = ',');

}  // namespace dagalign
