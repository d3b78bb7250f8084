#pragma once
// One generic loader: module paths equal weight names, so loading is a loop over named_parameters() and
// named_buffers() with a strict report of missing, unexpected and mis-shaped tensors.
#include <string>
#include <vector>

#include "dagalign/weights/safetensors.h"

namespace torch::nn { class Module; }

namespace dagalign {

struct LoadReport {
  std::vector<std::string> missing;     // in the module, not in the file
  std::vector<std::string> unexpected;  // in the file, not in the module
  std::vector<std::string> mismatched;  // "name: expected [a, b], found [c, d]"
  bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
};

// Copies tensors into the module's parameters/buffers (converting dtype). With strict=true any problem
// throws Error naming `source` (the file) and the keys. `ignore` lists file keys to skip (position_ids).
LoadReport load_state_dict(torch::nn::Module& module, const TensorMap& tensors, const std::string& source,
                           bool strict = true, const std::vector<std::string>& ignore = {});
// The module's parameters and buffers by name (detached, for writing).
TensorMap state_dict(const torch::nn::Module& module);

}  // namespace dagalign
