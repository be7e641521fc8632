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
  std::vector<float> data;
  TfmMemRefF32x2 ref;
  int64_t rows, cols, stride, offset;
  Buf2(int64_t rows, int64_t cols, int64_t pad, int64_t offset,
       std::mt19937 &rng, float scale = 1.0f)
      : rows(rows), cols(cols), stride(cols + pad), offset(offset) {
    // NaN in the padding: reading it would poison the results.
    data.assign(size_t(offset + rows * stride + 8), NAN);
    std::uniform_real_distribution<float> u(-scale, scale);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        at(r, c) = u(rng);
    ref = {data.data(), data.data(), offset, {rows, cols}, {stride, 1}};
  }
  float &at(int64_t r, int64_t c) {
    return data[size_t(offset + r * stride + c)];
  }
};

struct Buf3 {
  std::vector<float> data;
  TfmMemRefF32x3 ref;
  int64_t s0, s1, s2, st0, st1, offset;
  Buf3(int64_t a, int64_t b, int64_t c, int64_t pad, int64_t offset,
       std::mt19937 &rng, float scale)
      : s0(a), s1(b), s2(c), st0(b * c + pad), st1(c), offset(offset) {
    data.assign(size_t(offset + a * st0 + 8), NAN);
    std::uniform_real_distribution<float> u(-scale, scale);
    for (int64_t i = 0; i < a; ++i)
      for (int64_t j = 0; j < b; ++j)
        for (int64_t k = 0; k < c; ++k)
          at(i, j, k) = u(rng);
    ref = {data.data(), data.data(), offset, {a, b, c}, {st0, st1, 1}};
  }
  float &at(int64_t i, int64_t j, int64_t k) {
    return data[size_t(offset + i * st0 + j * st1 + k)];
  }
};

struct LinearCase {
  int64_t t, n, k, pad, offset;
  int threads;
};

void checkLinear(const LinearCase &c) {
  tfm::rt::ThreadPool pool(c.threads);
  tfm::rt::ThreadPool::Scope usePool(pool);
  std::mt19937 rng(1234 + c.t * 7 + c.n * 13 + c.k);
  Buf2 x(c.t, c.k, c.pad, c.offset, rng),
      w(c.n, c.k, c.pad + 3, c.offset + 5, rng);
  Buf2 out(c.t, c.n, c.pad + 1, 7, rng);
  _mlir_ciface_tfmrt_linear(&out.ref, &x.ref, &w.ref, 0);
  double maxErr = 0;
  for (int64_t t = 0; t < c.t; ++t)
    for (int64_t n = 0; n < c.n; ++n) {
      double s = 0, mag = 0;
      for (int64_t k = 0; k < c.k; ++k) {
        s += double(x.at(t, k)) * double(w.at(n, k));
        mag += std::fabs(double(x.at(t, k)) * double(w.at(n, k)));
      }
      double err = std::fabs(double(out.at(t, n)) - s);
      ASSERT_LE(err, 1e-5 * mag + 1e-6) << "T=" << t << " N=" << n << " got "
                                        << out.at(t, n) << " want " << s;
      maxErr = std::max(maxErr, err);
    }
  // The padding of out must be untouched (still NaN).
  for (int64_t t = 0; t < c.t; ++t)
    ASSERT_TRUE(std::isnan(out.at(t, c.n))) << "wrote past row " << t;
}

TEST(Kernels, LinearDecodeShapes) {
  for (int threads : {1, 2}) {
    checkLinear({1, 288, 768, 0, 0, threads});
    checkLinear({1, 768, 288, 0, 0, threads});
    checkLinear({1, 37, 53, 3, 11, threads}); // odd sizes, K tail
    checkLinear({1, 5, 3, 1, 2, threads});
    checkLinear({1, 1001, 64, 4, 1, threads});
  }
}

TEST(Kernels, LinearPrefillShapes) {
  for (int threads : {1, 2}) {
    checkLinear({7, 45, 100, 2, 3, threads}); // all tile edges
    checkLinear({17, 64, 288, 0, 0, threads});
    checkLinear({128, 130, 35, 5, 9, threads});
    checkLinear({2, 3, 1, 0, 0, threads}); // K = 1
    checkLinear({33, 200, 48, 1, 0, threads});
    // Several K blocks of the packed GEMM (K > 320), K tails within a block,
    // a partial last panel, T not a multiple of the row tile.
    checkLinear({13, 70, 700, 3, 5, threads});
    checkLinear({9, 33, 1000, 0, 1, threads});
    checkLinear({32, 288, 768, 0, 0, threads});
  }
}

