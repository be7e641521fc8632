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

inline VecF load(const float *p) { return *reinterpret_cast<const VecFU *>(p); }
inline void store(float *p, VecF v) { *reinterpret_cast<VecFU *>(p) = v; }

/// Horizontal sum as a shuffle tree (log2(VL) shuffle+add steps).
inline float hsum(VecF v) {
#if defined(__AVX512F__)
  typedef float V8 __attribute__((vector_size(32)));
  V8 a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
         __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
#elif defined(__AVX__)
  typedef float V8 __attribute__((vector_size(32)));
  V8 a = v;
#endif
#if defined(__AVX__) || defined(__AVX512F__)
  typedef float V4 __attribute__((vector_size(16)));
  V4 b = __builtin_shufflevector(a, a, 0, 1, 2, 3) +
         __builtin_shufflevector(a, a, 4, 5, 6, 7);
#else
  typedef float V4 __attribute__((vector_size(16)));
  V4 b = v;
#endif
  V4 c = b + __builtin_shufflevector(b, b, 2, 3, 0, 1);
  return c[0] + c[1];
}

/// The horizontal sums of four vectors at once, sharing the shuffles: about
/// 20 operations instead of 4 x 8 for separate trees (AVX-512 only).
inline void hsum4(VecF a, VecF b, VecF c, VecF d, float *out) {
#if defined(__AVX512F__)
  typedef float V8 __attribute__((vector_size(32)));
  typedef float V4 __attribute__((vector_size(16)));
  auto half = [](VecF v) -> V8 {
    return __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
           __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  };
  V8 a8 = half(a), b8 = half(b), c8 = half(c), d8 = half(d);
  // [a0..a3 b0..b3]: four partial sums of each vector.
  V8 ab = __builtin_shufflevector(a8, b8, 0, 1, 2, 3, 8, 9, 10, 11) +
          __builtin_shufflevector(a8, b8, 4, 5, 6, 7, 12, 13, 14, 15);
  V8 cd = __builtin_shufflevector(c8, d8, 0, 1, 2, 3, 8, 9, 10, 11) +
          __builtin_shufflevector(c8, d8, 4, 5, 6, 7, 12, 13, 14, 15);
  // [a0+a2 a1+a3 b.. b.. c.. c.. d.. d..]
  V8 s = __builtin_shufflevector(ab, cd, 0, 1, 4, 5, 8, 9, 12, 13) +
         __builtin_shufflevector(ab, cd, 2, 3, 6, 7, 10, 11, 14, 15);
  V4 r = __builtin_shufflevector(s, s, 0, 2, 4, 6) +
         __builtin_shufflevector(s, s, 1, 3, 5, 7);
  out[0] = r[0];
  out[1] = r[1];
  out[2] = r[2];
  out[3] = r[3];
#else
  out[0] = hsum(a);
  out[1] = hsum(b);
  out[2] = hsum(c);
  out[3] = hsum(d);
#endif
}

[[noreturn]] __attribute__((format(printf, 2, 3))) void
fatal(const char *kernel, const char *fmt, ...) {
  std::fprintf(stderr, "tfmrt: internal error in %s: ", kernel);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "\n");
  std::abort();
}

/// Smallest amount of work (multiply-adds) worth handing to another thread:
/// about 10 us, well above the pool's dispatch cost.
constexpr int64_t kMinChunkWork = 1 << 15;

/// Plain view of a row-major 2-D operand with unit inner stride.
struct Mat {
  const float *data;
  int64_t rows, cols, rowStride;
};

Mat view2(const char *kernel, const char *name, const TfmMemRefF32x2 *m) {
  if (!m || !m->aligned)
    fatal(kernel, "null memref '%s'", name);
  if (m->sizes[1] > 1 && m->strides[1] != 1)
    fatal(kernel, "inner stride of '%s' must be 1, got %" PRId64, name,
          m->strides[1]);
  return {m->aligned + m->offset, m->sizes[0], m->sizes[1], m->strides[0]};
}

