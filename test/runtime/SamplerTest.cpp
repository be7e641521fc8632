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

const std::vector<float> Logits = {1.0f, 2.5f,  -0.5f, 3.0f, 0.2f,
                                   2.9f, -2.0f, 1.7f,  0.0f, 2.2f};

/// The chain's definition, independent of Sampler.cpp.
std::vector<double> expectedProbs(std::vector<float> L, const SamplerParams &P,
                                  const std::vector<int32_t> &Recent = {}) {
  size_t N = L.size();
  std::vector<bool> Done(N, false);
  for (int32_t T : Recent)
    if (!Done[size_t(T)]) {
      float &X = L[size_t(T)];
      X = X > 0 ? X / P.repeatPenalty : X * P.repeatPenalty;
      Done[size_t(T)] = true;
    }
  std::vector<size_t> Order(N);
  std::iota(Order.begin(), Order.end(), 0);
  std::stable_sort(Order.begin(), Order.end(),
                   [&](size_t A, size_t B) { return L[A] > L[B]; });
  size_t K = (P.topK > 0 && size_t(P.topK) < N) ? size_t(P.topK) : N;
  Order.resize(K);
  std::vector<double> Prob(N, 0.0);
  double Sum = 0;
  for (size_t I : Order)
    Sum += std::exp(double(L[I]) / P.temperature);
  for (size_t I : Order)
    Prob[I] = std::exp(double(L[I]) / P.temperature) / Sum;
  if (P.topP < 1) {
    double Cum = 0;
    size_t Keep = 0;
    while (Keep < Order.size()) {
      Cum += Prob[Order[Keep++]];
      if (Cum >= P.topP)
        break;
    }
    for (size_t J = Keep; J < Order.size(); ++J)
      Prob[Order[J]] = 0;
  }
  if (P.minP > 0) {
    double Max = *std::max_element(Prob.begin(), Prob.end());
    for (double &X : Prob)
      if (X < P.minP * Max)
        X = 0;
  }
  double Total = std::accumulate(Prob.begin(), Prob.end(), 0.0);
  for (double &X : Prob)
    X /= Total;
  return Prob;
}

/// Upper quantile of chi-square(df) at z standard deviations
/// (Wilson-Hilferty); z = 4.75 is a one-sided p of about 1e-6.
double chiSquareBound(int Df, double Z = 4.75) {
  double A = 2.0 / (9.0 * Df);
  return Df * std::pow(1 - A + Z * std::sqrt(A), 3);
}

void checkFrequencies(const SamplerParams &P) {
  std::vector<double> Want = expectedProbs(Logits, P);
  Sampler S(P);
  // The sampler's own reported distribution matches the definition.
  std::vector<double> Reported(Logits.size(), 0.0);
  for (auto [Id, Pr] : S.distribution(Logits.data(), int64_t(Logits.size())))
    Reported[size_t(Id)] = Pr;
  for (size_t I = 0; I < Want.size(); ++I)
    EXPECT_NEAR(Reported[I], Want[I], 1e-6) << "token " << I;

  const int Draws = 200000;
  std::vector<int> Count(Logits.size(), 0);
  for (int I = 0; I < Draws; ++I)
    ++Count[size_t(S.sample(Logits.data(), int64_t(Logits.size())))];
  double Chi2 = 0;
  int Df = -1;
  for (size_t I = 0; I < Want.size(); ++I) {
    if (Want[I] == 0) {
      EXPECT_EQ(Count[I], 0) << "token " << I << " should be filtered out";
      continue;
    }
    double E = Want[I] * Draws;
    Chi2 += (Count[I] - E) * (Count[I] - E) / E;
    ++Df;
  }
  if (Df > 0)
    EXPECT_LT(Chi2, chiSquareBound(Df)) << "df=" << Df;
}

SamplerParams plain(float Temp) {
  SamplerParams P;
  P.temperature = Temp;
  P.topK = 0;
  P.topP = 1.0f;
  P.minP = 0.0f;
  P.seed = 42;
  return P;
}

TEST(Sampler, TemperatureOne) { checkFrequencies(plain(1.0f)); }

TEST(Sampler, TemperatureLowAndHigh) {
  checkFrequencies(plain(0.5f));
  checkFrequencies(plain(2.0f));
}

TEST(Sampler, TopK) {
  SamplerParams P = plain(1.0f);
  P.topK = 3;
  checkFrequencies(P);
  std::vector<double> Want = expectedProbs(Logits, P);
  EXPECT_EQ(
      std::count_if(Want.begin(), Want.end(), [](double X) { return X > 0; }),
      3);
}

TEST(Sampler, TopP) {
  SamplerParams P = plain(1.0f);
  P.topP = 0.7f;
  checkFrequencies(P);
  P.topP = 0.0f; // degenerate: the single most likely token
  checkFrequencies(P);
}

TEST(Sampler, MinP) {
  SamplerParams P = plain(1.0f);
  P.minP = 0.2f;
  checkFrequencies(P);
}

