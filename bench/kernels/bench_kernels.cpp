//===- bench_kernels.cpp - Throughput of the runtime's linear kernels -----===//
//
// Usage: bench-kernels [seconds-per-case]   (default 0.3)
//
// GEMV (decode, T = 1): GB/s of weight bytes read, "hot" (the same matrix
// every call, so it may sit in cache) and "cold" (cycling through copies
// totalling > 128 MiB, so every byte comes from DRAM).
// GEMM (prefill, T = 128, and T = 32 for the 15M shapes): GFLOP/s = 2*T*N*K /
// time. Each at 1 and 2 threads, against a naive triple loop (1 thread), and
// the kernel's results are checked against the naive ones.
//
//===----------------------------------------------------------------------===//

#include "tfm/runtime/Kernels.h"
#include "tfm/runtime/ThreadPool.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
double minSeconds = 0.3;

/// Calls fn repeatedly for at least MinSeconds; returns seconds per call.
template <typename Fn> double timeIt(Fn &&fn) {
  fn(); // warm up
  int64_t iters = 0;
  Clock::time_point start = Clock::now();
  double elapsed = 0;
  do {
    fn();
    ++iters;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < minSeconds);
  return elapsed / double(iters);
}

TfmMemRefF32x2 ref2(float *p, int64_t r, int64_t c) {
  return {p, p, 0, {r, c}, {c, 1}};
}

void naiveLinear(float *out, const float *x, const float *w, int64_t numT,
                 int64_t numN, int64_t numK) {
  for (int64_t t = 0; t < numT; ++t)
    for (int64_t n = 0; n < numN; ++n) {
      float s = 0;
      for (int64_t k = 0; k < numK; ++k)
        s += x[t * numK + k] * w[n * numK + k];
      out[t * numN + n] = s;
    }
}

bool closeEnough(const std::vector<float> &a, const std::vector<float> &b) {
  for (size_t i = 0; i < a.size(); ++i)
    if (std::fabs(a[i] - b[i]) > 1e-3f * (1 + std::fabs(b[i])))
      return false;
  return true;
}

std::vector<float> randomVec(size_t n, std::mt19937 &rng) {
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(n);
  for (float &x : v)
    x = u(rng);
  return v;
}

void benchGemv(int64_t n, int64_t k, std::mt19937 &rng) {
  double bytes = double(n * k) * 4;
  // Enough copies that a full cycle exceeds every cache level.
  int64_t copies =
      std::max<int64_t>(1, int64_t((128.0 * (1 << 20)) / bytes) + 1);
  std::vector<float> w = randomVec(size_t(n * k * copies), rng);
  std::vector<float> x = randomVec(size_t(k), rng), out(static_cast<size_t>(n)),
                     ref(static_cast<size_t>(n));
  TfmMemRefF32x2 xr = ref2(x.data(), 1, k), outRef = ref2(out.data(), 1, n);
  double naive =
      timeIt([&] { naiveLinear(ref.data(), x.data(), w.data(), 1, n, k); });
  std::printf("gemv  N=%-6lld K=%-5lld %7.2f MB | naive %6.1f GB/s",
              (long long)n, (long long)k, bytes / 1e6, bytes / naive / 1e9);
  for (int threads : {1, 2}) {
    tfm::rt::ThreadPool pool(threads);
    tfm::rt::ThreadPool::Scope usePool(pool);
    TfmMemRefF32x2 wr = ref2(w.data(), n, k);
    double hot =
        timeIt([&] { _mlir_ciface_tfmrt_linear(&outRef, &xr, &wr, 0); });
    if (!closeEnough(out, ref))
      std::printf(" MISMATCH");
    int64_t c = 0;
    double cold = timeIt([&] {
      wr = ref2(w.data() + (c++ % copies) * n * k, n, k);
      _mlir_ciface_tfmrt_linear(&outRef, &xr, &wr, 0);
    });
    std::printf(" | %dT hot %6.1f cold %6.1f GB/s", threads, bytes / hot / 1e9,
                bytes / cold / 1e9);
  }
  std::printf("\n");
}

void benchGemm(int64_t t, int64_t n, int64_t k, std::mt19937 &rng) {
  std::vector<float> w = randomVec(size_t(n * k), rng),
                     x = randomVec(size_t(t * k), rng),
                     out(static_cast<size_t>(t * n)),
                     ref(static_cast<size_t>(t * n));
  double flops = 2.0 * double(t * n * k);
  double naive =
      timeIt([&] { naiveLinear(ref.data(), x.data(), w.data(), t, n, k); });
  std::printf("gemm  T=%-4lld N=%-5lld K=%-5lld | naive %6.1f GFLOP/s",
              (long long)t, (long long)n, (long long)k, flops / naive / 1e9);
  TfmMemRefF32x2 xr = ref2(x.data(), t, k), wr = ref2(w.data(), n, k),
                 outRef = ref2(out.data(), t, n);
  for (int threads : {1, 2}) {
    tfm::rt::ThreadPool pool(threads);
    tfm::rt::ThreadPool::Scope usePool(pool);
    double secs =
        timeIt([&] { _mlir_ciface_tfmrt_linear(&outRef, &xr, &wr, 0); });
    if (!closeEnough(out, ref))
      std::printf(" MISMATCH");
    std::printf(" | %dT %7.1f GFLOP/s", threads, flops / secs / 1e9);
  }
  std::printf("\n");
}

} // namespace

int main(int argc, char **argv) {
  if (argc > 1) {
    char *end = nullptr;
    minSeconds = std::strtod(argv[1], &end);
    if (*end != '\0' || !(minSeconds > 0)) {
      std::fprintf(stderr, "usage: %s [seconds-per-case > 0]\n", argv[0]);
      return 2;
    }
  }
  std::mt19937 rng(1);
  // Shapes of the 15M (dim 288, hidden 768, vocab 32000) and 110M (dim 768,
  // hidden 2048) llama2.c models.
  benchGemv(288, 288, rng);
  benchGemv(768, 288, rng);
  benchGemv(288, 768, rng);
  benchGemv(2048, 768, rng);
  benchGemv(32000, 288, rng);
  benchGemm(128, 288, 288, rng);
  benchGemm(128, 768, 288, rng);
  benchGemm(128, 288, 768, rng);
  benchGemm(128, 2048, 768, rng);
  benchGemm(128, 32000, 288, rng);
  // A 32-token prompt (bench/decode.sh) of the 15M model.
  benchGemm(32, 288, 288, rng);
  benchGemm(32, 768, 288, rng);
  benchGemm(32, 288, 768, rng);
  return 0;
}
