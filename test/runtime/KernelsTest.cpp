//===- KernelsTest.cpp - The schedulers and the ALiBi slopes --------------===//
//
// The generated bodies themselves are tested end to end against the oracle
// (test/e2e); here, what the runtime adds: splitting [0, items) and passing
// the operands through, and the ALiBi slope table.
//
//===----------------------------------------------------------------------===//

#include "tfm/runtime/Kernels.h"
#include "tfm/runtime/ThreadPool.h"

#include <gtest/gtest.h>

#include <cmath>
#include <mutex>
#include <utility>
#include <vector>

namespace {

std::mutex rangesMutex;
std::vector<std::pair<int64_t, int64_t>> ranges;

/// A body in the generated code's convention: adds 1 to a[0, i] for each of
/// its items and records its range; b and c must arrive as passed.
void countingBody(int64_t begin, int64_t end, float *, float *a, int64_t aOff,
                  int64_t, int64_t, int64_t, int64_t aStride, float *, float *b,
                  int64_t, int64_t bRows, int64_t, int64_t, int64_t, float *,
                  float *c, int64_t cOff, int64_t, int64_t, int64_t, int64_t) {
  ASSERT_EQ(b[0], 7.0f);
  ASSERT_EQ(bRows, 1);
  ASSERT_EQ(c[cOff], 9.0f);
  for (int64_t i = begin; i < end; ++i)
    a[aOff + i * aStride] += 1.0f;
  std::lock_guard<std::mutex> lock(rangesMutex);
  ranges.push_back({begin, end});
}

/// Runs countingBody over `items` with `workPerItem` on 2 threads; returns
/// the per-item counts.
std::vector<float> runCounting(int64_t items, int64_t workPerItem) {
  std::vector<float> counts(size_t(items) + 1, 0.0f);
  float bValue = 7.0f, cData[2] = {0.0f, 9.0f};
  // a at offset 1, so a body that ignores the offset is caught.
  TfmMemRefF32x2 a{counts.data(), counts.data(), 1, {1, items}, {items, 1}};
  TfmMemRefF32x2 b{&bValue, &bValue, 0, {1, 1}, {1, 1}};
  TfmMemRefF32x2 c{cData, cData, 1, {1, 1}, {1, 1}};
  ranges.clear();
  tfm::rt::ThreadPool pool(2);
  tfm::rt::ThreadPool::Scope use(pool);
  _mlir_ciface_tfmrt_parallel_for(countingBody, &a, &b, &c, items, workPerItem);
  return std::vector<float>(counts.begin() + 1, counts.end());
}

// Heavy items: every item runs exactly once, in disjoint ranges.
TEST(Kernels, ParallelForCoversEveryItemOnce) {
  std::vector<float> counts = runCounting(37, int64_t(1) << 20);
  for (size_t i = 0; i < counts.size(); ++i)
    EXPECT_EQ(counts[i], 1.0f) << "item " << i;
  int64_t total = 0;
  for (auto [begin, end] : ranges)
    total += end - begin;
  EXPECT_EQ(total, 37);
}

// Light items (1000 items of 1 multiply-add, far below a chunk's minimum
// work) stay one range on the calling thread.
TEST(Kernels, ParallelForKeepsSmallWorkInOneRange) {
  std::vector<float> counts = runCounting(1000, 1);
  for (size_t i = 0; i < counts.size(); ++i)
    EXPECT_EQ(counts[i], 1.0f) << "item " << i;
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0], std::make_pair(int64_t(0), int64_t(1000)));
}

TEST(KernelsDeathTest, ParallelForRejectsNullBody) {
  float v = 0;
  TfmMemRefF32x2 m{&v, &v, 0, {1, 1}, {1, 1}};
  EXPECT_DEATH(_mlir_ciface_tfmrt_parallel_for(nullptr, &m, &m, &m, 1, 1),
               "internal error in tfmrt_parallel_for: null body or operand");
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

} // namespace