// accumulate != 0 adds to what `out` holds (linalg.matmul's semantics).
TEST(Kernels, LinearAccumulates) {
  for (int64_t t : {1, 5}) {
    std::mt19937 rng(99 + t);
    Buf2 x(t, 37, 2, 1, rng), w(21, 37, 1, 3, rng), out(t, 21, 3, 2, rng);
    std::vector<float> before;
    for (int64_t r = 0; r < t; ++r)
      for (int64_t c = 0; c < 21; ++c)
        before.push_back(out.at(r, c));
    _mlir_ciface_tfmrt_linear(&out.ref, &x.ref, &w.ref, 1);
    for (int64_t r = 0; r < t; ++r)
      for (int64_t c = 0; c < 21; ++c) {
        double s = before[size_t(r * 21 + c)];
        for (int64_t k = 0; k < 37; ++k)
          s += double(x.at(r, k)) * double(w.at(c, k));
        EXPECT_NEAR(out.at(r, c), s, 1e-4)
            << "T=" << t << " row " << r << " col " << c;
      }
  }
}

// Accumulation across the GEMM's K blocks and a partial panel.
TEST(Kernels, LinearAccumulatesKBlocks) {
  for (int threads : {1, 2}) {
    tfm::rt::ThreadPool pool(threads);
    tfm::rt::ThreadPool::Scope usePool(pool);
    const int64_t t = 19, n = 50, k = 650;
    std::mt19937 rng(7 + threads);
    Buf2 x(t, k, 2, 1, rng), w(n, k, 1, 3, rng), out(t, n, 3, 2, rng);
    std::vector<float> before;
    for (int64_t r = 0; r < t; ++r)
      for (int64_t c = 0; c < n; ++c)
        before.push_back(out.at(r, c));
    _mlir_ciface_tfmrt_linear(&out.ref, &x.ref, &w.ref, 1);
    for (int64_t r = 0; r < t; ++r) {
      for (int64_t c = 0; c < n; ++c) {
        double s = before[size_t(r * n + c)];
        for (int64_t kk = 0; kk < k; ++kk)
          s += double(x.at(r, kk)) * double(w.at(c, kk));
        EXPECT_NEAR(out.at(r, c), s, 1e-4) << "row " << r << " col " << c;
      }
      EXPECT_TRUE(std::isnan(out.at(r, n))) << "wrote past row " << r;
    }
  }
}

TEST(KernelsDeathTest, LinearRejectsNonUnitInnerStride) {
  std::mt19937 rng(1);
  Buf2 x(2, 8, 0, 0, rng), w(4, 8, 0, 0, rng), out(2, 4, 0, 0, rng);
  x.ref.strides[1] = 2;
  EXPECT_DEATH(_mlir_ciface_tfmrt_linear(&out.ref, &x.ref, &w.ref, 0),
               "inner stride of 'x' must be 1");
}

TEST(KernelsDeathTest, LinearRejectsShapeMismatch) {
  std::mt19937 rng(1);
  Buf2 x(2, 8, 0, 0, rng), w(4, 9, 0, 0, rng), out(2, 4, 0, 0, rng);
  EXPECT_DEATH(_mlir_ciface_tfmrt_linear(&out.ref, &x.ref, &w.ref, 0),
               "x has K=8 but w has K=9");
}

/// ALiBi slopes as the paper's reference code computes them (recursive
/// get_slopes), written independently of the kernel's closed form.
std::vector<double> referenceSlopes(int n) {
  auto pow2 = [](int n) {
    double start = std::pow(2.0, -std::pow(2.0, -(std::log2(n) - 3)));
    std::vector<double> s;
    for (int i = 0; i < n; ++i)
      s.push_back(start * std::pow(start, i));
    return s;
  };
  double l = std::log2(n);
  if (l == std::floor(l))
    return pow2(n);
  int closest = 1 << int(std::floor(l));
  std::vector<double> s = pow2(closest);
  std::vector<double> twice = referenceSlopes(2 * closest);
  for (int i = 0; i < n - closest; ++i)
    s.push_back(twice[size_t(2 * i)]);
  return s;
}

TEST(Kernels, AlibiSlopes) {
  for (int h : {1, 2, 4, 6, 8, 12, 16, 20, 32}) {
    std::vector<double> ref = referenceSlopes(h);
    for (int hh = 0; hh < h; ++hh)
      EXPECT_NEAR(tfmrt_alibi_slope(hh, h), ref[size_t(hh)], 1e-7)
          << "H=" << h << " h=" << hh;
  }
}