/// One MR x NR tile of out = x * w^T, dot-product form: both operands are
/// read along K, MR*NR vector accumulators, one horizontal sum per output.
/// Each loaded x vector is used NR times and each w vector MR times.
template <int MR, int NR>
void tile(const float *x, int64_t xs, const float *w, int64_t ws, float *out,
          int64_t os, int64_t k, bool accumulate) {
  VecF acc[MR][NR];
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j)
      acc[i][j] = VecF{};
  int64_t kk = 0;
  for (; kk + VL <= k; kk += VL) {
    VecF xv[MR];
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i)
      xv[i] = load(x + i * xs + kk);
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j) {
      VecF wv = load(w + j * ws + kk);
#pragma GCC unroll 4
      for (int i = 0; i < MR; ++i)
        acc[i][j] += xv[i] * wv;
    }
  }
  for (int i = 0; i < MR; ++i) {
    float sums[NR];
    if constexpr (NR == 4)
      hsum4(acc[i][0], acc[i][1], acc[i][2], acc[i][3], sums);
    else
      for (int j = 0; j < NR; ++j)
        sums[j] = hsum(acc[i][j]);
    for (int j = 0; j < NR; ++j) {
      float s = sums[j];
      for (int64_t r = kk; r < k; ++r)
        s += x[i * xs + r] * w[j * ws + r];
      out[i * os + j] = accumulate ? out[i * os + j] + s : s;
    }
  }
}

