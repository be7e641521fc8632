// bench-roofline: the machine's limits that the whole-model benchmarks are
// measured against. Read bandwidth (a sum over a buffer far larger than the
// caches, the access pattern of decode's weight stream) and f32 FMA peak
// (independent FMA chains in registers, 256-bit and, where the CPU has it,
// 512-bit), with 1 thread and with every hardware thread.
//
//   bench-roofline [--mib N]   (buffer size, default 1024 MiB)
//
// Prints one "key value" line per figure, so scripts can read it.

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

double seconds() {
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

// Sums floats [begin, end) with 8 independent 256-bit accumulators, so the
// loop is limited by loads, not by the add latency.
__attribute__((target("avx2"))) float sumRange(const float *begin,
                                               const float *end) {
  __m256 acc[8];
  for (__m256 &a : acc)
    a = _mm256_setzero_ps();
  for (const float *p = begin; p + 64 <= end; p += 64)
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i)
      acc[i] = _mm256_add_ps(acc[i], _mm256_loadu_ps(p + 8 * i));
  for (int i = 1; i < 8; ++i)
    acc[0] = _mm256_add_ps(acc[0], acc[i]);
  float lanes[8];
  _mm256_storeu_ps(lanes, acc[0]);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] +
         lanes[6] + lanes[7];
}

// The same with 512-bit loads: on some cores only these reach the peak.
__attribute__((target("avx512f"))) float sumRange512(const float *begin,
                                                     const float *end) {
  __m512 acc[8];
  for (__m512 &a : acc)
    a = _mm512_setzero_ps();
  for (const float *p = begin; p + 128 <= end; p += 128)
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i)
      acc[i] = _mm512_add_ps(acc[i], _mm512_loadu_ps(p + 16 * i));
  for (int i = 1; i < 8; ++i)
    acc[0] = _mm512_add_ps(acc[0], acc[i]);
  float lanes[16];
  _mm512_storeu_ps(lanes, acc[0]);
  return lanes[0];
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

// FMA peak: 12 independent chains (enough to cover latency x ports on
// current x86 cores), `iters` rounds each.
__attribute__((target("avx2,fma"))) float fma256(long iters) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i)
    acc[i] = _mm256_set1_ps(float(i));
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-3f);
  for (long k = 0; k < iters; ++k)
#pragma GCC unroll 12
    for (__m256 &x : acc)
      x = _mm256_fmadd_ps(x, a, b);
  for (int i = 1; i < 12; ++i)
    acc[0] = _mm256_add_ps(acc[0], acc[i]);
  return _mm256_cvtss_f32(acc[0]);
}

__attribute__((target("avx512f"))) float fma512(long iters) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i)
    acc[i] = _mm512_set1_ps(float(i));
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-3f);
  for (long k = 0; k < iters; ++k)
#pragma GCC unroll 12
    for (__m512 &x : acc)
      x = _mm512_fmadd_ps(x, a, b);
  for (int i = 1; i < 12; ++i)
    acc[0] = _mm512_add_ps(acc[0], acc[i]);
  float lanes[16];
  _mm512_storeu_ps(lanes, acc[0]);
  return lanes[0];
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
    double gbs = readBandwidth(sumRange, data, t, 5);
    if (__builtin_cpu_supports("avx512f"))
      gbs = std::max(gbs, readBandwidth(sumRange512, data, t, 5));
    std::printf("read_gbs_t%u %.2f\n", t, gbs);
    std::printf("fma256_gflops_t%u %.1f\n", t, fmaPeak(fma256, 8, t));
    if (__builtin_cpu_supports("avx512f"))
      std::printf("fma512_gflops_t%u %.1f\n", t, fmaPeak(fma512, 16, t));
    if (t == all)
      break;
  }
  return 0;
}
