//===- Sampler.cpp - Next-token sampling ----------------------------------===//
//
// See Sampler.h for the chain and its order.
//
//===----------------------------------------------------------------------===//

#include "tfm/runtime/Sampler.h"

#include <algorithm>
#include <cmath>

namespace tfm {
namespace rt {

namespace {
using Cand = std::pair<int32_t, float>;
/// Larger value first; equal values: lower id first (deterministic ties).
bool byValueDesc(const Cand &a, const Cand &b) {
  return a.second > b.second || (a.second == b.second && a.first < b.first);
}
} // namespace

Sampler::Sampler(const SamplerParams &params)
    : params(params), rng(params.seed) {}

void Sampler::accept(int32_t token) {
  if (params.repeatLastN <= 0)
    return;
  recent.push_back(token);
  while (recent.size() > size_t(params.repeatLastN))
    recent.pop_front();
}

void Sampler::reset() {
  recent.clear();
  rng = SplitMix64(params.seed);
}

std::vector<int32_t> Sampler::penalisedTokens(int64_t n) const {
  std::vector<int32_t> distinct;
  if (params.repeatPenalty == 1.0f)
    return distinct;
  for (int32_t tok : recent)
    if (tok >= 0 && tok < n)
      distinct.push_back(tok);
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  return distinct;
}

void Sampler::filter(const float *logits, int64_t n,
                     std::vector<Cand> &cands) const {
  // 1. Repetition penalty, once per distinct recent token.
  std::vector<int32_t> penalised = penalisedTokens(n);
  auto penalise = [&](float l) {
    return l > 0 ? l / params.repeatPenalty : l * params.repeatPenalty;
  };

  // 2. Greedy: the first (lowest id) maximum, straight from the logits
  // (building a vocabulary's worth of candidates per token was 3% of the
  // perf samples of stories15M-shape greedy decode).
  if (params.temperature <= 0.0f) {
    int32_t best = 0;
    float bestValue = 0;
    size_t next = 0; // the next penalised token
    for (int64_t i = 0; i < n; ++i) {
      float l = logits[i];
      if (next < penalised.size() && penalised[next] == i) {
        l = penalise(l);
        ++next;
      }
      if (i == 0 || l > bestValue) { // strict: the lowest id wins ties
        best = int32_t(i);
        bestValue = l;
      }
    }
    cands.assign(1, {best, 1.0f});
    return;
  }

  cands.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i)
    cands[size_t(i)] = {int32_t(i), logits[i]};
  for (int32_t tok : penalised)
    cands[size_t(tok)].second = penalise(cands[size_t(tok)].second);

  // 3. Top-k. Candidates are sorted whenever a later step needs the order.
  bool sorted = false;
  if (params.topK > 0 && params.topK < n) {
    std::partial_sort(cands.begin(), cands.begin() + params.topK, cands.end(),
                      byValueDesc);
    cands.resize(size_t(params.topK));
    sorted = true;
  }
  if (!sorted && params.topP < 1.0f) {
    std::sort(cands.begin(), cands.end(), byValueDesc);
    sorted = true;
  }

  // 4. Temperature + softmax, max-subtracted so exp never overflows.
  float max = -INFINITY;
  for (const Cand &c : cands)
    max = std::max(max, c.second);
  double sum = 0;
  double invT = 1.0 / double(params.temperature);
  for (Cand &c : cands) {
    double e = std::exp((double(c.second) - double(max)) * invT);
    c.second = float(e);
    sum += e;
  }
  for (Cand &c : cands)
    c.second = float(double(c.second) / sum);

  // 5. Top-p: the smallest sorted prefix with mass >= p.
  if (params.topP < 1.0f) {
    double cum = 0;
    size_t keep = cands.size();
    for (size_t i = 0; i < cands.size(); ++i) {
      cum += cands[i].second;
      if (cum >= params.topP) {
        keep = i + 1;
        break;
      }
    }
    cands.resize(keep);
  }

  // 6. Min-p, relative to the most likely candidate.
  if (params.minP > 0.0f) {
    float pMax = 0;
    for (const Cand &c : cands)
      pMax = std::max(pMax, c.second);
    float threshold = params.minP * pMax;
    cands.erase(
        std::remove_if(cands.begin(), cands.end(),
                       [&](const Cand &c) { return c.second < threshold; }),
        cands.end());
  }

  // Renormalise the survivors.
  double total = 0;
  for (const Cand &c : cands)
    total += c.second;
  for (Cand &c : cands)
    c.second = float(double(c.second) / total);
}

std::vector<Cand> Sampler::distribution(const float *logits, int64_t n) const {
  std::vector<Cand> out;
  if (n <= 0)
    return out;
  filter(logits, n, out);
  std::stable_sort(out.begin(), out.end(), byValueDesc);
  return out;
}

int32_t Sampler::sample(const float *logits, int64_t n) {
  if (n <= 0)
    return -1;
  filter(logits, n, scratch);
  if (scratch.size() == 1)
    return scratch[0].first;
  double r = rng.uniform();
  double cum = 0;
  for (const Cand &c : scratch) {
    cum += c.second;
    if (r < cum)
      return c.first;
  }
  return scratch.back().first; // R landed in the rounding slack
}

} // namespace rt
} // namespace tfm