TEST(Sampler, DefaultChain) {
  SamplerParams
      P; // llama.cpp defaults: temp 0.8, top-k 40, top-p 0.95, min-p 0.05
  P.seed = 7;
  checkFrequencies(P);
  P.topK = 4;
  P.topP = 0.9f;
  P.minP = 0.1f;
  P.temperature = 1.3f;
  checkFrequencies(P);
}

TEST(Sampler, GreedyArgmaxLowestIdOnTies) {
  SamplerParams P = plain(0.0f);
  Sampler S(P);
  EXPECT_EQ(S.sample(Logits.data(), int64_t(Logits.size())), 3);
  std::vector<float> Tie = {0.0f, 5.0f, 1.0f, 5.0f, 5.0f};
  EXPECT_EQ(S.sample(Tie.data(), 5), 1);
  std::vector<float> Neg = {-3.0f, -1.0f, -1.0f};
  EXPECT_EQ(S.sample(Neg.data(), 3), 1);
}

TEST(Sampler, RepetitionPenalty) {
  SamplerParams P = plain(0.0f);
  P.repeatPenalty = 1.5f;
  P.repeatLastN = 3;
  Sampler S(P);
  // Token 3 (3.0) and 5 (2.9): penalising 3 gives 2.0 < 2.9, so 5 wins.
  S.accept(3);
  EXPECT_EQ(S.sample(Logits.data(), int64_t(Logits.size())), 5);
  // Penalised once however often it occurs: 3 -> 2.0, 5 -> 2.9/1.5 = 1.93,
  // so 1 (2.5) wins rather than 9 (2.2).
  S.accept(5);
  S.accept(5);
  EXPECT_EQ(S.sample(Logits.data(), int64_t(Logits.size())), 1);
  // The window holds 3 tokens: after three more, 3 and 5 are forgotten.
  S.accept(0);
  S.accept(0);
  S.accept(0);
  EXPECT_EQ(S.sample(Logits.data(), int64_t(Logits.size())), 3);

  // With sampling, the whole distribution follows the penalised logits,
  // negative logits multiplied (token 2: -0.5 -> -0.75).
  SamplerParams Q = plain(1.0f);
  Q.repeatPenalty = 1.5f;
  Q.repeatLastN = 8;
  Sampler T(Q);
  std::vector<int32_t> Recent = {3, 2, 3, 9};
  for (int32_t Tok : Recent)
    T.accept(Tok);
  std::vector<double> Want = expectedProbs(Logits, Q, Recent);
  std::vector<double> Got(Logits.size(), 0.0);
  for (auto [Id, Pr] : T.distribution(Logits.data(), int64_t(Logits.size())))
    Got[size_t(Id)] = Pr;
  for (size_t I = 0; I < Want.size(); ++I)
    EXPECT_NEAR(Got[I], Want[I], 1e-6) << "token " << I;
}

TEST(Sampler, SeedReproducibility) {
  SamplerParams P = plain(1.0f);
  P.seed = 123;
  Sampler A(P), B(P);
  P.seed = 124;
  Sampler C(P);
  std::vector<int32_t> Ra, Rb, Rc;
  for (int I = 0; I < 1000; ++I) {
    Ra.push_back(A.sample(Logits.data(), int64_t(Logits.size())));
    Rb.push_back(B.sample(Logits.data(), int64_t(Logits.size())));
    Rc.push_back(C.sample(Logits.data(), int64_t(Logits.size())));
  }
  EXPECT_EQ(Ra, Rb);
  EXPECT_NE(Ra, Rc);
  A.reset();
  for (int I = 0; I < 1000; ++I)
    ASSERT_EQ(A.sample(Logits.data(), int64_t(Logits.size())), Ra[size_t(I)]);
}

TEST(Sampler, SplitMix64MatchesReference) {
  // First two outputs for seed 0 of Vigna's splitmix64.c, recomputed with an
  // independent Python implementation.
  SplitMix64 R(0);
  EXPECT_EQ(R.next(), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(R.next(), 0x6E789E6AA1B965F4ull);
  SplitMix64 U(5);
  for (int I = 0; I < 10000; ++I) {
    double X = U.uniform();
    ASSERT_GE(X, 0.0);
    ASSERT_LT(X, 1.0);
  }
}

TEST(Sampler, StableWithHugeLogits) {
  std::vector<float> Big = {1e30f, 1e30f - 1e24f, -1e30f};
  SamplerParams P = plain(1.0f);
  Sampler S(P);
  auto D = S.distribution(Big.data(), 3);
  double Sum = 0;
  for (auto [Id, Pr] : D) {
    EXPECT_TRUE(std::isfinite(Pr));
    Sum += Pr;
  }
  EXPECT_NEAR(Sum, 1.0, 1e-6);
  int32_t T = S.sample(Big.data(), 3);
  EXPECT_TRUE(T == 0 || T == 1);
}

} // namespace
