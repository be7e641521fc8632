// bench-roofline: the machine's limits that the whole-model benchmarks are
// measured against. Read bandwidth (a sum over a buffer far larger than the
// caches, in 1, 2, 4 or 8 streams per thread: the access pattern of decode's
// weight stream; the bound is the best) and f32 FMA peak
// (independent FMA chains in registers, 256-bit and, where the CPU has it,
// 512-bit), with 1 thread and with every hardware thread.
//
//   bench-roofline [--mib N]   (buffer size, default 1024 MiB)
//
// Prints one "key value" line per figure, so scripts can read it.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

namespace {

typedef float Vec8 __attribute__((vector_size(32)));
typedef float Vec16 __attribute__((vector_size(64)));

double seconds() {
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

// Sums floats [begin, end) split into `Streams` equal parts read in
// lockstep, with 8 independent accumulators of `Lanes` floats, so the loop is
// limited by loads, not by the add latency. Several streams per thread is the
// pattern of decode's weight stream (each thread reads a few column tiles at
// once); the prefetchers keep more misses in flight with a few streams than
// with one, so the bound is the best of 1, 2, 4 and 8. The streams start
// `Skew` floats (a page and a line) more than a power of two apart: parts
// of exactly 256 MiB map to the same cache sets and DRAM banks, which halved
// the 4- and 8-stream figures on a Zen 3 (weights are never laid out so).
// Inlined into the target-specific wrappers below, which choose the vector
// width.
template <typename Vec, int Streams>
[[gnu::always_inline]] inline float sumLanes(const float *begin,
                                             const float *end) {
  constexpr int Lanes = sizeof(Vec) / sizeof(float);
  constexpr int PerStream = 8 / Streams; // vectors per stream per round
  constexpr size_t Skew = (4096 + 64) / sizeof(float);
  size_t part = (size_t(end - begin) - (Streams - 1) * Skew) / Streams /
                (8 * Lanes) * (8 * Lanes);
  Vec acc[8] = {};
  for (size_t off = 0; off + PerStream * Lanes <= part;
       off += PerStream * Lanes)
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
      Vec v;
      std::memcpy(&v,
                  begin + (i % Streams) * (part + Skew) + off +
                      Lanes * (i / Streams),
                  sizeof(Vec));
      acc[i] += v;
    }
  for (int i = 1; i < 8; ++i)
    acc[0] += acc[i];
  float sum = 0;
  for (int l = 0; l < Lanes; ++l)
    sum += acc[0][l];
  return sum;
}

template <int Streams>
__attribute__((target("avx2"))) float sumRange(const float *begin,
                                               const float *end) {
  return sumLanes<Vec8, Streams>(begin, end);
}

// 512-bit loads: on some cores only these reach the peak.
template <int Streams>
__attribute__((target("avx512f"))) float sumRange512(const float *begin,
                                                     const float *end) {
  return sumLanes<Vec16, Streams>(begin, end);
}

// Best of `reps` passes of `sum` over `data` split across `threads`, GB/s.
double readBandwidth(float (*sum)(const float *, const float *),
                     const std::vector<float> &data, unsigned threads,
                     int reps) {
  double best = 0;
  volatile float sink = 0;
  for (int r = 0; r < reps; ++r) {
    std::vector<float> partial(threads);
    std::vector<std::thread> pool;
    size_t chunk = data.size() / threads;
    double start = seconds();
    for (unsigned t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        const float *begin = data.data() + t * chunk;
        partial[t] = sum(begin, begin + chunk);
      });
    for (std::thread &th : pool)
      th.join();
    double elapsed = seconds() - start;
    for (float p : partial)
      sink = sink + p;
    best = std::max(best, data.size() * sizeof(float) / elapsed / 1e9);
  }
  return best;
}

// FMA peak: 12 independent chains of `Lanes` floats (enough to cover latency
// x ports on current x86 cores), `iters` rounds each.
template <typename Vec>
[[gnu::always_inline]] inline float fmaChains(long iters) {
  Vec acc[12];
  for (int i = 0; i < 12; ++i)
    acc[i] = Vec{} + float(2 + i); // 1 is the fixed point: keep away
  const Vec a = Vec{} + 0.999f, b = Vec{} + 1e-3f;
  for (long k = 0; k < iters; ++k)
#pragma GCC unroll 12
    for (Vec &x : acc)
      x = x * a + b; // contracted to one FMA (GNU C++)
  for (int i = 1; i < 12; ++i)
    acc[0] += acc[i];
  return acc[0][0];
}

__attribute__((target("avx2,fma"))) float fma256(long iters) {
  return fmaChains<Vec8>(iters);
}

__attribute__((target("avx512f"))) float fma512(long iters) {
  return fmaChains<Vec16>(iters);
}

// GFLOP/s of `kernel` (lanes f32 per FMA, 2 flops each) on `threads`.
double fmaPeak(float (*kernel)(long), int lanes, unsigned threads) {
  const long iters = 20'000'000;
  volatile float sink = 0;
  double best = 0;
  for (int r = 0; r < 3; ++r) {
    std::vector<std::thread> pool;
    double start = seconds();
    for (unsigned t = 0; t < threads; ++t)
      pool.emplace_back([&] { sink = sink + kernel(iters); });
    for (std::thread &th : pool)
      th.join();
    double elapsed = seconds() - start;
    best = std::max(best, threads * iters * 12.0 * lanes * 2 / elapsed / 1e9);
  }
  return best;
}

} // namespace

int main(int argc, char **argv) {
  size_t mib = 1024;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--mib") && i + 1 < argc) {
      mib = std::strtoul(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: %s [--mib N]\n", argv[0]);
      return 2;
    }
  }
  if (mib < 64) {
    std::fprintf(stderr, "bench-roofline: --mib must be at least 64\n");
    return 2;
  }
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    std::fprintf(stderr, "bench-roofline: needs AVX2 and FMA\n");
    return 1;
  }
  unsigned all = std::max(1u, std::thread::hardware_concurrency());
  std::vector<float> data(mib * 1024 * 1024 / sizeof(float), 1.0f);
  for (unsigned t : {1u, all}) {
    // One figure per stream count, then the bound: the best of them.
    using Sum = float (*)(const float *, const float *);
    const std::pair<int, std::pair<Sum, Sum>> kernels[] = {
        {1, {sumRange<1>, sumRange512<1>}},
        {2, {sumRange<2>, sumRange512<2>}},
        {4, {sumRange<4>, sumRange512<4>}},
        {8, {sumRange<8>, sumRange512<8>}}};
    double best = 0;
    for (const auto &[streams, sums] : kernels) {
      double gbs = readBandwidth(sums.first, data, t, 3);
      if (__builtin_cpu_supports("avx512f"))
        gbs = std::max(gbs, readBandwidth(sums.second, data, t, 3));
      std::printf("read_gbs_s%d_t%u %.2f\n", streams, t, gbs);
      best = std::max(best, gbs);
    }
    std::printf("read_gbs_t%u %.2f\n", t, best);
    std::printf("fma256_gflops_t%u %.1f\n", t, fmaPeak(fma256, 8, t));
    if (__builtin_cpu_supports("avx512f"))
      std::printf("fma512_gflops_t%u %.1f\n", t, fmaPeak(fma512, 16, t));
    if (t == all)
      break;
  }
  return 0;
}
