//===- bench_kernels.cpp - Throughput of the runtime's linear kernels -----===//
//
// Usage: bench-kernels [seconds-per-case]   (default 0.3)
//
// GEMV (decode, T = 1): GB/s of weight bytes read, "hot" (the same matrix
// every call, so it may sit in cache) and "cold" (cycling through copies
// totalling > 128 MiB, so every byte comes from DRAM).
// GEMM (prefill, T = 128, and T = 32 for the 15M shapes): GFLOP/s = 2*T*N*K / time.
// Each at 1 and 2 threads, against a naive triple loop (1 thread), and the
// kernel's results are checked against the naive ones.
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
double MinSeconds = 0.3;

/// Calls fn repeatedly for at least MinSeconds; returns seconds per call.
template <typename Fn> double timeIt(Fn &&fn) {
  fn(); // warm up
  int64_t Iters = 0;
  Clock::time_point Start = Clock::now();
  double Elapsed = 0;
  do {
    fn();
    ++Iters;
    Elapsed = std::chrono::duration<double>(Clock::now() - Start).count();
  } while (Elapsed < MinSeconds);
  return Elapsed / double(Iters);
}

TfmMemRefF32x2 ref2(float *P, int64_t R, int64_t C) {
  return {P, P, 0, {R, C}, {C, 1}};
}

void naiveLinear(float *Out, const float *X, const float *W, int64_t T,
                 int64_t N, int64_t K) {
  for (int64_t t = 0; t < T; ++t)
    for (int64_t n = 0; n < N; ++n) {
      float S = 0;
      for (int64_t k = 0; k < K; ++k)
        S += X[t * K + k] * W[n * K + k];
      Out[t * N + n] = S;
    }
}

bool closeEnough(const std::vector<float> &A, const std::vector<float> &B) {
  for (size_t I = 0; I < A.size(); ++I)
    if (std::fabs(A[I] - B[I]) > 1e-3f * (1 + std::fabs(B[I])))
      return false;
  return true;
}

std::vector<float> randomVec(size_t N, std::mt19937 &Rng) {
  std::uniform_real_distribution<float> U(-1, 1);
  std::vector<float> V(N);
  for (float &X : V)
    X = U(Rng);
  return V;
}

void benchGemv(int64_t N, int64_t K, std::mt19937 &Rng) {
  double Bytes = double(N * K) * 4;
  // Enough copies that a full cycle exceeds every cache level.
  int64_t Copies =
      std::max<int64_t>(1, int64_t((128.0 * (1 << 20)) / Bytes) + 1);
  std::vector<float> W = randomVec(size_t(N * K * Copies), Rng);
  std::vector<float> X = randomVec(size_t(K), Rng), Out(static_cast<size_t>(N)),
                     Ref(static_cast<size_t>(N));
  TfmMemRefF32x2 Xr = ref2(X.data(), 1, K), Or = ref2(Out.data(), 1, N);
  double Naive =
      timeIt([&] { naiveLinear(Ref.data(), X.data(), W.data(), 1, N, K); });
  std::printf("gemv  N=%-6lld K=%-5lld %7.2f MB | naive %6.1f GB/s",
              (long long)N, (long long)K, Bytes / 1e6, Bytes / Naive / 1e9);
  for (int Threads : {1, 2}) {
    tfm::rt::ThreadPool Pool(Threads);
    tfm::rt::ThreadPool::Scope UsePool(Pool);
    TfmMemRefF32x2 Wr = ref2(W.data(), N, K);
    double Hot = timeIt([&] { _mlir_ciface_tfmrt_linear(&Or, &Xr, &Wr, 0); });
    if (!closeEnough(Out, Ref))
      std::printf(" MISMATCH");
    int64_t C = 0;
    double Cold = timeIt([&] {
      Wr = ref2(W.data() + (C++ % Copies) * N * K, N, K);
      _mlir_ciface_tfmrt_linear(&Or, &Xr, &Wr, 0);
    });
    std::printf(" | %dT hot %6.1f cold %6.1f GB/s", Threads, Bytes / Hot / 1e9,
                Bytes / Cold / 1e9);
  }
  std::printf("\n");
}

void benchGemm(int64_t T, int64_t N, int64_t K, std::mt19937 &Rng) {
  std::vector<float> W = randomVec(size_t(N * K), Rng),
                     X = randomVec(size_t(T * K), Rng),
                     Out(static_cast<size_t>(T * N)),
                     Ref(static_cast<size_t>(T * N));
  double Flops = 2.0 * double(T * N * K);
  double Naive =
      timeIt([&] { naiveLinear(Ref.data(), X.data(), W.data(), T, N, K); });
  std::printf("gemm  T=%-4lld N=%-5lld K=%-5lld | naive %6.1f GFLOP/s",
              (long long)T, (long long)N, (long long)K, Flops / Naive / 1e9);
  TfmMemRefF32x2 Xr = ref2(X.data(), T, K), Wr = ref2(W.data(), N, K),
                 Or = ref2(Out.data(), T, N);
  for (int Threads : {1, 2}) {
    tfm::rt::ThreadPool Pool(Threads);
    tfm::rt::ThreadPool::Scope UsePool(Pool);
    double Secs = timeIt([&] { _mlir_ciface_tfmrt_linear(&Or, &Xr, &Wr, 0); });
    if (!closeEnough(Out, Ref))
      std::printf(" MISMATCH");
    std::printf(" | %dT %7.1f GFLOP/s", Threads, Flops / Secs / 1e9);
  }
  std::printf("\n");
}

} // namespace

int main(int argc, char **argv) {
  if (argc > 1) {
    char *End = nullptr;
    MinSeconds = std::strtod(argv[1], &End);
    if (*End != '\0' || !(MinSeconds > 0)) {
      std::fprintf(stderr, "usage: %s [seconds-per-case > 0]\n", argv[0]);
      return 2;
    }
  }
  std::mt19937 Rng(1);
  // Shapes of the 15M (dim 288, hidden 768, vocab 32000) and 110M (dim 768,
  // hidden 2048) llama2.c models.
  benchGemv(288, 288, Rng);
  benchGemv(768, 288, Rng);
  benchGemv(288, 768, Rng);
  benchGemv(2048, 768, Rng);
  benchGemv(32000, 288, Rng);
  benchGemm(128, 288, 288, Rng);
  benchGemm(128, 768, 288, Rng);
  benchGemm(128, 288, 768, Rng);
  benchGemm(128, 2048, 768, Rng);
  benchGemm(128, 32000, 288, Rng);
  // A 32-token prompt (bench/decode.sh) of the 15M model.
  benchGemm(32, 288, 288, Rng);
  benchGemm(32, 768, 288, Rng);
  benchGemm(32, 288, 768, Rng);
  return 0;
}
