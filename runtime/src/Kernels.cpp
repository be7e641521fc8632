//===- Kernels.cpp - Micro-kernels called by generated code ---------------===//
//
// Vector code is written with GCC/Clang vector extensions so one source
// serves AVX-512 (16 lanes), AVX2 (8) and anything else (4); -march=native
// picks the width. Products are contracted into FMAs by -ffp-contract=fast,
// the GNU default.
//
//===----------------------------------------------------------------------===//

#include "tfm/runtime/Kernels.h"
#include "tfm/runtime/AlibiSlope.h"
#include "tfm/runtime/ThreadPool.h"

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

namespace {

#if defined(__AVX512F__)
constexpr int VL = 16;
#elif defined(__AVX__)
constexpr int VL = 8;
#else
constexpr int VL = 4;
#endif

typedef float VecF __attribute__((vector_size(VL * sizeof(float))));
/// Same vector, but for loads from any float address.
typedef float VecFU
    __attribute__((vector_size(VL * sizeof(float)), aligned(4), may_alias));

inline VecF load(const float *P) { return *reinterpret_cast<const VecFU *>(P); }
inline void store(float *P, VecF V) { *reinterpret_cast<VecFU *>(P) = V; }

/// Horizontal sum as a shuffle tree (log2(VL) shuffle+add steps).
inline float hsum(VecF V) {
#if defined(__AVX512F__)
  typedef float V8 __attribute__((vector_size(32)));
  V8 A = __builtin_shufflevector(V, V, 0, 1, 2, 3, 4, 5, 6, 7) +
         __builtin_shufflevector(V, V, 8, 9, 10, 11, 12, 13, 14, 15);
#elif defined(__AVX__)
  typedef float V8 __attribute__((vector_size(32)));
  V8 A = V;
#endif
#if defined(__AVX__) || defined(__AVX512F__)
  typedef float V4 __attribute__((vector_size(16)));
  V4 B = __builtin_shufflevector(A, A, 0, 1, 2, 3) +
         __builtin_shufflevector(A, A, 4, 5, 6, 7);
#else
  typedef float V4 __attribute__((vector_size(16)));
  V4 B = V;
#endif
  V4 C = B + __builtin_shufflevector(B, B, 2, 3, 0, 1);
  return C[0] + C[1];
}

/// The horizontal sums of four vectors at once, sharing the shuffles: about
/// 20 operations instead of 4 x 8 for separate trees (AVX-512 only).
inline void hsum4(VecF A, VecF B, VecF C, VecF D, float *Out) {
#if defined(__AVX512F__)
  typedef float V8 __attribute__((vector_size(32)));
  typedef float V4 __attribute__((vector_size(16)));
  auto half = [](VecF V) -> V8 {
    return __builtin_shufflevector(V, V, 0, 1, 2, 3, 4, 5, 6, 7) +
           __builtin_shufflevector(V, V, 8, 9, 10, 11, 12, 13, 14, 15);
  };
  V8 A8 = half(A), B8 = half(B), C8 = half(C), D8 = half(D);
  // [a0..a3 b0..b3]: four partial sums of each vector.
  V8 AB = __builtin_shufflevector(A8, B8, 0, 1, 2, 3, 8, 9, 10, 11) +
          __builtin_shufflevector(A8, B8, 4, 5, 6, 7, 12, 13, 14, 15);
  V8 CD = __builtin_shufflevector(C8, D8, 0, 1, 2, 3, 8, 9, 10, 11) +
          __builtin_shufflevector(C8, D8, 4, 5, 6, 7, 12, 13, 14, 15);
  // [a0+a2 a1+a3 b.. b.. c.. c.. d.. d..]
  V8 S = __builtin_shufflevector(AB, CD, 0, 1, 4, 5, 8, 9, 12, 13) +
         __builtin_shufflevector(AB, CD, 2, 3, 6, 7, 10, 11, 14, 15);
  V4 R = __builtin_shufflevector(S, S, 0, 2, 4, 6) +
         __builtin_shufflevector(S, S, 1, 3, 5, 7);
  Out[0] = R[0];
  Out[1] = R[1];
  Out[2] = R[2];
  Out[3] = R[3];
#else
  Out[0] = hsum(A);
  Out[1] = hsum(B);
  Out[2] = hsum(C);
  Out[3] = hsum(D);
#endif
}

[[noreturn]] __attribute__((format(printf, 2, 3))) void
fatal(const char *Kernel, const char *Fmt, ...) {
  std::fprintf(stderr, "tfmrt: internal error in %s: ", Kernel);
  va_list Ap;
  va_start(Ap, Fmt);
  std::vfprintf(stderr, Fmt, Ap);
  va_end(Ap);
  std::fprintf(stderr, "\n");
  std::abort();
}

/// Smallest amount of work (multiply-adds) worth handing to another thread:
/// about 10 us, well above the pool's dispatch cost.
constexpr int64_t kMinChunkWork = 1 << 15;

/// Plain view of a row-major 2-D operand with unit inner stride.
struct Mat {
  const float *Data;
  int64_t Rows, Cols, RowStride;
};

Mat view2(const char *Kernel, const char *Name, const TfmMemRefF32x2 *M) {
  if (!M || !M->aligned)
    fatal(Kernel, "null memref '%s'", Name);
  if (M->sizes[1] > 1 && M->strides[1] != 1)
    fatal(Kernel, "inner stride of '%s' must be 1, got %" PRId64, Name,
          M->strides[1]);
  return {M->aligned + M->offset, M->sizes[0], M->sizes[1], M->strides[0]};
}

/// One MR x NR tile of out = x * w^T, dot-product form: both operands are
/// read along K, MR*NR vector accumulators, one horizontal sum per output.
/// Each loaded x vector is used NR times and each w vector MR times.
template <int MR, int NR>
void tile(const float *X, int64_t XS, const float *W, int64_t WS, float *Out,
          int64_t OS, int64_t K, bool Accumulate) {
  VecF Acc[MR][NR];
#pragma GCC unroll 4
  for (int I = 0; I < MR; ++I)
#pragma GCC unroll 4
    for (int J = 0; J < NR; ++J)
      Acc[I][J] = VecF{};
  int64_t Kk = 0;
  for (; Kk + VL <= K; Kk += VL) {
    VecF Xv[MR];
#pragma GCC unroll 4
    for (int I = 0; I < MR; ++I)
      Xv[I] = load(X + I * XS + Kk);
#pragma GCC unroll 4
    for (int J = 0; J < NR; ++J) {
      VecF Wv = load(W + J * WS + Kk);
#pragma GCC unroll 4
      for (int I = 0; I < MR; ++I)
        Acc[I][J] += Xv[I] * Wv;
    }
  }
  for (int I = 0; I < MR; ++I) {
    float Sums[NR];
    if constexpr (NR == 4)
      hsum4(Acc[I][0], Acc[I][1], Acc[I][2], Acc[I][3], Sums);
    else
      for (int J = 0; J < NR; ++J)
        Sums[J] = hsum(Acc[I][J]);
    for (int J = 0; J < NR; ++J) {
      float S = Sums[J];
      for (int64_t R = Kk; R < K; ++R)
        S += X[I * XS + R] * W[J * WS + R];
      Out[I * OS + J] = Accumulate ? Out[I * OS + J] + S : S;
    }
  }
}

/// Dot products of 4 w rows with one x vector, 2 accumulators per row so
/// the FMA latency is hidden; x is loaded once for the 4 rows.
void gemvRows(const float *X, const float *W, int64_t WS, float *Out,
              int64_t OS, int64_t K, int64_t RowBegin, int64_t RowEnd,
              bool Accumulate) {
  int64_t N = RowBegin;
  for (; N + 4 <= RowEnd; N += 4) {
    const float *W0 = W + N * WS, *W1 = W0 + WS, *W2 = W1 + WS, *W3 = W2 + WS;
    VecF A0{}, A1{}, A2{}, A3{}, B0{}, B1{}, B2{}, B3{};
    int64_t Kk = 0;
    for (; Kk + 2 * VL <= K; Kk += 2 * VL) {
      VecF X0 = load(X + Kk), X1 = load(X + Kk + VL);
      A0 += load(W0 + Kk) * X0;
      A1 += load(W1 + Kk) * X0;
      A2 += load(W2 + Kk) * X0;
      A3 += load(W3 + Kk) * X0;
      B0 += load(W0 + Kk + VL) * X1;
      B1 += load(W1 + Kk + VL) * X1;
      B2 += load(W2 + Kk + VL) * X1;
      B3 += load(W3 + Kk + VL) * X1;
    }
    for (; Kk + VL <= K; Kk += VL) {
      VecF X0 = load(X + Kk);
      A0 += load(W0 + Kk) * X0;
      A1 += load(W1 + Kk) * X0;
      A2 += load(W2 + Kk) * X0;
      A3 += load(W3 + Kk) * X0;
    }
    float S[4];
    hsum4(A0 + B0, A1 + B1, A2 + B2, A3 + B3, S);
    for (; Kk < K; ++Kk) {
      S[0] += W0[Kk] * X[Kk];
      S[1] += W1[Kk] * X[Kk];
      S[2] += W2[Kk] * X[Kk];
      S[3] += W3[Kk] * X[Kk];
    }
    for (int J = 0; J < 4; ++J)
      Out[(N + J) * OS] = Accumulate ? Out[(N + J) * OS] + S[J] : S[J];
  }
  for (; N < RowEnd; ++N)
    tile<1, 1>(X, 0, W + N * WS, WS, Out + N * OS, OS, K, Accumulate);
}

/// Outer-product GEMM for T > 1: out[T,N] (+)= x[T,K] * w[N,K]^T.
///
/// w is packed panel by panel: GNR consecutive w rows (= GNR columns of out)
/// and at most GKC of K, transposed into a GKC x GNR contiguous block on the
/// caller's stack (40 KiB, stays in L1). The micro-kernel then keeps an
/// GMR x GNR tile of out in GMR*GNV vector registers: per k it loads GNV
/// vectors of the packed panel, broadcasts GMR x values and issues GMR*GNV
/// FMAs, no horizontal sums. The packing (N*K copies) is amortised over T
/// rows. The whole T range runs against one packed block before moving on,
/// so the x rows of a K block (T*GKC floats) are re-read from L2.
constexpr int GNV = 2;            // vectors per tile row
constexpr int GNR = GNV * VL;     // columns of out per panel
#if defined(__AVX512F__)
constexpr int GMR = 8;            // 16 zmm accumulators of 32
#else
constexpr int GMR = 6;            // 12 accumulators of 16 registers
#endif
constexpr int64_t GKC = 320;      // max K per packed block
// The packed block and a tile's spill row are 64-byte aligned and read in
// whole vectors (offsets are multiples of VL floats), so they are accessed
// as VecF, aligned to its own size: 64 bytes on AVX-512 but 32 on AVX2.

#if defined(__AVX512F__)
/// Transposes the 16x16 block whose row j is Src + j*SS into Dst[c*DS + j]
/// (Dst 64-byte aligned, DS a multiple of 16): unpacks within 128-bit lanes,
/// then lane shuffles; 64 shuffles instead of 256 scalar moves.
inline void transpose16(const float *Src, int64_t SS, float *Dst, int64_t DS) {
  static_assert(VL == 16, "AVX-512 vectors");
  VecF R[16], U[16];
  for (int J = 0; J < 16; ++J)
    R[J] = load(Src + J * SS);
  for (int I = 0; I < 8; ++I) { // unpack{lo,hi}_ps
    U[2 * I] = __builtin_shufflevector(R[2 * I], R[2 * I + 1], 0, 16, 1, 17, 4,
                                       20, 5, 21, 8, 24, 9, 25, 12, 28, 13, 29);
    U[2 * I + 1] =
        __builtin_shufflevector(R[2 * I], R[2 * I + 1], 2, 18, 3, 19, 6, 22, 7,
                                23, 10, 26, 11, 27, 14, 30, 15, 31);
  }
  // unpack{lo,hi}_pd: R[4i+c], 128-bit lane l = rows 4i..4i+3 of column 4l+c.
  for (int I = 0; I < 4; ++I) {
    VecF A = U[4 * I], B = U[4 * I + 1], C = U[4 * I + 2], D = U[4 * I + 3];
    R[4 * I] = __builtin_shufflevector(A, C, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9,
                                       24, 25, 12, 13, 28, 29);
    R[4 * I + 1] = __builtin_shufflevector(A, C, 2, 3, 18, 19, 6, 7, 22, 23, 10,
                                           11, 26, 27, 14, 15, 30, 31);
    R[4 * I + 2] = __builtin_shufflevector(B, D, 0, 1, 16, 17, 4, 5, 20, 21, 8,
                                           9, 24, 25, 12, 13, 28, 29);
    R[4 * I + 3] = __builtin_shufflevector(B, D, 2, 3, 18, 19, 6, 7, 22, 23, 10,
                                           11, 26, 27, 14, 15, 30, 31);
  }
  // Gather 128-bit lane l of R[c], R[4+c], R[8+c], R[12+c] (shuffle_f32x4).
  for (int C = 0; C < 4; ++C) {
    VecF A0 = __builtin_shufflevector(R[C], R[4 + C], 0, 1, 2, 3, 4, 5, 6, 7,
                                      16, 17, 18, 19, 20, 21, 22, 23);
    VecF A1 = __builtin_shufflevector(R[C], R[4 + C], 8, 9, 10, 11, 12, 13, 14,
                                      15, 24, 25, 26, 27, 28, 29, 30, 31);
    VecF B0 = __builtin_shufflevector(R[8 + C], R[12 + C], 0, 1, 2, 3, 4, 5, 6,
                                      7, 16, 17, 18, 19, 20, 21, 22, 23);
    VecF B1 = __builtin_shufflevector(R[8 + C], R[12 + C], 8, 9, 10, 11, 12, 13,
                                      14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    auto Even = [](VecF X, VecF Y) {
      return __builtin_shufflevector(X, Y, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17,
                                     18, 19, 24, 25, 26, 27);
    };
    auto Odd = [](VecF X, VecF Y) {
      return __builtin_shufflevector(X, Y, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21,
                                     22, 23, 28, 29, 30, 31);
    };
    *reinterpret_cast<VecF *>(Dst + C * DS) = Even(A0, B0);
    *reinterpret_cast<VecF *>(Dst + (4 + C) * DS) = Odd(A0, B0);
    *reinterpret_cast<VecF *>(Dst + (8 + C) * DS) = Even(A1, B1);
    *reinterpret_cast<VecF *>(Dst + (12 + C) * DS) = Odd(A1, B1);
  }
}
#endif

/// Packs w rows [J0, J0+Nc) x columns [K0, K0+Kc) into Bp[k][j] (GNR wide),
/// zero-filling columns j >= Nc.
void packW(const float *W, int64_t WS, int64_t J0, int64_t Nc, int64_t K0,
           int64_t Kc, float *Bp) {
  if (Nc < GNR)
    for (int64_t I = 0; I < Kc * GNR; ++I)
      Bp[I] = 0.0f;
  int64_t J = 0;
#if defined(__AVX512F__)
  static_assert(GNR % 16 == 0, "panel width must be a multiple of 16");
  for (; J + 16 <= Nc; J += 16) {
    const float *Rows = W + (J0 + J) * WS + K0;
    int64_t Kk = 0;
    for (; Kk + 16 <= Kc; Kk += 16)
      transpose16(Rows + Kk, WS, Bp + Kk * GNR + J, GNR);
    for (; Kk < Kc; ++Kk)
      for (int64_t Jj = 0; Jj < 16; ++Jj)
        Bp[Kk * GNR + J + Jj] = Rows[Jj * WS + Kk];
  }
#endif
  for (; J < Nc; ++J) {
    const float *Row = W + (J0 + J) * WS + K0;
    for (int64_t Kk = 0; Kk < Kc; ++Kk)
      Bp[Kk * GNR + J] = Row[Kk];
  }
}

/// One M x GNR tile over Kc packed steps: adds to out when Add (accumulate,
/// or a later K block), else overwrites. Only the first Nc columns are
/// written.
template <int M>
void gemmTile(const float *X, int64_t XS, const float *Bp, int64_t Kc,
              float *Out, int64_t OS, int64_t Nc, bool Add) {
  VecF Acc[M][GNV];
#pragma GCC unroll 16
  for (int I = 0; I < M; ++I)
#pragma GCC unroll 4
    for (int V = 0; V < GNV; ++V)
      Acc[I][V] = VecF{};
  for (int64_t Kk = 0; Kk < Kc; ++Kk) {
    VecF Bv[GNV];
#pragma GCC unroll 4
    for (int V = 0; V < GNV; ++V)
      Bv[V] = *reinterpret_cast<const VecF *>(Bp + Kk * GNR + V * VL);
#pragma GCC unroll 16
    for (int I = 0; I < M; ++I) {
      float Xs = X[I * XS + Kk];
#pragma GCC unroll 4
      for (int V = 0; V < GNV; ++V)
        Acc[I][V] += Bv[V] * Xs;
    }
  }
  if (Nc == GNR) {
#pragma GCC unroll 16
    for (int I = 0; I < M; ++I)
#pragma GCC unroll 4
      for (int V = 0; V < GNV; ++V) {
        float *P = Out + I * OS + V * VL;
        VecF R = Acc[I][V];
        store(P, Add ? load(P) + R : R);
      }
    return;
  }
  for (int I = 0; I < M; ++I) {
    alignas(64) float Row[GNR];
    for (int V = 0; V < GNV; ++V)
      *reinterpret_cast<VecF *>(Row + V * VL) = Acc[I][V];
    for (int64_t J = 0; J < Nc; ++J) {
      float R = Row[J];
      float *P = Out + I * OS + J;
      *P = Add ? *P + R : R;
    }
  }
}

using GemmTileFn = void (*)(const float *, int64_t, const float *, int64_t,
                            float *, int64_t, int64_t, bool);
template <int... Ms>
constexpr std::array<GemmTileFn, sizeof...(Ms)> makeGemmTiles(
    std::integer_sequence<int, Ms...>) {
  return {gemmTile<Ms + 1>...};
}
constexpr auto GemmTiles = makeGemmTiles(std::make_integer_sequence<int, GMR>{});

void gemmPanels(const Mat &X, const Mat &W, float *Out, int64_t OS,
                bool Accumulate, int64_t PBegin, int64_t PEnd) {
  int64_t T = X.Rows, K = X.Cols, N = W.Rows;
  // Equal K blocks of at most GKC.
  int64_t NumKB = std::max<int64_t>(1, (K + GKC - 1) / GKC);
  int64_t KB = (K + NumKB - 1) / NumKB;
  alignas(64) float Bp[GKC * GNR];
  for (int64_t P = PBegin; P < PEnd; ++P) {
    int64_t J0 = P * GNR, Nc = std::min<int64_t>(GNR, N - J0);
    for (int64_t K0 = 0;;) {
      int64_t Kc = std::min(KB, K - K0);
      bool First = K0 == 0;
      packW(W.Data, W.RowStride, J0, Nc, K0, Kc, Bp);
      bool Add = !First || Accumulate;
      int64_t T0 = 0;
      for (; T0 + GMR <= T; T0 += GMR)
        gemmTile<GMR>(X.Data + T0 * X.RowStride + K0, X.RowStride, Bp, Kc,
                      Out + T0 * OS + J0, OS, Nc, Add);
      if (T0 < T)
        GemmTiles[T - T0 - 1](X.Data + T0 * X.RowStride + K0, X.RowStride, Bp,
                              Kc, Out + T0 * OS + J0, OS, Nc, Add);
      K0 += KB;
      if (K0 >= K)
        break;
    }
  }
}

void linearImpl(const char *Kernel, TfmMemRefF32x2 *OutM, TfmMemRefF32x2 *XM,
                TfmMemRefF32x2 *WM, bool Accumulate) {
  Mat X = view2(Kernel, "x", XM), W = view2(Kernel, "w", WM);
  Mat O = view2(Kernel, "out", OutM);
  int64_t T = X.Rows, K = X.Cols, N = W.Rows;
  if (W.Cols != K)
    fatal(Kernel, "x has K=%" PRId64 " but w has K=%" PRId64, K, W.Cols);
  if (O.Rows != T)
    fatal(Kernel, "out has %" PRId64 " rows, x has %" PRId64, O.Rows, T);
  if (O.Cols != N)
    fatal(Kernel, "out has %" PRId64 " columns, w has %" PRId64 " rows", O.Cols,
          N);
  float *Out = const_cast<float *>(O.Data);
  if (T == 0 || N == 0)
    return;

  if (T == 1) {
    // Matrix-vector: every weight byte is read once, so split N evenly, but
    // into chunks of at least kMinChunkWork multiply-adds: waking a thread
    // costs more than a small layer (a 64-wide model runs 30k tok/s).
    tfm::rt::parallelFor(
        N,
        [&](int64_t B, int64_t E) {
          gemvRows(X.Data, W.Data, W.RowStride, Out, 1, K, B, E, Accumulate);
        },
        /*minChunk=*/std::max<int64_t>(16, kMinChunkWork / std::max<int64_t>(K, 1)));
    return;
  }

  // GEMM: parallel over panels of GNR w rows; each task packs its panels
  // itself, so no shared scratch and no extra synchronisation.
  tfm::rt::parallelFor(
      (N + GNR - 1) / GNR,
      [&](int64_t B, int64_t E) {
        gemmPanels(X, W, Out, O.RowStride, Accumulate, B, E);
      },
      /*minChunk=*/std::max<int64_t>(
          1, kMinChunkWork / std::max<int64_t>(GNR * K * T, 1)));
}

/// Unit-stride-inner 3-D view.
struct Ten3 {
  float *Data;
  int64_t S0, S1, S2; // sizes
  int64_t St0, St1;   // outer strides
  float *at(int64_t A, int64_t B) const { return Data + A * St0 + B * St1; }
};

Ten3 view3(const char *Name, const TfmMemRefF32x3 *M) {
  const char *Kernel = "tfmrt_attention";
  if (!M || !M->aligned)
    fatal(Kernel, "null memref '%s'", Name);
  if (M->sizes[2] > 1 && M->strides[2] != 1)
    fatal(Kernel, "inner stride of '%s' must be 1, got %" PRId64, Name,
          M->strides[2]);
  return {M->aligned + M->offset, M->sizes[0],  M->sizes[1], M->sizes[2],
          M->strides[0],          M->strides[1]};
}

inline float dot(const float *A, const float *B, int64_t N) {
  VecF Acc{};
  int64_t I = 0;
  for (; I + VL <= N; I += VL)
    Acc += load(A + I) * load(B + I);
  float S = hsum(Acc);
  for (; I < N; ++I)
    S += A[I] * B[I];
  return S;
}

/// Acc[0:N] = Acc * C + P * V.
inline void scaleAdd(float *Acc, float C, float P, const float *V, int64_t N) {
  int64_t I = 0;
  for (; I + VL <= N; I += VL)
    store(Acc + I, load(Acc + I) * C + load(V + I) * P);
  for (; I < N; ++I)
    Acc[I] = Acc[I] * C + V[I] * P;
}

} // namespace

extern "C" float tfmrt_alibi_slope(int64_t h, int64_t numHeads) {
  return tfm::rt::alibiSlope(h, numHeads);
}

extern "C" void
_mlir_ciface_tfmrt_parallel_for(TfmParallelBodyFn Body, TfmMemRefF32x2 *A,
                                TfmMemRefF32x2 *B, TfmMemRefF32x2 *C,
                                int64_t Items, int64_t WorkPerItem) {
  if (!Body || !A || !B || !C)
    fatal("tfmrt_parallel_for", "null body or operand");
  int64_t MinChunk =
      std::max<int64_t>(1, kMinChunkWork / std::max<int64_t>(WorkPerItem, 1));
  tfm::rt::parallelFor(
      Items,
      [&](int64_t Begin, int64_t End) {
        Body(Begin, End, A->allocated, A->aligned, A->offset, A->sizes[0],
             A->sizes[1], A->strides[0], A->strides[1], B->allocated,
             B->aligned, B->offset, B->sizes[0], B->sizes[1], B->strides[0],
             B->strides[1], C->allocated, C->aligned, C->offset, C->sizes[0],
             C->sizes[1], C->strides[0], C->strides[1]);
      },
      MinChunk);
}

extern "C" void _mlir_ciface_tfmrt_linear(TfmMemRefF32x2 *out,
                                          TfmMemRefF32x2 *x,
                                          TfmMemRefF32x2 *w,
                                          int64_t accumulate) {
  linearImpl("tfmrt_linear", out, x, w, accumulate != 0);
}

extern "C" void
_mlir_ciface_tfmrt_attention(TfmMemRefF32x3 *out, TfmMemRefF32x3 *q,
                             TfmMemRefF32x3 *k, TfmMemRefF32x3 *v, int64_t pos,
                             float scale, int64_t causal, int64_t alibi) {
  const char *Kernel = "tfmrt_attention";
  Ten3 O = view3("out", out), Q = view3("q", q), Kc = view3("k", k),
       Vc = view3("v", v);
  int64_t T = Q.S0, H = Q.S1, HD = Q.S2, S = Kc.S0, KV = Kc.S1;
  if (O.S0 != T || O.S1 != H || O.S2 != HD)
    fatal(Kernel,
          "out shape differs from q shape (T=%" PRId64 ", H=%" PRId64 ")", T,
          H);
  if (Vc.S0 != S || Vc.S1 != KV || Vc.S2 != Kc.S2)
    fatal(Kernel,
          "v shape differs from k shape (S=%" PRId64 ", KV=%" PRId64 ")", S,
          KV);
  if (Kc.S2 != HD)
    fatal(Kernel, "k head_dim %" PRId64 " differs from q head_dim %" PRId64,
          Kc.S2, HD);
  if (KV <= 0 || H % KV != 0)
    fatal(Kernel,
          "%" PRId64 " query heads are not a multiple of %" PRId64 " kv heads",
          H, KV);
  if (pos < 0 || pos + T > S)
    fatal(Kernel,
          "pos + T = %" PRId64 " exceeds the %" PRId64 " cached positions",
          pos + T, S);
  if (T == 0 || H == 0)
    return;

  int64_t Group = H / KV;
  std::vector<float> Slopes(H, 0.0f);
  if (alibi)
    for (int64_t Hh = 0; Hh < H; ++Hh)
      Slopes[Hh] = tfmrt_alibi_slope(Hh, H);

  constexpr int64_t BK = 64; // keys per online-softmax block
  // Each (head, query) item costs about 2 * S * hd multiply-adds.
  int64_t MinItems = std::max<int64_t>(1, kMinChunkWork / std::max<int64_t>(2 * S * HD, 1));
  tfm::rt::parallelFor(H * T, [&](int64_t B, int64_t E) {
    std::vector<float> Acc(HD);
    float Scores[BK];
    for (int64_t Item = B; Item < E; ++Item) {
      int64_t Hh = Item / T, Tt = Item % T, Kvh = Hh / Group;
      int64_t QPos = pos + Tt;
      int64_t NKeys = causal ? QPos + 1 : pos + T;
      const float *Qv = Q.at(Tt, Hh);
      float Slope = Slopes[Hh];
      float Max = -INFINITY, Sum = 0.0f;
      std::fill(Acc.begin(), Acc.end(), 0.0f);
      for (int64_t S0 = 0; S0 < NKeys; S0 += BK) {
        int64_t Len = std::min(BK, NKeys - S0);
        float BlockMax = -INFINITY;
        for (int64_t I = 0; I < Len; ++I) {
          int64_t Sk = S0 + I;
          float Sc = scale * dot(Qv, Kc.at(Sk, Kvh), HD);
          if (alibi)
            Sc -= Slope * float(QPos - Sk);
          Scores[I] = Sc;
          BlockMax = std::max(BlockMax, Sc);
        }
        float NewMax = std::max(Max, BlockMax);
        // Rescale what was accumulated under the old max (exp(-inf) = 0).
        float Corr = std::exp(Max - NewMax);
        Sum *= Corr;
        for (int64_t I = 0; I < Len; ++I) {
          float P = std::exp(Scores[I] - NewMax);
          Sum += P;
          scaleAdd(Acc.data(), I == 0 ? Corr : 1.0f, P, Vc.at(S0 + I, Kvh), HD);
        }
        Max = NewMax;
      }
      float Inv = 1.0f / Sum;
      float *Ov = O.at(Tt, Hh);
      for (int64_t D = 0; D < HD; ++D)
        Ov[D] = Acc[D] * Inv;
    }
  }, MinItems);
}
