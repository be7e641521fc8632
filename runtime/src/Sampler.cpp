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
bool byValueDesc(const Cand &A, const Cand &B) {
  return A.second > B.second || (A.second == B.second && A.first < B.first);
}
} // namespace

Sampler::Sampler(const SamplerParams &params)
    : Params(params), Rng(params.seed) {}

void Sampler::accept(int32_t token) {
  if (Params.repeatLastN <= 0)
    return;
  Recent.push_back(token);
  while (Recent.size() > size_t(Params.repeatLastN))
    Recent.pop_front();
}

void Sampler::reset() {
  Recent.clear();
  Rng = SplitMix64(Params.seed);
}

void Sampler::filter(const float *logits, int64_t n,
                     std::vector<Cand> &cands) const {
  cands.resize(size_t(n));
  for (int64_t I = 0; I < n; ++I)
    cands[size_t(I)] = {int32_t(I), logits[I]};

  // 1. Repetition penalty, once per distinct recent token.
  if (Params.repeatPenalty != 1.0f && !Recent.empty()) {
    std::vector<int32_t> Distinct(Recent.begin(), Recent.end());
    std::sort(Distinct.begin(), Distinct.end());
    Distinct.erase(std::unique(Distinct.begin(), Distinct.end()),
                   Distinct.end());
    for (int32_t Tok : Distinct) {
      if (Tok < 0 || Tok >= n)
        continue;
      float &L = cands[size_t(Tok)].second;
      L = L > 0 ? L / Params.repeatPenalty : L * Params.repeatPenalty;
    }
  }

  // 2. Greedy.
  if (Params.temperature <= 0.0f) {
    Cand Best = cands[0];
    for (const Cand &C : cands)
      if (C.second > Best.second) // strict: the first (lowest id) max wins
        Best = C;
    cands.assign(1, {Best.first, 1.0f});
    return;
  }

  // 3. Top-k. Candidates are sorted whenever a later step needs the order.
  bool Sorted = false;
  if (Params.topK > 0 && Params.topK < n) {
    std::partial_sort(cands.begin(), cands.begin() + Params.topK, cands.end(),
                      byValueDesc);
    cands.resize(size_t(Params.topK));
    Sorted = true;
  }
  if (!Sorted && Params.topP < 1.0f) {
    std::sort(cands.begin(), cands.end(), byValueDesc);
    Sorted = true;
  }

  // 4. Temperature + softmax, max-subtracted so exp never overflows.
  float Max = -INFINITY;
  for (const Cand &C : cands)
    Max = std::max(Max, C.second);
  double Sum = 0;
  double InvT = 1.0 / double(Params.temperature);
  for (Cand &C : cands) {
    double E = std::exp((double(C.second) - double(Max)) * InvT);
    C.second = float(E);
    Sum += E;
  }
  for (Cand &C : cands)
    C.second = float(double(C.second) / Sum);

  // 5. Top-p: the smallest sorted prefix with mass >= p.
  if (Params.topP < 1.0f) {
    double Cum = 0;
    size_t Keep = cands.size();
    for (size_t I = 0; I < cands.size(); ++I) {
      Cum += cands[I].second;
      if (Cum >= Params.topP) {
        Keep = I + 1;
        break;
      }
    }
    cands.resize(Keep);
  }

  // 6. Min-p, relative to the most likely candidate.
  if (Params.minP > 0.0f) {
    float PMax = 0;
    for (const Cand &C : cands)
      PMax = std::max(PMax, C.second);
    float Threshold = Params.minP * PMax;
    cands.erase(
        std::remove_if(cands.begin(), cands.end(),
                       [&](const Cand &C) { return C.second < Threshold; }),
        cands.end());
  }

  // Renormalise the survivors.
  double Total = 0;
  for (const Cand &C : cands)
    Total += C.second;
  for (Cand &C : cands)
    C.second = float(double(C.second) / Total);
}

std::vector<Cand> Sampler::distribution(const float *logits, int64_t n) const {
  std::vector<Cand> Out;
  if (n <= 0)
    return Out;
  filter(logits, n, Out);
  std::stable_sort(Out.begin(), Out.end(), byValueDesc);
  return Out;
}

int32_t Sampler::sample(const float *logits, int64_t n) {
  if (n <= 0)
    return -1;
  filter(logits, n, Scratch);
  if (Scratch.size() == 1)
    return Scratch[0].first;
  double R = Rng.uniform();
  double Cum = 0;
  for (const Cand &C : Scratch) {
    Cum += C.second;
    if (R < Cum)
      return C.first;
  }
  return Scratch.back().first; // R landed in the rounding slack
}

} // namespace rt
} // namespace tfm
