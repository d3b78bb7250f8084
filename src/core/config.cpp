#include "dagalign/core/config.h"

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include <boost/program_options.hpp>

#include "dagalign/core/error.h"

namespace po = boost::program_options;

namespace dagalign {

namespace {
po::variables_map& vm(const std::shared_ptr<void>& p) { return *static_cast<po::variables_map*>(p.get()); }

// Runs a Boost parse step and turns its exceptions into ConfigError naming `source`.
template <class F>
void guarded(const std::string& source, F&& f) {
  try {
    f();
  } catch (const po::too_many_positional_options_error&) {
    throw ConfigError(cat(source, ": an argument that is not an option (a file is given as --config FILE, a key as "
                                  "--section.key value)"));
  } catch (const po::unknown_option& e) {
    throw ConfigError(cat(source, ": unknown key '", e.get_option_name(), "' (see --help for the keys)"));
  } catch (const po::invalid_option_value& e) {
    throw ConfigError(cat(source, ": ", e.what()));
  } catch (const po::error& e) {
    throw ConfigError(cat(source, ": ", e.what()));
  }
}
}  // namespace

bool Bounds::contains(double v) const {
  return (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
}

std::string Bounds::describe() const {
  std::ostringstream os;
  os.precision(10);
  if (std::isinf(hi)) os << (lo_open ? "> " : ">= ") << lo;
  else if (std::isinf(lo)) os << (hi_open ? "< " : "<= ") << hi;
  else os << "in " << (lo_open ? "(" : "[") << lo << ", " << hi << (hi_open ? ")" : "]");
  return os.str();
}

void Config::check_number(const std::string& key, double v, const Bounds& b) {
  if (!std::isfinite(v)) throw ConfigError(cat(key, ": ", v, " is not a finite number"));
  if (!b.contains(v)) throw ConfigError(cat(key, " must be ", b.describe(), ", found ", v));
}

void Config::unknown_value(const std::string& key, const std::string& text, const std::string& list) {
  throw ConfigError(cat(key, ": unknown value '", text, "' (expected ", list, ")"));
}

Config& Config::add_text(const std::string& key, const std::string& def, const std::string& help,
                         std::function<void(const std::string&)> parse, std::function<std::string()> print) {
  auto text = std::make_shared<std::string>(def);
  texts_.push_back(text);
  desc_.add_options()(key.c_str(), po::value<std::string>(text.get())->default_value(def), help.c_str());
  keys_.push_back({key, std::move(print), [text, parse = std::move(parse)] { parse(*text); }});
  return *this;
}

namespace {
template <class T>
std::string join(const std::vector<T>& v) {
  std::ostringstream os;
  os.precision(10);
  for (size_t i = 0; i < v.size(); ++i) os << (i ? "," : "") << v[i];
  return os.str();
}

// "16,32,32" -> numbers, each within `each`; throws ConfigError naming the key and the element.
template <class T>
std::vector<T> parse_numbers(const std::string& key, const std::string& text, const Bounds& each) {
  std::vector<T> out;
  for (const auto& item : split_list(text)) {
    std::istringstream in(item);
    T v{};
    if (!(in >> v) || !(in >> std::ws).eof())
      throw ConfigError(cat(key, ": '", item, "' in '", text, "' is not ",
                            std::is_integral_v<T> ? "an integer" : "a number"));
    if (!std::isfinite(static_cast<double>(v)) || !each.contains(static_cast<double>(v)))
      throw ConfigError(cat(key, ": element ", item, " of '", text, "' must be ", each.describe()));
    out.push_back(v);
  }
  return out;
}
}  // namespace

Config& Config::add(const std::string& key, std::string* target, const std::vector<std::string>& names,
                    const std::string& help) {
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : " | ") + n;
  return add_text(
      key, *target, help + " (" + list + ")",
      [=](const std::string& t) {
        for (const auto& n : names)
          if (n == t) return void(*target = t);
        unknown_value(key, t, list);
      },
      [target] { return *target; });
}

Config& Config::add(const std::string& key, std::vector<int64_t>* target, const std::string& help, Bounds each) {
  return add_text(key, join(*target), help + " (comma list" + (unbounded(each) ? "" : ", each " + each.describe()) + ")",
                  [=](const std::string& t) { *target = parse_numbers<int64_t>(key, t, each); },
                  [target] { return join(*target); });
}

Config& Config::add(const std::string& key, std::vector<double>* target, const std::string& help, Bounds each) {
  return add_text(key, join(*target), help + " (comma list" + (unbounded(each) ? "" : ", each " + each.describe()) + ")",
                  [=](const std::string& t) { *target = parse_numbers<double>(key, t, each); },
                  [target] { return join(*target); });
}

Config& Config::add(const std::string& key, std::vector<std::string>* target, const std::string& help) {
  return add_text(key, join(*target), help + " (comma list)", [target](const std::string& t) { *target = split_list(t); },
                  [target] { return join(*target); });
}

Config::Config(std::string program)
    : program_(std::move(program)), desc_("Options (INI keys; [section] name = value, or --section.name value)"),
      state_(std::make_shared<po::variables_map>()) {}

bool Config::parse(const std::vector<std::string>& args) {
  po::options_description cli("Command line");
  cli.add_options()("help,h", "print this help")("check", "validate the configuration, print it resolved, and exit")(
      "config", po::value<std::vector<std::string>>()->composing(),
      "INI file with any of the keys below (may repeat; later files win; command-line keys win over files)");
  po::options_description all;
  all.add(cli).add(desc_);
  po::variables_map cl;
  const po::positional_options_description none;  // a bare argument is an error, not ignored
  guarded("command line", [&] { po::store(po::command_line_parser(args).options(all).positional(none).run(), cl); });
  if (cl.count("help")) return false;
  check_ = cl.count("check") > 0;
  // Command-line values are stored first: po::store never overwrites a stored non-default value.
  guarded("command line", [&] { po::store(po::command_line_parser(args).options(all).run(), vm(state_)); });
  if (cl.count("config")) files_ = cl["config"].as<std::vector<std::string>>();
  for (auto it = files_.rbegin(); it != files_.rend(); ++it) {
    std::ifstream in(*it);
    if (!in) throw ConfigError(cat("config file '", *it, "' cannot be opened (does it exist?)"));
    guarded("config file '" + *it + "'", [&] { po::store(po::parse_config_file(in, desc_, false), vm(state_)); });
  }
  finish("configuration");
  return true;
}

void Config::parse_ini_text(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  guarded(name, [&] { po::store(po::parse_config_file(in, desc_, false), vm(state_)); });
  finish(name);
}

void Config::finish(const std::string& source) {
  guarded(source, [&] { po::notify(vm(state_)); });
  for (const auto& k : keys_)
    if (k.check) k.check();
}

std::string Config::help() const {
  std::ostringstream os;
  os << desc_;
  return os.str();
}

std::string Config::resolved() const {
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> sections;
  for (const auto& k : keys_) {
    auto dot = k.name.find('.');
    if (dot == std::string::npos) continue;
    sections[k.name.substr(0, dot)].push_back({k.name.substr(dot + 1), k.print()});
  }
  std::ostringstream os;
  // keys without a section ("model") first, before any [section] header, so the text parses back
  bool top = false;
  for (const auto& k : keys_)
    if (k.name.find('.') == std::string::npos) os << k.name << " = " << k.print() << "\n", top = true;
  if (top) os << "\n";
  for (const auto& [section, keys] : sections) {
    os << "[" << section << "]\n";
    for (const auto& [k, v] : keys) os << k << " = " << v << "\n";
    os << "\n";
  }
  return os.str();
}

std::vector<std::string> split_list(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, sep)) {
    auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

}  // namespace dagalign
