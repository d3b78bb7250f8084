#include "dagalign/shapes/prompt_sets.h"

#include <algorithm>
#include <fstream>

#include "dagalign/core/error.h"
#include "dagalign/shapes/generator.h"

namespace dagalign::shapes {

namespace {
// "a <colour> <shape> on a <colour> background", sorted.
std::vector<std::string> basic_captions() {
  std::vector<std::string> out;
  for (int c = 0; c < num_colours(); ++c)
    for (int b = 0; b < num_colours(); ++b) {
      if (b == c) continue;
      for (int s = 0; s < kNumShapes; ++s) {
        Attributes a;
        a.shape = static_cast<Shape>(s);
        a.colour = c;
        a.background = b;
        out.push_back(caption(a, false, false));
      }
    }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> every_fourth(const std::vector<std::string>& v, bool heldout) {
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i)
    if ((i % 4 == 3) == heldout) out.push_back(v[i]);
  return out;
}
}  // namespace

std::vector<std::string> prompt_set(const std::string& name) {
  if (name == "all") return all_captions();
  if (name == "basic") return basic_captions();
  if (name == "train") return every_fourth(basic_captions(), false);
  if (name == "heldout") return every_fourth(basic_captions(), true);
  throw ConfigError(cat("prompt set '", name, "' is not one of all, basic, train, heldout"));
}

std::vector<std::string> load_prompts(const std::string& spec, const std::string& key) {
  if (spec == "all" || spec == "basic" || spec == "train" || spec == "heldout") return prompt_set(spec);
  std::ifstream in(spec);
  if (!in)
    throw ConfigError(cat(key, ": '", spec, "' is neither a prompt set (all, basic, train, heldout) nor a ",
                          "readable file"));
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    const auto b = line.find_first_not_of(" \t\r"), e = line.find_last_not_of(" \t\r");
    if (b != std::string::npos) out.push_back(line.substr(b, e - b + 1));
  }
  if (out.empty()) throw ConfigError(cat(key, ": file '", spec, "' holds no prompt"));
  return out;
}

}  // namespace dagalign::shapes
