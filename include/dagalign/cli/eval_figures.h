#pragma once
// The figures of `dagalign eval` (src/cli/eval.cpp), computed from images, prompts and rewards so that
// tests can run them on ground-truth data:
//   reward:    mean, std (population, 1/n), min, max of the per-sample scores
//   fidelity:  fraction of samples whose reading matches every attribute their prompt names
//              (shapes::faithful), and the mean graded shapes::alignment_score; tiny-world only
//   reference: ground-truth images of the tiny world for the same prompts (attributes the caption does not
//              name drawn as the training data draws them), whose diversity the samples' is set against
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace dagalign::cli {

// A named prompt set (shapes/prompt_sets.h: all, basic, train, heldout) or a text file with one prompt per
// line (surrounding blanks and empty lines dropped). A set name wins over a file of that name. Throws
// ConfigError naming `spec` when it is neither, or the file holds no prompt.
std::vector<std::string> load_prompts(const std::string& spec);

struct RewardStats {
  int64_t n = 0;
  double mean = 0, std = 0, min = 0, max = 0;
};
RewardStats reward_stats(const at::Tensor& rewards);  // (n,) any float dtype, n >= 1

struct Fidelity {
  bool applicable = false;  // false when a prompt is not a tiny-world caption or the images are not square
  std::string reason;       // why not applicable (the parse error of the first such prompt)
  double fidelity = 0;      // fraction of faithful samples
  double alignment = 0;     // mean alignment_score
  std::vector<int> faithful;          // per sample 0/1
  std::vector<double> alignment_per;  // per sample
};
// images (n, 3, S, S) in [0, 1]; prompts: one per image.
Fidelity prompt_fidelity(const at::Tensor& images, const std::vector<std::string>& prompts);

// True when every prompt parses as a tiny-world caption; else false and *reason = the first parse error.
bool shapes_prompts(const std::vector<std::string>& prompts, std::string* reason = nullptr);

// Ground-truth images (n, 3, S, S) of the tiny world, image i showing prompts[i]: the named attributes
// (shape, colour, background, size, position) are the caption's, the others and the geometry's jitter are
// drawn by shapes::draw_attributes from the stream (stream_seed(seed, Purpose::kData, i), k) for
// k = 0, 1, ... until the drawn size/position agree with the caption's (and the colours differ).
// Throws (parse_prompt's Error) when a prompt is not a caption.
at::Tensor reference_images(const std::vector<std::string>& prompts, uint64_t seed, int image_size);

}  // namespace dagalign::cli
