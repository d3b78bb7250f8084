#pragma once
// Deterministic generator of captioned images for the tiny text-to-image world: sample i of seed s depends
// only on (s, i) (through stream_seed(s, Purpose::kData, i)), so any subset can be regenerated anywhere.
//   image:   (3, S, S) float32 in [0, 1] (CHW), one shape on a plain background, anti-aliased edges
//   caption: "a [small|large] <colour> <shape> [on the left|...] on a <colour> background"
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "dagalign/shapes/world.h"

namespace dagalign::shapes {

struct WorldSpec {
  int image_size = 32;
  double p_size_word = 0.5;      // probability that the caption names the size
  double p_position_word = 0.5;  // probability that the caption names the position
  int supersample = 4;           // anti-aliasing: s x s coverage samples per pixel (1 = hard edges)
};

struct Sample {
  at::Tensor image;  // (3, S, S) float32
  std::string caption;
  Attributes attributes;
};

struct Batch {
  at::Tensor images;  // (N, 3, S, S) float32
  std::vector<std::string> captions;
  std::vector<Attributes> attributes;
};

// Draws the attributes of sample `index` of `seed` (uniform over shapes, colour pairs, sizes, positions)
// and whether its caption names the size / the position.
Attributes draw_attributes(uint64_t seed, uint64_t index, const WorldSpec& spec, bool* size_word, bool* position_word);

// Renders the attributes: pixel = a * shape colour + (1 - a) * background, a = coverage of the pixel.
at::Tensor render(const Attributes& a, const WorldSpec& spec = {});
// Renders into a caller buffer of 3*S*S floats (CHW).
void render_into(const Attributes& a, const WorldSpec& spec, float* chw);

// The caption of the attributes, with or without the size word and the position phrase.
std::string caption(const Attributes& a, bool size_word, bool position_word);

Sample generate(uint64_t seed, uint64_t index, const WorldSpec& spec = {});
// Samples first .. first+n-1 of `seed`.
Batch generate_batch(uint64_t seed, uint64_t first, int64_t n, const WorldSpec& spec = {});

// Every word any caption can contain, sorted (the caption language's vocabulary).
std::vector<std::string> caption_words();
// Every caption the grammar can produce (sorted), e.g. for held-out prompt sets.
std::vector<std::string> all_captions();

}  // namespace dagalign::shapes
