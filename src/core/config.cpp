#include "dagalign/core/config.h"

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
}

std::string Config::help() const {
  std::ostringstream os;
  os << desc_;
  return os.str();
}

std::string Config::resolved() const {
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> sections;
  for (const auto& [key, print] : printers_) {
    auto dot = key.find('.');
    if (dot == std::string::npos) continue;
    sections[key.substr(0, dot)].push_back({key.substr(dot + 1), print()});
  }
  std::ostringstream os;
  // keys without a section ("model") first, before any [section] header, so the text parses back
  bool top = false;
  for (const auto& [key, print] : printers_)
    if (key.find('.') == std::string::npos) os << key << " = " << print() << "\n", top = true;
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
