#pragma once
// Named prompt sets of the tiny world, for alignment runs and evaluation:
//   "all"      every caption of the grammar (4032)
//   "basic"    the 224 captions without size or position: "a <colour> <shape> on a <colour> background"
//   "train"    the basic captions with index i % 4 != 3 (168), used to sample training prompts
//   "heldout"  the basic captions with index i % 4 == 3 (56), never seen in alignment training
// Indices refer to the sorted order of each set. A set name that is none of these throws naming it.
#include <string>
#include <vector>

namespace dagalign::shapes {

std::vector<std::string> prompt_set(const std::string& name);

// A prompt set name, or else a text file with one prompt per line (surrounding blanks trimmed, blank lines
// skipped). ConfigError naming `key` and `spec` when it is neither, or the file holds no prompt.
std::vector<std::string> load_prompts(const std::string& spec, const std::string& key);

}  // namespace dagalign::shapes
