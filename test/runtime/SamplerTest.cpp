//===- SamplerTest.cpp - Sampling chain: statistics, greedy, penalty ------===//
//
// Expected probabilities are computed here from the definitions of each step
// (in double precision, by a separate straightforward implementation); the
// sampler's empirical frequencies over 200k draws must pass a chi-square
// test against them.
//
//===----------------------------------------------------------------------===//

#include "tfm/runtime/Sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <vector>

using tfm::rt::Sampler;
using tfm::rt::SamplerParams;
using tfm::rt::SplitMix64;

namespace {

const std::vector<float> kLogits = {1.0f, 2.5f,  -0.5f, 3.0f, 0.2f,
                                    2.9f, -2.0f, 1.7f,  0.0f, 2.2f};

/// The chain's definition, independent of Sampler.cpp.
std::vector<double> expectedProbs(std::vector<float> l, const SamplerParams &p,
                                  const std::vector<int32_t> &recent = {}) {
  size_t n = l.size();
  std::vector<bool> done(n, false);
  for (int32_t t : recent)
    if (!done[size_t(t)]) {
      float &x = l[size_t(t)];
      x = x > 0 ? x / p.repeatPenalty : x * p.repeatPenalty;
      done[size_t(t)] = true;
    }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return l[a] > l[b]; });
  size_t k = (p.topK > 0 && size_t(p.topK) < n) ? size_t(p.topK) : n;
  order.resize(k);
  std::vector<double> prob(n, 0.0);
  double sum = 0;
  for (size_t i : order)
    sum += std::exp(double(l[i]) / p.temperature);
  for (size_t i : order)
    prob[i] = std::exp(double(l[i]) / p.temperature) / sum;
  if (p.topP < 1) {
    double cum = 0;
    size_t keep = 0;
    while (keep < order.size()) {
      cum += prob[order[keep++]];
      if (cum >= p.topP)
        break;
    }
    for (size_t j = keep; j < order.size(); ++j)
      prob[order[j]] = 0;
  }
  if (p.minP > 0) {
    double max = *std::max_element(prob.begin(), prob.end());
    for (double &x : prob)
      if (x < p.minP * max)
        x = 0;
  }
  double total = std::accumulate(prob.begin(), prob.end(), 0.0);
  for (double &x : prob)
    x /= total;
  return prob;
}

/// Upper quantile of chi-square(df) at z standard deviations
/// (Wilson-Hilferty); z = 4.75 is a one-sided p of about 1e-6.
double chiSquareBound(int df, double z = 4.75) {
  double a = 2.0 / (9.0 * df);
  return df * std::pow(1 - a + z * std::sqrt(a), 3);
}

void checkFrequencies(const SamplerParams &p) {
  std::vector<double> want = expectedProbs(kLogits, p);
  Sampler s(p);
  // The sampler's own reported distribution matches the definition.
  std::vector<double> reported(kLogits.size(), 0.0);
  for (auto [Id, Pr] : s.distribution(kLogits.data(), int64_t(kLogits.size())))
    reported[size_t(Id)] = Pr;
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(reported[i], want[i], 1e-6) << "token " << i;

  const int draws = 200000;
  std::vector<int> count(kLogits.size(), 0);
  for (int i = 0; i < draws; ++i)
    ++count[size_t(s.sample(kLogits.data(), int64_t(kLogits.size())))];
  double chi2 = 0;
  int df = -1;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] == 0) {
      EXPECT_EQ(count[i], 0) << "token " << i << " should be filtered out";
      continue;
    }
    double e = want[i] * draws;
    chi2 += (count[i] - e) * (count[i] - e) / e;
    ++df;
  }
  if (df > 0)
    EXPECT_LT(chi2, chiSquareBound(df)) << "df=" << df;
}

SamplerParams plain(float temp) {
  SamplerParams p;
  p.temperature = temp;
  p.topK = 0;
  p.topP = 1.0f;
  p.minP = 0.0f;
  p.seed = 42;
  return p;
}

TEST(Sampler, TemperatureOne) { checkFrequencies(plain(1.0f)); }

TEST(Sampler, TemperatureLowAndHigh) {
  checkFrequencies(plain(0.5f));
  checkFrequencies(plain(2.0f));
}

TEST(Sampler, TopK) {
  SamplerParams p = plain(1.0f);
  p.topK = 3;
  checkFrequencies(p);
  std::vector<double> want = expectedProbs(kLogits, p);
  EXPECT_EQ(
      std::count_if(want.begin(), want.end(), [](double x) { return x > 0; }),
      3);
}

TEST(Sampler, TopP) {
  SamplerParams p = plain(1.0f);
  p.topP = 0.7f;
  checkFrequencies(p);
  p.topP = 0.0f; // degenerate: the single most likely token
  checkFrequencies(p);
}