/// Dot products of 4 w rows with one x vector, 2 accumulators per row so
/// the FMA latency is hidden; x is loaded once for the 4 rows.
void gemvRows(const float *x, const float *w, int64_t ws, float *out,
              int64_t os, int64_t k, int64_t rowBegin, int64_t rowEnd,
              bool accumulate) {
  int64_t n = rowBegin;
  for (; n + 4 <= rowEnd; n += 4) {
    const float *w0 = w + n * ws, *w1 = w0 + ws, *w2 = w1 + ws, *w3 = w2 + ws;
    VecF a0{}, a1{}, a2{}, a3{}, b0{}, b1{}, b2{}, b3{};
    int64_t kk = 0;
    for (; kk + 2 * VL <= k; kk += 2 * VL) {
      VecF x0 = load(x + kk), x1 = load(x + kk + VL);
      a0 += load(w0 + kk) * x0;
      a1 += load(w1 + kk) * x0;
      a2 += load(w2 + kk) * x0;
      a3 += load(w3 + kk) * x0;
      b0 += load(w0 + kk + VL) * x1;
      b1 += load(w1 + kk + VL) * x1;
      b2 += load(w2 + kk + VL) * x1;
      b3 += load(w3 + kk + VL) * x1;
    }
    for (; kk + VL <= k; kk += VL) {
      VecF x0 = load(x + kk);
      a0 += load(w0 + kk) * x0;
      a1 += load(w1 + kk) * x0;
      a2 += load(w2 + kk) * x0;
      a3 += load(w3 + kk) * x0;
    }
    float s[4];
    hsum4(a0 + b0, a1 + b1, a2 + b2, a3 + b3, s);
    for (; kk < k; ++kk) {
      s[0] += w0[kk] * x[kk];
      s[1] += w1[kk] * x[kk];
      s[2] += w2[kk] * x[kk];
      s[3] += w3[kk] * x[kk];
    }
    for (int j = 0; j < 4; ++j)
      out[(n + j) * os] = accumulate ? out[(n + j) * os] + s[j] : s[j];
  }
  for (; n < rowEnd; ++n)
    tile<1, 1>(x, 0, w + n * ws, ws, out + n * os, os, k, accumulate);
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
constexpr int GNV = 2;        // vectors per tile row
constexpr int GNR = GNV * VL; // columns of out per panel
#if defined(__AVX512F__)
constexpr int GMR = 8; // 16 zmm accumulators of 32
#else
constexpr int GMR = 6; // 12 accumulators of 16 registers
#endif
constexpr int64_t GKC = 320; // max K per packed block
// The packed block and a tile's spill row are 64-byte aligned and read in
// whole vectors (offsets are multiples of VL floats), so they are accessed
// as VecF, aligned to its own size: 64 bytes on AVX-512 but 32 on AVX2.

#if defined(__AVX512F__)
/// Transposes the 16x16 block whose row j is Src + j*SS into Dst[c*DS + j]
/// (Dst 64-byte aligned, DS a multiple of 16): unpacks within 128-bit lanes,
/// then lane shuffles; 64 shuffles instead of 256 scalar moves.
inline void transpose16(const float *src, int64_t ss, float *dst, int64_t ds) {
  static_assert(VL == 16, "AVX-512 vectors");
  VecF r[16], u[16];
  for (int j = 0; j < 16; ++j)
    r[j] = load(src + j * ss);
  for (int i = 0; i < 8; ++i) { // unpack{lo,hi}_ps
    u[2 * i] = __builtin_shufflevector(r[2 * i], r[2 * i + 1], 0, 16, 1, 17, 4,
                                       20, 5, 21, 8, 24, 9, 25, 12, 28, 13, 29);
    u[2 * i + 1] =
        __builtin_shufflevector(r[2 * i], r[2 * i + 1], 2, 18, 3, 19, 6, 22, 7,
                                23, 10, 26, 11, 27, 14, 30, 15, 31);
  }
  // unpack{lo,hi}_pd: R[4i+c], 128-bit lane l = rows 4i..4i+3 of column 4l+c.
  for (int i = 0; i < 4; ++i) {
    VecF a = u[4 * i], b = u[4 * i + 1], c = u[4 * i + 2], d = u[4 * i + 3];
    r[4 * i] = __builtin_shufflevector(a, c, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9,
                                       24, 25, 12, 13, 28, 29);
    r[4 * i + 1] = __builtin_shufflevector(a, c, 2, 3, 18, 19, 6, 7, 22, 23, 10,
                                           11, 26, 27, 14, 15, 30, 31);
    r[4 * i + 2] = __builtin_shufflevector(b, d, 0, 1, 16, 17, 4, 5, 20, 21, 8,
                                           9, 24, 25, 12, 13, 28, 29);
    r[4 * i + 3] = __builtin_shufflevector(b, d, 2, 3, 18, 19, 6, 7, 22, 23, 10,
                                           11, 26, 27, 14, 15, 30, 31);
  }
  // Gather 128-bit lane l of R[c], R[4+c], R[8+c], R[12+c] (shuffle_f32x4).
  for (int c = 0; c < 4; ++c) {
    VecF a0 = __builtin_shufflevector(r[c], r[4 + c], 0, 1, 2, 3, 4, 5, 6, 7,
                                      16, 17, 18, 19, 20, 21, 22, 23);
    VecF a1 = __builtin_shufflevector(r[c], r[4 + c], 8, 9, 10, 11, 12, 13, 14,
                                      15, 24, 25, 26, 27, 28, 29, 30, 31);
    VecF b0 = __builtin_shufflevector(r[8 + c], r[12 + c], 0, 1, 2, 3, 4, 5, 6,
                                      7, 16, 17, 18, 19, 20, 21, 22, 23);
    VecF b1 = __builtin_shufflevector(r[8 + c], r[12 + c], 8, 9, 10, 11, 12, 13,
                                      14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    auto even = [](VecF x, VecF y) {
      return __builtin_shufflevector(x, y, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18,
                                     19, 24, 25, 26, 27);
    };
    auto odd = [](VecF x, VecF y) {
      return __builtin_shufflevector(x, y, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21,
                                     22, 23, 28, 29, 30, 31);
    };
    *reinterpret_cast<VecF *>(dst + c * ds) = even(a0, b0);
    *reinterpret_cast<VecF *>(dst + (4 + c) * ds) = odd(a0, b0);
    *reinterpret_cast<VecF *>(dst + (8 + c) * ds) = even(a1, b1);
    *reinterpret_cast<VecF *>(dst + (12 + c) * ds) = odd(a1, b1);
  }
}
#endif

/// Packs w rows [J0, J0+Nc) x columns [K0, K0+Kc) into Bp[k][j] (GNR wide),
/// zero-filling columns j >= Nc.
void packW(const float *w, int64_t ws, int64_t j0, int64_t nc, int64_t k0,
           int64_t kc, float *bp) {
  if (nc < GNR)
    for (int64_t i = 0; i < kc * GNR; ++i)
      bp[i] = 0.0f;
  int64_t j = 0;
#if defined(__AVX512F__)
  static_assert(GNR % 16 == 0, "panel width must be a multiple of 16");
  for (; j + 16 <= nc; j += 16) {
    const float *rows = w + (j0 + j) * ws + k0;
    int64_t kk = 0;
    for (; kk + 16 <= kc; kk += 16)
      transpose16(rows + kk, ws, bp + kk * GNR + j, GNR);
    for (; kk < kc; ++kk)
      for (int64_t jj = 0; jj < 16; ++jj)
        bp[kk * GNR + j + jj] = rows[jj * ws + kk];
  }
#endif
  for (; j < nc; ++j) {
    const float *row = w + (j0 + j) * ws + k0;
    for (int64_t kk = 0; kk < kc; ++kk)
      bp[kk * GNR + j] = row[kk];
  }
}

/// One M x GNR tile over Kc packed steps: adds to out when Add (accumulate,
/// or a later K block), else overwrites. Only the first Nc columns are
/// written.
template <int M>
void gemmTile(const float *x, int64_t xs, const float *bp, int64_t kc,
              float *out, int64_t os, int64_t nc, bool add) {
  VecF acc[M][GNV];
#pragma GCC unroll 16
  for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < GNV; ++v)
      acc[i][v] = VecF{};
  for (int64_t kk = 0; kk < kc; ++kk) {
    VecF bv[GNV];
#pragma GCC unroll 4
    for (int v = 0; v < GNV; ++v)
      bv[v] = *reinterpret_cast<const VecF *>(bp + kk * GNR + v * VL);
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) {
      float xik = x[i * xs + kk];
#pragma GCC unroll 4
      for (int v = 0; v < GNV; ++v)
        acc[i][v] += bv[v] * xik;
    }
  }
  if (nc == GNR) {
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < GNV; ++v) {
        float *p = out + i * os + v * VL;
        VecF r = acc[i][v];
        store(p, add ? load(p) + r : r);
      }
    return;
  }
  for (int i = 0; i < M; ++i) {
    alignas(64) float row[GNR];
    for (int v = 0; v < GNV; ++v)
      *reinterpret_cast<VecF *>(row + v * VL) = acc[i][v];
    for (int64_t j = 0; j < nc; ++j) {
      float r = row[j];
      float *p = out + i * os + j;
      *p = add ? *p + r : r;
    }
  }
}

