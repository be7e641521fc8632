/*===- AlibiSlope.h - The one definition of the ALiBi slopes ---*- C++ -*-===*\
 *
 * Header-only, so that the compiler (the lowering of tfm.alibi, which puts
 * the slopes in the IR as constants, and tfm-generate-attention, which puts
 * them in a constant table) and the runtime's tfmrt_alibi_slope compute them
 * with the same code.
 *
\*===----------------------------------------------------------------------===*/

#ifndef TFM_RUNTIME_ALIBISLOPE_H
#define TFM_RUNTIME_ALIBISLOPE_H

#include <cmath>
#include <cstdint>

namespace tfm {
namespace rt {

/// The ALiBi slope of head `h` of `numHeads` (Press et al., 2022, and their
/// reference code's get_slopes): 2^(-8(h+1)/n) when n is a power of two;
/// otherwise the n slopes of the closest lower power of two p, followed by
/// the even-indexed slopes of 2p (2^(-8(2j+1)/(2p)) for j = 0, 1, ...).
/// test/runtime/KernelsTest.cpp checks it against the recursive reference.
inline float alibiSlope(int64_t h, int64_t numHeads) {
  if (numHeads <= 0)
    return 0.0f;
  int64_t p = 1; // The closest power of two <= numHeads.
  while (p * 2 <= numHeads)
    p *= 2;
  if (h < p)
    return static_cast<float>(std::exp2(-8.0 * double(h + 1) / double(p)));
  int64_t j = h - p;
  return static_cast<float>(
      std::exp2(-8.0 * double(2 * j + 1) / double(2 * p)));
}

} // namespace rt
} // namespace tfm

#endif // TFM_RUNTIME_ALIBISLOPE_H
