//===- Sampler.h - Next-token sampling --------------------------*- C++ -*-===//
//
// Turns one row of logits into a token id. The chain, in this order (the
// order llama.cpp's default chain uses for these samplers):
//
//   1. repetition penalty over the last `repeatLastN` accepted tokens, each
//      distinct token once: logit > 0 ? logit / penalty : logit * penalty;
//   2. greedy if temperature <= 0: argmax, ties to the lowest id; done;
//   3. top-k: keep the k largest logits (k <= 0 or k >= vocab: keep all;
//      ties broken towards the lower id, so the result is deterministic);
//   4. temperature and softmax: p_i = exp((l_i - max) / T) / sum (stable);
//   5. top-p (nucleus): keep the smallest prefix of the sorted candidates
//      whose probability mass is >= p (always at least one; p >= 1: off);
//   6. min-p: keep candidates with p_i >= minP * p_max (minP <= 0: off);
//   7. draw from the renormalised survivors with the seeded generator.
//
// The generator is SplitMix64 (SplitMix64.h, shared with the compiler's
// random weights). Uniform doubles in [0, 1) use the top 53 bits.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_RUNTIME_SAMPLER_H
#define TFM_RUNTIME_SAMPLER_H

#include "tfm/runtime/SplitMix64.h"

#include <cstdint>
#include <deque>
#include <vector>

namespace tfm {
namespace rt {

/// Sampling settings; the defaults are llama.cpp's.
struct SamplerParams {
  float temperature = 0.8f;   ///< <= 0: greedy.
  int32_t topK = 40;          ///< <= 0: off.
  float topP = 0.95f;         ///< >= 1: off.
  float minP = 0.05f;         ///< <= 0: off.
  float repeatPenalty = 1.0f; ///< 1: off (llama.cpp's default since 2024).
  int32_t repeatLastN = 64;   ///< Window of the penalty; 0: off.
  uint64_t seed = 0;
};

class Sampler {
public:
  explicit Sampler(const SamplerParams &params);

  /// Picks the next token from `logits[0, n)`. The logits are not modified.
  int32_t sample(const float *logits, int64_t n);

  /// Records a token for the repetition penalty (prompt tokens too).
  void accept(int32_t token);

  /// Forgets the accepted tokens and restarts the generator from the seed.
  void reset();

  /// Probabilities of the candidates that survive steps 1-6 for `logits`,
  /// as (token, probability) sorted by decreasing probability, summing to 1
  /// (for greedy: the argmax with probability 1). sample() draws from
  /// exactly this distribution; exposed for tests and tools.
  std::vector<std::pair<int32_t, float>> distribution(const float *logits,
                                                      int64_t n) const;

  const SamplerParams &getParams() const { return params; }

private:
  /// Steps 1-6 into Cands (sorted by decreasing logit/probability).
  void filter(const float *logits, int64_t n,
              std::vector<std::pair<int32_t, float>> &cands) const;

  /// The distinct recent tokens in [0, n), ascending, when the repetition
  /// penalty is on (step 1); else none.
  std::vector<int32_t> penalisedTokens(int64_t n) const;

  SamplerParams params;
  SplitMix64 rng;
  std::deque<int32_t> recent;
  std::vector<std::pair<int32_t, float>> scratch;
};

} // namespace rt
} // namespace tfm

#endif // TFM_RUNTIME_SAMPLER_H