using GemmTileFn = void (*)(const float *, int64_t, const float *, int64_t,
                            float *, int64_t, int64_t, bool);
template <int... Ms>
constexpr std::array<GemmTileFn, sizeof...(Ms)>
makeGemmTiles(std::integer_sequence<int, Ms...>) {
  return {gemmTile<Ms + 1>...};
}
constexpr auto GemmTiles =
    makeGemmTiles(std::make_integer_sequence<int, GMR>{});

void gemmPanels(const Mat &x, const Mat &w, float *out, int64_t os,
                bool accumulate, int64_t pBegin, int64_t pEnd) {
  int64_t t = x.rows, k = x.cols, n = w.rows;
  // Equal K blocks of at most GKC.
  int64_t numKb = std::max<int64_t>(1, (k + GKC - 1) / GKC);
  int64_t kb = (k + numKb - 1) / numKb;
  alignas(64) float bp[GKC * GNR];
  for (int64_t p = pBegin; p < pEnd; ++p) {
    int64_t j0 = p * GNR, nc = std::min<int64_t>(GNR, n - j0);
    for (int64_t k0 = 0;;) {
      int64_t kc = std::min(kb, k - k0);
      bool first = k0 == 0;
      packW(w.data, w.rowStride, j0, nc, k0, kc, bp);
      bool add = !first || accumulate;
      int64_t t0 = 0;
      for (; t0 + GMR <= t; t0 += GMR)
        gemmTile<GMR>(x.data + t0 * x.rowStride + k0, x.rowStride, bp, kc,
                      out + t0 * os + j0, os, nc, add);
      if (t0 < t)
        GemmTiles[t - t0 - 1](x.data + t0 * x.rowStride + k0, x.rowStride, bp,
                              kc, out + t0 * os + j0, os, nc, add);
      k0 += kb;
      if (k0 >= k)
        break;
    }
  }
}

