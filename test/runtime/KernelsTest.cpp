//===- KernelsTest.cpp - Linear and attention kernels vs. naive loops -----===//
//
// References are straightforward double-precision loops: the attention one
// materialises the whole score row and normalises it with a plain softmax,
// so it shares nothing with the kernel's online, blocked formulation.
//
//===----------------------------------------------------------------------===//

#include "tfm/runtime/Kernels.h"
#include "tfm/runtime/ThreadPool.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace {

/// A 2-D f32 operand living inside a larger buffer at `offset` with row
/// stride cols + pad, so the kernels must honour descriptor offsets/strides.
struct Buf2 {
  std::vector<float> Data;
  TfmMemRefF32x2 Ref;
  int64_t Rows, Cols, Stride, Offset;
  Buf2(int64_t Rows, int64_t Cols, int64_t Pad, int64_t Offset,
       std::mt19937 &Rng, float Scale = 1.0f)
      : Rows(Rows), Cols(Cols), Stride(Cols + Pad), Offset(Offset) {
    // NaN in the padding: reading it would poison the results.
    Data.assign(size_t(Offset + Rows * Stride + 8), NAN);
    std::uniform_real_distribution<float> U(-Scale, Scale);
    for (int64_t R = 0; R < Rows; ++R)
      for (int64_t C = 0; C < Cols; ++C)
        at(R, C) = U(Rng);
    Ref = {Data.data(), Data.data(), Offset, {Rows, Cols}, {Stride, 1}};
  }
  float &at(int64_t R, int64_t C) {
    return Data[size_t(Offset + R * Stride + C)];
  }
};

struct Buf3 {
  std::vector<float> Data;
  TfmMemRefF32x3 Ref;
  int64_t S0, S1, S2, St0, St1, Offset;
  Buf3(int64_t A, int64_t B, int64_t C, int64_t Pad, int64_t Offset,
       std::mt19937 &Rng, float Scale)
      : S0(A), S1(B), S2(C), St0(B * C + Pad), St1(C), Offset(Offset) {
    Data.assign(size_t(Offset + A * St0 + 8), NAN);
    std::uniform_real_distribution<float> U(-Scale, Scale);
    for (int64_t I = 0; I < A; ++I)
      for (int64_t J = 0; J < B; ++J)
        for (int64_t K = 0; K < C; ++K)
          at(I, J, K) = U(Rng);
    Ref = {Data.data(), Data.data(), Offset, {A, B, C}, {St0, St1, 1}};
  }
  float &at(int64_t I, int64_t J, int64_t K) {
    return Data[size_t(Offset + I * St0 + J * St1 + K)];
  }
};

struct LinearCase {
  int64_t T, N, K, Pad, Offset;
  int Threads;
};

void checkLinear(const LinearCase &C) {
  tfm::rt::ThreadPool Pool(C.Threads);
  tfm::rt::ThreadPool::Scope UsePool(Pool);
  std::mt19937 Rng(1234 + C.T * 7 + C.N * 13 + C.K);
  Buf2 X(C.T, C.K, C.Pad, C.Offset, Rng),
      W(C.N, C.K, C.Pad + 3, C.Offset + 5, Rng);
  Buf2 Out(C.T, C.N, C.Pad + 1, 7, Rng);
  _mlir_ciface_tfmrt_linear(&Out.Ref, &X.Ref, &W.Ref, 0);
  double MaxErr = 0;
  for (int64_t T = 0; T < C.T; ++T)
    for (int64_t N = 0; N < C.N; ++N) {
      double S = 0, Mag = 0;
      for (int64_t K = 0; K < C.K; ++K) {
        S += double(X.at(T, K)) * double(W.at(N, K));
        Mag += std::fabs(double(X.at(T, K)) * double(W.at(N, K)));
      }
      double Err = std::fabs(double(Out.at(T, N)) - S);
      ASSERT_LE(Err, 1e-5 * Mag + 1e-6) << "T=" << T << " N=" << N << " got "
                                        << Out.at(T, N) << " want " << S;
      MaxErr = std::max(MaxErr, Err);
    }
  // The padding of out must be untouched (still NaN).
  for (int64_t T = 0; T < C.T; ++T)
    ASSERT_TRUE(std::isnan(Out.at(T, C.N))) << "wrote past row " << T;
}

TEST(Kernels, LinearDecodeShapes) {
  for (int Threads : {1, 2}) {
    checkLinear({1, 288, 768, 0, 0, Threads});
    checkLinear({1, 768, 288, 0, 0, Threads});
    checkLinear({1, 37, 53, 3, 11, Threads}); // odd sizes, K tail
    checkLinear({1, 5, 3, 1, 2, Threads});
    checkLinear({1, 1001, 64, 4, 1, Threads});
  }
}

