#include "dagalign/core/rng.h"

#include <ATen/CPUGeneratorImpl.h>

namespace dagalign {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t stream_seed(uint64_t base, Purpose purpose, uint64_t a, uint64_t b) {
  uint64_t s = splitmix64(base);
  s = splitmix64(s ^ static_cast<uint64_t>(purpose));
  s = splitmix64(s ^ a);
  return splitmix64(s ^ (b * 0x2545f4914f6cdd1dULL));
}

at::Generator make_generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

}  // namespace dagalign