void linearImpl(const char *kernel, TfmMemRefF32x2 *outM, TfmMemRefF32x2 *xm,
                TfmMemRefF32x2 *wm, bool accumulate) {
  Mat x = view2(kernel, "x", xm), w = view2(kernel, "w", wm);
  Mat o = view2(kernel, "out", outM);
  int64_t t = x.rows, k = x.cols, n = w.rows;
  if (w.cols != k)
    fatal(kernel, "x has K=%" PRId64 " but w has K=%" PRId64, k, w.cols);
  if (o.rows != t)
    fatal(kernel, "out has %" PRId64 " rows, x has %" PRId64, o.rows, t);
  if (o.cols != n)
    fatal(kernel, "out has %" PRId64 " columns, w has %" PRId64 " rows", o.cols,
          n);
  float *out = const_cast<float *>(o.data);
  if (t == 0 || n == 0)
    return;

  if (t == 1) {
    // Matrix-vector: every weight byte is read once, so split N evenly, but
    // into chunks of at least kMinChunkWork multiply-adds: waking a thread
    // costs more than a small layer (a 64-wide model runs 30k tok/s).
    tfm::rt::parallelFor(
        n,
        [&](int64_t b, int64_t e) {
          gemvRows(x.data, w.data, w.rowStride, out, 1, k, b, e, accumulate);
        },
        /*minChunk=*/
        std::max<int64_t>(16, kMinChunkWork / std::max<int64_t>(k, 1)));
    return;
  }

  // GEMM: parallel over panels of GNR w rows; each task packs its panels
  // itself, so no shared scratch and no extra synchronisation.
  tfm::rt::parallelFor(
      (n + GNR - 1) / GNR,
      [&](int64_t b, int64_t e) {
        gemmPanels(x, w, out, o.rowStride, accumulate, b, e);
      },
      /*minChunk=*/
      std::max<int64_t>(1, kMinChunkWork / std::max<int64_t>(GNR * k * t, 1)));
}

} // namespace

extern "C" float tfmrt_alibi_slope(int64_t h, int64_t numHeads) {
  return tfm::rt::alibiSlope(h, numHeads);
}

namespace {

/// Runs body(begin, end) over [0, items) on the pool, in chunks of at least
/// kMinChunkWork / workPerItem items.
template <typename Fn>
void scheduleItems(int64_t items, int64_t workPerItem, Fn &&body) {
  tfm::rt::parallelFor(
      items, body,
      std::max<int64_t>(1, kMinChunkWork / std::max<int64_t>(workPerItem, 1)));
}

} // namespace

// A memref descriptor as the outlined bodies take it, field by field.
#define TFM_EXPAND2(m)                                                         \
  m->allocated, m->aligned, m->offset, m->sizes[0], m->sizes[1],               \
      m->strides[0], m->strides[1]
#define TFM_EXPAND3(m)                                                         \
  m->allocated, m->aligned, m->offset, m->sizes[0], m->sizes[1], m->sizes[2],  \
      m->strides[0], m->strides[1], m->strides[2]