TEST(Kernels, LinearPrefillShapes) {
  for (int Threads : {1, 2}) {
    checkLinear({7, 45, 100, 2, 3, Threads}); // all tile edges
    checkLinear({17, 64, 288, 0, 0, Threads});
    checkLinear({128, 130, 35, 5, 9, Threads});
    checkLinear({2, 3, 1, 0, 0, Threads}); // K = 1
    checkLinear({33, 200, 48, 1, 0, Threads});
    // Several K blocks of the packed GEMM (K > 320), K tails within a block,
    // a partial last panel, T not a multiple of the row tile.
    checkLinear({13, 70, 700, 3, 5, Threads});
    checkLinear({9, 33, 1000, 0, 1, Threads});
    checkLinear({32, 288, 768, 0, 0, Threads});
  }
}

// accumulate != 0 adds to what `out` holds (linalg.matmul's semantics).
TEST(Kernels, LinearAccumulates) {
  for (int64_t T : {1, 5}) {
    std::mt19937 Rng(99 + T);
    Buf2 X(T, 37, 2, 1, Rng), W(21, 37, 1, 3, Rng), Out(T, 21, 3, 2, Rng);
    std::vector<float> Before;
    for (int64_t R = 0; R < T; ++R)
      for (int64_t C = 0; C < 21; ++C)
        Before.push_back(Out.at(R, C));
    _mlir_ciface_tfmrt_linear(&Out.Ref, &X.Ref, &W.Ref, 1);
    for (int64_t R = 0; R < T; ++R)
      for (int64_t C = 0; C < 21; ++C) {
        double S = Before[size_t(R * 21 + C)];
        for (int64_t K = 0; K < 37; ++K)
          S += double(X.at(R, K)) * double(W.at(C, K));
        EXPECT_NEAR(Out.at(R, C), S, 1e-4) << "T=" << T << " row " << R << " col " << C;
      }
  }
}

// Accumulation across the GEMM's K blocks and a partial panel.
TEST(Kernels, LinearAccumulatesKBlocks) {
  for (int Threads : {1, 2}) {
    tfm::rt::ThreadPool Pool(Threads);
    tfm::rt::ThreadPool::Scope UsePool(Pool);
    const int64_t T = 19, N = 50, K = 650;
    std::mt19937 Rng(7 + Threads);
    Buf2 X(T, K, 2, 1, Rng), W(N, K, 1, 3, Rng), Out(T, N, 3, 2, Rng);
    std::vector<float> Before;
    for (int64_t R = 0; R < T; ++R)
      for (int64_t C = 0; C < N; ++C)
        Before.push_back(Out.at(R, C));
    _mlir_ciface_tfmrt_linear(&Out.Ref, &X.Ref, &W.Ref, 1);
    for (int64_t R = 0; R < T; ++R) {
      for (int64_t C = 0; C < N; ++C) {
        double S = Before[size_t(R * N + C)];
        for (int64_t Kk = 0; Kk < K; ++Kk)
          S += double(X.at(R, Kk)) * double(W.at(C, Kk));
        EXPECT_NEAR(Out.at(R, C), S, 1e-4) << "row " << R << " col " << C;
      }
      EXPECT_TRUE(std::isnan(Out.at(R, N))) << "wrote past row " << R;
    }
  }
}

TEST(KernelsDeathTest, LinearRejectsNonUnitInnerStride) {
  std::mt19937 Rng(1);
  Buf2 X(2, 8, 0, 0, Rng), W(4, 8, 0, 0, Rng), Out(2, 4, 0, 0, Rng);
  X.Ref.strides[1] = 2;
  EXPECT_DEATH(_mlir_ciface_tfmrt_linear(&Out.Ref, &X.Ref, &W.Ref, 0),
               "inner stride of 'x' must be 1");
}

TEST(KernelsDeathTest, LinearRejectsShapeMismatch) {
  std::mt19937 Rng(1);
  Buf2 X(2, 8, 0, 0, Rng), W(4, 9, 0, 0, Rng), Out(2, 4, 0, 0, Rng);
  EXPECT_DEATH(_mlir_ciface_tfmrt_linear(&Out.Ref, &X.Ref, &W.Ref, 0),
               "x has K=8 but w has K=9");
}

/// ALiBi slopes as the paper's reference code computes them (recursive
/// get_slopes), written independently of the kernel's closed form.
std::vector<double> referenceSlopes(int N) {
  auto Pow2 = [](int N) {
    double Start = std::pow(2.0, -std::pow(2.0, -(std::log2(N) - 3)));
    std::vector<double> S;
    for (int I = 0; I < N; ++I)
      S.push_back(Start * std::pow(Start, I));
    return S;
  };
  double L = std::log2(N);
  if (L == std::floor(L))
    return Pow2(N);
  int Closest = 1 << int(std::floor(L));
  std::vector<double> S = Pow2(Closest);
  std::vector<double> Twice = referenceSlopes(2 * Closest);
  for (int I = 0; I < N - Closest; ++I)
    S.push_back(Twice[size_t(2 * I)]);
  return S;
}

TEST(Kernels, AlibiSlopes) {
  for (int H : {1, 2, 4, 6, 8, 12, 16, 20, 32}) {
    std::vector<double> Ref = referenceSlopes(H);
    for (int Hh = 0; Hh < H; ++Hh)
      EXPECT_NEAR(tfmrt_alibi_slope(Hh, H), Ref[size_t(Hh)], 1e-7)
          << "H=" << H << " h=" << Hh;
  }
}

