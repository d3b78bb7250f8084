#pragma once
// Deterministic random streams. Every random draw comes from a generator seeded by
// (run seed, purpose, index...) through splitmix64, never from global state, so the same config and seed
// give the same numbers on any number of ranks: trajectory i of epoch e gets the same noise whether one
// rank or eight sample it.
#include <cstdint>

#include <ATen/core/Generator.h>

namespace dagalign {

enum class Purpose : uint64_t { kInit = 1, kTrajectory = 2, kPrompt = 3, kShuffle = 4, kReplay = 5, kData = 6, kEval = 7 };

uint64_t splitmix64(uint64_t x);
// seed for (base, purpose, a, b): e.g. stream_seed(seed, Purpose::kTrajectory, epoch, global_index).
uint64_t stream_seed(uint64_t base, Purpose purpose, uint64_t a = 0, uint64_t b = 0);
at::Generator make_generator(uint64_t seed);

}  // namespace dagalign