extern "C" void
_mlir_ciface_tfmrt_parallel_for(TfmParallelBodyFn body, TfmMemRefF32x2 *a,
                                TfmMemRefF32x2 *b, TfmMemRefF32x2 *c,
                                int64_t items, int64_t workPerItem) {
  if (!body || !a || !b || !c)
    fatal("tfmrt_parallel_for", "null body or operand");
  scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {
    body(begin, end, TFM_EXPAND2(a), TFM_EXPAND2(b), TFM_EXPAND2(c));
  });
}

extern "C" void _mlir_ciface_tfmrt_parallel_for_q8(
    TfmParallelQ8BodyFn body, TfmMemRefF32x2 *a, TfmMemRefF32x2 *b,
    TfmMemRefI8x2 *c, TfmMemRefF16x2 *d, int64_t items, int64_t workPerItem) {
  if (!body || !a || !b || !c || !d)
    fatal("tfmrt_parallel_for_q8", "null body or operand");
  scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {
    body(begin, end, TFM_EXPAND2(a), TFM_EXPAND2(b), TFM_EXPAND2(c),
         TFM_EXPAND2(d));
  });
}

extern "C" void _mlir_ciface_tfmrt_parallel_for_q4_0(
    TfmParallelQ8BodyFn body, TfmMemRefF32x2 *a, TfmMemRefF32x2 *b,
    TfmMemRefI8x2 *c, TfmMemRefF16x2 *d, int64_t items, int64_t workPerItem) {
  _mlir_ciface_tfmrt_parallel_for_q8(body, a, b, c, d, items, workPerItem);
}

// The schedulers of the encodings with 1, 3 and 4 components.
#define TFM_SCHEDULER_W1(NAME)                                                 \
  extern "C" void _mlir_ciface_tfmrt_parallel_for_##NAME(                      \
      TfmParallelBodyW1Fn body, TfmMemRefAnyx2 *a, TfmMemRefAnyx2 *b,          \
      TfmMemRefAnyx2 *c, int64_t items, int64_t workPerItem) {                 \
    if (!body || !a || !b || !c)                                               \
      fatal("tfmrt_parallel_for_" #NAME, "null body or operand");              \
    scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {        \
      body(begin, end, TFM_EXPAND2(a), TFM_EXPAND2(b), TFM_EXPAND2(c));        \
    });                                                                        \
  }
#define TFM_SCHEDULER_W3(NAME)                                                 \
  extern "C" void _mlir_ciface_tfmrt_parallel_for_##NAME(                      \
      TfmParallelBodyW3Fn body, TfmMemRefAnyx2 *a, TfmMemRefAnyx2 *b,          \
      TfmMemRefAnyx2 *c, TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *e, int64_t items,  \
      int64_t workPerItem) {                                                   \
    if (!body || !a || !b || !c || !d || !e)                                   \
      fatal("tfmrt_parallel_for_" #NAME, "null body or operand");              \
    scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {        \
      body(begin, end, TFM_EXPAND2(a), TFM_EXPAND2(b), TFM_EXPAND2(c),         \
           TFM_EXPAND2(d), TFM_EXPAND2(e));                                    \
    });                                                                        \
  }
#define TFM_SCHEDULER_W4(NAME)                                                 \
  extern "C" void _mlir_ciface_tfmrt_parallel_for_##NAME(                      \
      TfmParallelBodyW4Fn body, TfmMemRefAnyx2 *a, TfmMemRefAnyx2 *b,          \
      TfmMemRefAnyx2 *c, TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *e,                 \
      TfmMemRefAnyx2 *f, int64_t items, int64_t workPerItem) {                 \
    if (!body || !a || !b || !c || !d || !e || !f)                             \
      fatal("tfmrt_parallel_for_" #NAME, "null body or operand");              \
    scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {        \
      body(begin, end, TFM_EXPAND2(a), TFM_EXPAND2(b), TFM_EXPAND2(c),         \
           TFM_EXPAND2(d), TFM_EXPAND2(e), TFM_EXPAND2(f));                    \
    });                                                                        \
  }