TEST(Sampler, MinP) {
  SamplerParams p = plain(1.0f);
  p.minP = 0.2f;
  checkFrequencies(p);
}

TEST(Sampler, DefaultChain) {
  SamplerParams
      p; // llama.cpp defaults: temp 0.8, top-k 40, top-p 0.95, min-p 0.05
  p.seed = 7;
  checkFrequencies(p);
  p.topK = 4;
  p.topP = 0.9f;
  p.minP = 0.1f;
  p.temperature = 1.3f;
  checkFrequencies(p);
}

TEST(Sampler, GreedyArgmaxLowestIdOnTies) {
  SamplerParams p = plain(0.0f);
  Sampler s(p);
  EXPECT_EQ(s.sample(kLogits.data(), int64_t(kLogits.size())), 3);
  std::vector<float> tie = {0.0f, 5.0f, 1.0f, 5.0f, 5.0f};
  EXPECT_EQ(s.sample(tie.data(), 5), 1);
  std::vector<float> neg = {-3.0f, -1.0f, -1.0f};
  EXPECT_EQ(s.sample(neg.data(), 3), 1);
}

TEST(Sampler, RepetitionPenalty) {
  SamplerParams p = plain(0.0f);
  p.repeatPenalty = 1.5f;
  p.repeatLastN = 3;
  Sampler s(p);
  // Token 3 (3.0) and 5 (2.9): penalising 3 gives 2.0 < 2.9, so 5 wins.
  s.accept(3);
  EXPECT_EQ(s.sample(kLogits.data(), int64_t(kLogits.size())), 5);
  // Penalised once however often it occurs: 3 -> 2.0, 5 -> 2.9/1.5 = 1.93,
  // so 1 (2.5) wins rather than 9 (2.2).
  s.accept(5);
  s.accept(5);
  EXPECT_EQ(s.sample(kLogits.data(), int64_t(kLogits.size())), 1);
  // The window holds 3 tokens: after three more, 3 and 5 are forgotten.
  s.accept(0);
  s.accept(0);
  s.accept(0);
  EXPECT_EQ(s.sample(kLogits.data(), int64_t(kLogits.size())), 3);

  // With sampling, the whole distribution follows the penalised logits,
  // negative logits multiplied (token 2: -0.5 -> -0.75).
  SamplerParams q = plain(1.0f);
  q.repeatPenalty = 1.5f;
  q.repeatLastN = 8;
  Sampler t(q);
  std::vector<int32_t> recent = {3, 2, 3, 9};
  for (int32_t tok : recent)
    t.accept(tok);
  std::vector<double> want = expectedProbs(kLogits, q, recent);
  std::vector<double> got(kLogits.size(), 0.0);
  for (auto [Id, Pr] : t.distribution(kLogits.data(), int64_t(kLogits.size())))
    got[size_t(Id)] = Pr;
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-6) << "token " << i;
}

TEST(Sampler, SeedReproducibility) {
  SamplerParams p = plain(1.0f);
  p.seed = 123;
  Sampler a(p), b(p);
  p.seed = 124;
  Sampler c(p);
  std::vector<int32_t> ra, rb, rc;
  for (int i = 0; i < 1000; ++i) {
    ra.push_back(a.sample(kLogits.data(), int64_t(kLogits.size())));
    rb.push_back(b.sample(kLogits.data(), int64_t(kLogits.size())));
    rc.push_back(c.sample(kLogits.data(), int64_t(kLogits.size())));
  }
  EXPECT_EQ(ra, rb);
  EXPECT_NE(ra, rc);
  a.reset();
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(a.sample(kLogits.data(), int64_t(kLogits.size())), ra[size_t(i)]);
}

TEST(Sampler, SplitMix64MatchesReference) {
  // First two outputs for seed 0 of Vigna's splitmix64.c, recomputed with an
  // independent Python implementation.
  SplitMix64 r(0);
  EXPECT_EQ(r.next(), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(r.next(), 0x6E789E6AA1B965F4ull);
  SplitMix64 u(5);
  for (int i = 0; i < 10000; ++i) {
    double x = u.uniform();
    ASSERT_GE(x, 0.0);
    ASSERT_LT(x, 1.0);
  }
}

TEST(Sampler, StableWithHugeLogits) {
  std::vector<float> big = {1e30f, 1e30f - 1e24f, -1e30f};
  SamplerParams p = plain(1.0f);
  Sampler s(p);
  auto d = s.distribution(big.data(), 3);
  double sum = 0;
  for (auto [Id, Pr] : d) {
    EXPECT_TRUE(std::isfinite(Pr));
    sum += Pr;
  }
  EXPECT_NEAR(sum, 1.0, 1e-6);
  int32_t t = s.sample(big.data(), 3);
  EXPECT_TRUE(t == 0 || t == 1);
}

} // namespace