struct AttnCase {
  int64_t T, H, KV, HD, Pos, S; // S >= Pos + T
  bool Causal, Alibi;
  int Threads;
};

void checkAttention(const AttnCase &C) {
  tfm::rt::ThreadPool Pool(C.Threads);
  tfm::rt::ThreadPool::Scope UsePool(Pool);
  std::mt19937 Rng(99 + C.T * 3 + C.H * 5 + C.Pos);
  Buf3 Q(C.T, C.H, C.HD, 4, 3, Rng, 1.5f), K(C.S, C.KV, C.HD, 8, 1, Rng, 1.5f),
      V(C.S, C.KV, C.HD, 2, 0, Rng, 1.0f), O(C.T, C.H, C.HD, 1, 5, Rng, 1.0f);
  float Scale = float(1.0 / std::sqrt(double(C.HD)));
  _mlir_ciface_tfmrt_attention(&O.Ref, &Q.Ref, &K.Ref, &V.Ref, C.Pos, Scale,
                               C.Causal, C.Alibi);
  std::vector<double> Slopes = referenceSlopes(int(C.H));
  for (int64_t T = 0; T < C.T; ++T)
    for (int64_t H = 0; H < C.H; ++H) {
      int64_t Kvh = H / (C.H / C.KV), QPos = C.Pos + T;
      int64_t NKeys = C.Causal ? QPos + 1 : C.Pos + C.T;
      std::vector<double> Sc(static_cast<size_t>(NKeys));
      double Max = -INFINITY;
      for (int64_t S = 0; S < NKeys; ++S) {
        double D = 0;
        for (int64_t I = 0; I < C.HD; ++I)
          D += double(Q.at(T, H, I)) * double(K.at(S, Kvh, I));
        Sc[size_t(S)] =
            D * Scale - (C.Alibi ? Slopes[size_t(H)] * double(QPos - S) : 0);
        Max = std::max(Max, Sc[size_t(S)]);
      }
      double Sum = 0;
      for (double &X : Sc)
        Sum += (X = std::exp(X - Max));
      for (int64_t I = 0; I < C.HD; ++I) {
        double Want = 0;
        for (int64_t S = 0; S < NKeys; ++S)
          Want += Sc[size_t(S)] / Sum * double(V.at(S, Kvh, I));
        ASSERT_NEAR(O.at(T, H, I), Want, 2e-5)
            << "t=" << T << " h=" << H << " d=" << I;
      }
    }
}

TEST(Kernels, AttentionPrefillMHA) {
  for (int Th : {1, 2}) {
    checkAttention({7, 4, 4, 16, 0, 7, true, false, Th});
    checkAttention({70, 2, 2, 8, 0, 70, true, false, Th}); // > one key block
  }
}

TEST(Kernels, AttentionGQAandMQA) {
  for (int Th : {1, 2}) {
    checkAttention({5, 8, 2, 16, 0, 5, true, false, Th});   // GQA
    checkAttention({6, 6, 1, 12, 0, 6, true, false, Th});   // MQA
    checkAttention({9, 6, 3, 20, 11, 20, true, false, Th}); // GQA, pos > 0
  }
}

TEST(Kernels, AttentionDecode) {
  for (int Th : {1, 2}) {
    checkAttention({1, 4, 4, 16, 100, 101, true, false, Th});
    checkAttention({1, 8, 2, 32, 130, 131, true, false, Th});
    // The cache may be longer than pos + T: those keys are ignored.
    checkAttention({1, 4, 1, 16, 40, 64, true, false, Th});
  }
}

TEST(Kernels, AttentionPrefillAfterPrefix) {
  checkAttention({5, 4, 2, 16, 70, 80, true, false, 2});
}

TEST(Kernels, AttentionNonCausal) {
  checkAttention({6, 4, 4, 8, 0, 6, false, false, 2});
  checkAttention({3, 4, 2, 8, 66, 69, false, false, 1});
}

TEST(Kernels, AttentionAlibi) {
  for (int Th : {1, 2}) {
    checkAttention({8, 8, 8, 16, 0, 8, true, true, Th});
    checkAttention({1, 6, 6, 16, 90, 91, true, true, Th}); // non-power-of-2 H
    checkAttention({4, 12, 4, 8, 3, 7, true, true, Th});
    checkAttention({4, 4, 4, 8, 0, 4, false, true, Th});
  }
}

TEST(KernelsDeathTest, AttentionRejectsShortCache) {
  std::mt19937 Rng(1);
  Buf3 Q(2, 2, 4, 0, 0, Rng, 1), K(3, 2, 4, 0, 0, Rng, 1),
      V(3, 2, 4, 0, 0, Rng, 1), O(2, 2, 4, 0, 0, Rng, 1);
  EXPECT_DEATH(_mlir_ciface_tfmrt_attention(&O.Ref, &Q.Ref, &K.Ref, &V.Ref, 2,
                                            1.0f, 1, 0),
               "exceeds the 3 cached positions");
}

} // namespace
