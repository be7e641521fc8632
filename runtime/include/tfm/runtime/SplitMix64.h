//===- SplitMix64.h - The one SplitMix64 generator --------------*- C++ -*-===//
//
// Header-only, so that the compiler (random weights, Weights.cpp) and the
// runtime (the sampler) draw from the same generator.
//
// SplitMix64 (Steele, Lea, Flood 2014; Vigna's splitmix64.c): the state
// advances by a fixed odd constant and each output is a 64-bit mix of the
// state. It is tiny, passes BigCrush, and gives the same stream for the same
// seed on every platform.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_RUNTIME_SPLITMIX64_H
#define TFM_RUNTIME_SPLITMIX64_H

#include <cstdint>

namespace tfm {
namespace rt {

class SplitMix64 {
public:
  /// The increment of the state per output (2^64 / golden ratio, odd).
  static constexpr uint64_t kGamma = 0x9E3779B97F4A7C15ull;

  explicit SplitMix64(uint64_t seed) : state(seed) {}

  uint64_t next() {
    uint64_t z = (state += kGamma);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  /// Uniform in [0, 1), 53 random bits.
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }

  /// Skips `n` outputs in O(1): the stream continues with output n + 1.
  void skip(uint64_t n) { state += n * kGamma; }

private:
  uint64_t state;
};

} // namespace rt
} // namespace tfm

#endif // TFM_RUNTIME_SPLITMIX64_H