struct AttnCase {
  int64_t t, h, kv, hd, pos, s; // S >= Pos + T
  bool causal, alibi;
  int threads;
};

void checkAttention(const AttnCase &c) {
  tfm::rt::ThreadPool pool(c.threads);
  tfm::rt::ThreadPool::Scope usePool(pool);
  std::mt19937 rng(99 + c.t * 3 + c.h * 5 + c.pos);
  Buf3 q(c.t, c.h, c.hd, 4, 3, rng, 1.5f), k(c.s, c.kv, c.hd, 8, 1, rng, 1.5f),
      v(c.s, c.kv, c.hd, 2, 0, rng, 1.0f), o(c.t, c.h, c.hd, 1, 5, rng, 1.0f);
  float scale = float(1.0 / std::sqrt(double(c.hd)));
  _mlir_ciface_tfmrt_attention(&o.ref, &q.ref, &k.ref, &v.ref, c.pos, scale,
                               c.causal, c.alibi);
  std::vector<double> slopes = referenceSlopes(int(c.h));
  for (int64_t t = 0; t < c.t; ++t)
    for (int64_t h = 0; h < c.h; ++h) {
      int64_t kvh = h / (c.h / c.kv), qPos = c.pos + t;
      int64_t nKeys = c.causal ? qPos + 1 : c.pos + c.t;
      std::vector<double> sc(static_cast<size_t>(nKeys));
      double max = -INFINITY;
      for (int64_t s = 0; s < nKeys; ++s) {
        double d = 0;
        for (int64_t i = 0; i < c.hd; ++i)
          d += double(q.at(t, h, i)) * double(k.at(s, kvh, i));
        sc[size_t(s)] =
            d * scale - (c.alibi ? slopes[size_t(h)] * double(qPos - s) : 0);
        max = std::max(max, sc[size_t(s)]);
      }
      double sum = 0;
      for (double &x : sc)
        sum += (x = std::exp(x - max));
      for (int64_t i = 0; i < c.hd; ++i) {
        double want = 0;
        for (int64_t s = 0; s < nKeys; ++s)
          want += sc[size_t(s)] / sum * double(v.at(s, kvh, i));
        ASSERT_NEAR(o.at(t, h, i), want, 2e-5)
            << "t=" << t << " h=" << h << " d=" << i;
      }
    }
}

TEST(Kernels, AttentionPrefillMHA) {
  for (int th : {1, 2}) {
    checkAttention({7, 4, 4, 16, 0, 7, true, false, th});
    checkAttention({70, 2, 2, 8, 0, 70, true, false, th}); // > one key block
  }
}

TEST(Kernels, AttentionGQAandMQA) {
  for (int th : {1, 2}) {
    checkAttention({5, 8, 2, 16, 0, 5, true, false, th});   // GQA
    checkAttention({6, 6, 1, 12, 0, 6, true, false, th});   // MQA
    checkAttention({9, 6, 3, 20, 11, 20, true, false, th}); // GQA, pos > 0
  }
}

TEST(Kernels, AttentionDecode) {
  for (int th : {1, 2}) {
    checkAttention({1, 4, 4, 16, 100, 101, true, false, th});
    checkAttention({1, 8, 2, 32, 130, 131, true, false, th});
    // The cache may be longer than pos + T: those keys are ignored.
    checkAttention({1, 4, 1, 16, 40, 64, true, false, th});
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
  for (int th : {1, 2}) {
    checkAttention({8, 8, 8, 16, 0, 8, true, true, th});
    checkAttention({1, 6, 6, 16, 90, 91, true, true, th}); // non-power-of-2 H
    checkAttention({4, 12, 4, 8, 3, 7, true, true, th});
    checkAttention({4, 4, 4, 8, 0, 4, false, true, th});
  }
}

TEST(KernelsDeathTest, AttentionRejectsShortCache) {
  std::mt19937 rng(1);
  Buf3 q(2, 2, 4, 0, 0, rng, 1), k(3, 2, 4, 0, 0, rng, 1),
      v(3, 2, 4, 0, 0, rng, 1), o(2, 2, 4, 0, 0, rng, 1);
  EXPECT_DEATH(_mlir_ciface_tfmrt_attention(&o.ref, &q.ref, &k.ref, &v.ref, 2,
                                            1.0f, 1, 0),
               "exceeds the 3 cached positions");
}

} // namespace