#define TFM_SCHEDULER_W5(NAME)                                                 \
  extern "C" void _mlir_ciface_tfmrt_parallel_for_##NAME(                      \
      TfmParallelBodyW5Fn body, TfmMemRefAnyx2 *a, TfmMemRefAnyx2 *b,          \
      TfmMemRefAnyx2 *c, TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *e,                 \
      TfmMemRefAnyx2 *f, TfmMemRefAnyx2 *g, int64_t items,                     \
      int64_t workPerItem) {                                                   \
    if (!body || !a || !b || !c || !d || !e || !f || !g)                       \
      fatal("tfmrt_parallel_for_" #NAME, "null body or operand");              \
    scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {        \
      body(begin, end, TFM_EXPAND2(a), TFM_EXPAND2(b), TFM_EXPAND2(c),         \
           TFM_EXPAND2(d), TFM_EXPAND2(e), TFM_EXPAND2(f), TFM_EXPAND2(g));    \
    });                                                                        \
  }
#define TFM_SCHEDULER_W6(NAME)                                                 \
  extern "C" void _mlir_ciface_tfmrt_parallel_for_##NAME(                      \
      TfmParallelBodyW6Fn body, TfmMemRefAnyx2 *a, TfmMemRefAnyx2 *b,          \
      TfmMemRefAnyx2 *c, TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *e,                 \
      TfmMemRefAnyx2 *f, TfmMemRefAnyx2 *g, TfmMemRefAnyx2 *h, int64_t items,  \
      int64_t workPerItem) {                                                   \
    if (!body || !a || !b || !c || !d || !e || !f || !g || !h)                 \
      fatal("tfmrt_parallel_for_" #NAME, "null body or operand");              \
    scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {        \
      body(begin, end, TFM_EXPAND2(a), TFM_EXPAND2(b), TFM_EXPAND2(c),         \
           TFM_EXPAND2(d), TFM_EXPAND2(e), TFM_EXPAND2(f), TFM_EXPAND2(g),     \
           TFM_EXPAND2(h));                                                    \
    });                                                                        \
  }
TFM_SCHEDULER_W1(f16)
TFM_SCHEDULER_W1(bf16)
TFM_SCHEDULER_W3(q4_1)
TFM_SCHEDULER_W3(q5_0)
TFM_SCHEDULER_W4(q6_K)
TFM_SCHEDULER_W5(q4_K)
TFM_SCHEDULER_W6(q5_K)
#undef TFM_SCHEDULER_W1
#undef TFM_SCHEDULER_W3
#undef TFM_SCHEDULER_W4
#undef TFM_SCHEDULER_W5
#undef TFM_SCHEDULER_W6

extern "C" void _mlir_ciface_tfmrt_parallel_for_q5_1(
    TfmParallelBodyW4Fn body, TfmMemRefAnyx2 *a, TfmMemRefAnyx2 *b,
    TfmMemRefAnyx2 *c, TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *e, TfmMemRefAnyx2 *f,
    int64_t items, int64_t workPerItem) {
  if (!body || !a || !b || !c || !d || !e || !f)
    fatal("tfmrt_parallel_for_q5_1", "null body or operand");
  scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {
    body(begin, end, TFM_EXPAND2(a), TFM_EXPAND2(b), TFM_EXPAND2(c),
         TFM_EXPAND2(d), TFM_EXPAND2(e), TFM_EXPAND2(f));
  });
}

extern "C" void _mlir_ciface_tfmrt_parallel_for_q8_dot(
    TfmParallelQ8DotBodyFn body, TfmMemRefF32x2 *a, TfmMemRefF32x2 *b,
    TfmMemRefI8x2 *c, TfmMemRefI8x2 *d, TfmMemRefF16x2 *e, int64_t items,
    int64_t workPerItem) {
  if (!body || !a || !b || !c || !d || !e)
    fatal("tfmrt_parallel_for_q8_dot", "null body or operand");
  scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {
    body(begin, end, TFM_EXPAND2(a), TFM_EXPAND2(b), TFM_EXPAND2(c),
         TFM_EXPAND2(d), TFM_EXPAND2(e));
  });
}

// The 4/5-bit integer dot products' schedulers: q4_0's operands are
// q8_0's, q4_1's and q5_0's (6 memrefs) q5_1's f32 ones'.
extern "C" void _mlir_ciface_tfmrt_parallel_for_q4_0_dot(
    TfmParallelQ8DotBodyFn body, TfmMemRefF32x2 *a, TfmMemRefF32x2 *b,
    TfmMemRefI8x2 *c, TfmMemRefI8x2 *d, TfmMemRefF16x2 *e, int64_t items,
    int64_t workPerItem) {
  _mlir_ciface_tfmrt_parallel_for_q8_dot(body, a, b, c, d, e, items,
                                         workPerItem);
}

extern "C" void _mlir_ciface_tfmrt_parallel_for_q4_1_dot(
    TfmParallelBodyW4Fn body, TfmMemRefAnyx2 *a, TfmMemRefAnyx2 *b,
    TfmMemRefAnyx2 *c, TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *e, TfmMemRefAnyx2 *f,
    int64_t items, int64_t workPerItem) {
  _mlir_ciface_tfmrt_parallel_for_q5_1(body, a, b, c, d, e, f, items,
                                       workPerItem);
}

extern "C" void _mlir_ciface_tfmrt_parallel_for_q5_0_dot(
    TfmParallelBodyW4Fn body, TfmMemRefAnyx2 *a, TfmMemRefAnyx2 *b,
    TfmMemRefAnyx2 *c, TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *e, TfmMemRefAnyx2 *f,
    int64_t items, int64_t workPerItem) {
  _mlir_ciface_tfmrt_parallel_for_q5_1(body, a, b, c, d, e, f, items,
                                       workPerItem);
}

extern "C" void _mlir_ciface_tfmrt_parallel_for_q5_1_dot(
    TfmParallelBodyW5Fn body, TfmMemRefAnyx2 *a, TfmMemRefAnyx2 *b,
    TfmMemRefAnyx2 *c, TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *e, TfmMemRefAnyx2 *f,
    TfmMemRefAnyx2 *g, int64_t items, int64_t workPerItem) {
  if (!body || !a || !b || !c || !d || !e || !f || !g)
    fatal("tfmrt_parallel_for_q5_1_dot", "null body or operand");
  scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {
    body(begin, end, TFM_EXPAND2(a), TFM_EXPAND2(b), TFM_EXPAND2(c),
         TFM_EXPAND2(d), TFM_EXPAND2(e), TFM_EXPAND2(f), TFM_EXPAND2(g));
  });
}

extern "C" void
_mlir_ciface_tfmrt_parallel_for4(TfmParallelBody4Fn body, TfmMemRefF32x3 *a,
                                 TfmMemRefF32x3 *b, TfmMemRefF32x3 *c,
                                 TfmMemRefF32x3 *d, int64_t scalar,
                                 int64_t items, int64_t workPerItem) {
  if (!body || !a || !b || !c || !d)
    fatal("tfmrt_parallel_for4", "null body or operand");
  scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {
    body(begin, end, TFM_EXPAND3(a), TFM_EXPAND3(b), TFM_EXPAND3(c),
         TFM_EXPAND3(d), scalar);
  });
}
#undef TFM_EXPAND2
#undef TFM_EXPAND3

extern "C" void _mlir_ciface_tfmrt_linear(TfmMemRefF32x2 *out,
                                          TfmMemRefF32x2 *x, TfmMemRefF32x2 *w,
                                          int64_t accumulate) {
  linearImpl("tfmrt_linear", out, x, w, accumulate != 0);
}
