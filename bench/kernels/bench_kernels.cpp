//===- bench_kernels.cpp - Throughput of generated linear layers ----------===//
//
// Usage: bench-kernels [seconds-per-case]   (default 0.3)
//
// Each case is one f32 linear layer y[T,N] = x[T,K] * W[N,K]^T as tfmc
// generates it for the host: the packed contraction tfm-to-linalg emits for
// weights in [N/P][K][P] tiles (P = the host's f32 vector width), lowered by
// tfmc's own pipeline (buildLinalgToLLVMPipeline: tfm-generate-kernels, then
// LLVM at -O3 for the host CPU), JIT-compiled and run on the runtime's pool.
//
// GEMV (decode, T = 1): GB/s of weight bytes read, "hot" (the same matrix
// every call, so it may sit in cache) and "cold" (cycling through copies
// totalling > 128 MiB, so every byte comes from DRAM).
// GEMM (prefill, T = 128, and T = 32 for the 15M shapes): GFLOP/s = 2*T*N*K /
// time. Each at 1 and 2 threads, against a naive triple loop (1 thread);
// the generated results are checked against the naive ones. Attention
// alone: bench/attention.sh.
//
//===----------------------------------------------------------------------===//

#include "tfm/InitAll.h"
#include "tfm/Pipelines/Pipelines.h"
#include "tfm/Target/Codegen.h"
#include "tfm/runtime/Kernels.h"
#include "tfm/runtime/ThreadPool.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
double minSeconds = 0.3;

[[noreturn]] void fail(const llvm::Twine &message) {
  llvm::errs() << "bench-kernels: " << message << "\n";
  std::exit(1);
}

template <typename T> T check(llvm::Expected<T> value) {
  if (!value)
    fail(llvm::toString(value.takeError()));
  return std::move(*value);
}

/// Calls fn repeatedly for at least minSeconds; returns seconds per call.
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

/// The generated layer: linear(y, x, w).
using LinearFn = void (*)(TfmMemRefF32x2 *, TfmMemRefF32x2 *, TfmMemRefF32x3 *);

/// The host target and the JIT that holds every case's code, one library
/// per case (bodies of equal K share a name, as in one model).
struct Generator {
  std::unique_ptr<llvm::TargetMachine> tm;
  int64_t p = 0;
  std::unique_ptr<llvm::orc::LLJIT> jit;
  int cases = 0;

  Generator() {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    tfm::ResolvedTarget host = check(tfm::resolveTarget({}));
    tm = check(tfm::createTargetMachine(host));
    p = tfm::vectorWidthF32(*tm);
    llvm::orc::JITTargetMachineBuilder jtmb(tm->getTargetTriple());
    jtmb.setCPU(host.cpu);
    llvm::SmallVector<llvm::StringRef> features;
    llvm::StringRef(host.features).split(features, ',', -1, false);
    jtmb.addFeatures(
        std::vector<std::string>(features.begin(), features.end()));
    jtmb.setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
    jit = check(
        llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(jtmb).create());
    // libtfmrt's symbols are hidden: the generated code finds the scheduler
    // here (the main library, which every case's links to), not in the
    // process's dynamic symbols.
    llvm::orc::SymbolMap runtime;
    runtime[jit->mangleAndIntern("_mlir_ciface_tfmrt_parallel_for")] = {
        llvm::orc::ExecutorAddr::fromPtr(&_mlir_ciface_tfmrt_parallel_for),
        llvm::JITSymbolFlags::Exported};
    if (llvm::Error e = jit->getMainJITDylib().define(
            llvm::orc::absoluteSymbols(std::move(runtime))))
      fail(llvm::toString(std::move(e)));
  }

  /// Compiles the layer of shape [t, n, k] (n a multiple of p); prefill
  /// (t > 1) with a dynamic row count, as tfmc's prefill entry point has.
  LinearFn compile(int64_t t, int64_t n, int64_t k) {
    std::string name = "linear" + std::to_string(cases++);
    std::string s = std::to_string(p), tiles = std::to_string(n / p);
    std::string rows = t == 1 ? "1" : "?";
    std::string xType = "memref<" + rows + "x" + std::to_string(k) + "xf32>";
    std::string wType =
        "memref<" + tiles + "x" + std::to_string(k) + "x" + s + "xf32>";
    std::string yType = "memref<" + rows + "x" + std::to_string(n) + "xf32>";
    // tfm-to-linalg's packed contraction after bufferization
    // (test/Transforms/tfm-generate-kernels.mlir).
    std::string source =
        "func.func @" + name + "(%y: " + yType + ", %x: " + xType +
        ", %w: " + wType +
        ") attributes {llvm.emit_c_interface} {\n"
        "  %zero = arith.constant 0.0 : f32\n"
        "  linalg.fill ins(%zero : f32) outs(%y : " +
        yType +
        ")\n"
        "  linalg.generic {indexing_maps = [\n"
        "      affine_map<(m, n1, n0, k) -> (m, k)>,\n"
        "      affine_map<(m, n1, n0, k) -> (n1, k, n0)>,\n"
        "      affine_map<(m, n1, n0, k) -> (m, n1 * " +
        s +
        " + n0)>],\n"
        "      iterator_types = [\"parallel\", \"parallel\", \"parallel\", "
        "\"reduction\"]}\n"
        "      ins(%x, %w : " +
        xType + ", " + wType + ") outs(%y : " + yType +
        ") {\n"
        "  ^bb0(%a: f32, %b: f32, %c: f32):\n"
        "    %m = arith.mulf %a, %b : f32\n"
        "    %s = arith.addf %c, %m : f32\n"
        "    linalg.yield %s : f32\n"
        "  }\n"
        "  return\n"
        "}\n";
    mlir::DialectRegistry registry;
    tfm::registerAllDialects(registry);
    mlir::MLIRContext ctx(registry);
    mlir::OwningOpRef<mlir::ModuleOp> module =
        mlir::parseSourceString<mlir::ModuleOp>(source, &ctx);
    if (!module)
      fail("cannot parse the layer:\n" + source);
    tfm::PipelineOptions options;
    options.vectorWidth = p;
    mlir::PassManager pm(&ctx);
    tfm::buildLinalgToLLVMPipeline(pm, options);
    if (mlir::failed(pm.run(*module)))
      fail("tfmc's pipeline failed on the layer:\n" + source);
    auto llvmCtx = std::make_unique<llvm::LLVMContext>();
    std::unique_ptr<llvm::Module> ir =
        check(tfm::translateToLLVMIR(*module, *llvmCtx, *tm));
    tfm::optimizeModule(*ir, *tm);
    llvm::Expected<llvm::orc::JITDylib &> created = jit->createJITDylib(name);
    if (!created)
      fail(llvm::toString(created.takeError()));
    llvm::orc::JITDylib &lib = *created;
    lib.addToLinkOrder(jit->getMainJITDylib());
    if (llvm::Error e = jit->addIRModule(
            lib,
            llvm::orc::ThreadSafeModule(std::move(ir), std::move(llvmCtx))))
      fail(llvm::toString(std::move(e)));
    return check(jit->lookup(lib, "_mlir_ciface_" + name)).toPtr<LinearFn>();
  }
};

/// w[N,K] row-major -> [N/P][K][P] tiles, as the weights writer stores it.
std::vector<float> pack(const float *w, int64_t n, int64_t k, int64_t p) {
  std::vector<float> tiles(size_t(n * k));
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c)
      tiles[size_t(((r / p) * k + c) * p + r % p)] = w[r * k + c];
  return tiles;
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

TfmMemRefF32x2 ref2(float *d, int64_t r, int64_t c) {
  return {d, d, 0, {r, c}, {c, 1}};
}

TfmMemRefF32x3 tilesRef(float *d, int64_t n, int64_t k, int64_t p) {
  return {d, d, 0, {n / p, k, p}, {k * p, p, 1}};
}

void benchGemv(Generator &gen, int64_t n, int64_t k, std::mt19937 &rng) {
  double bytes = double(n * k) * 4;
  // Enough copies that a full cycle exceeds every cache level.
  int64_t copies =
      std::max<int64_t>(1, int64_t((128.0 * (1 << 20)) / bytes) + 1);
  std::vector<float> w = randomVec(size_t(n * k), rng);
  std::vector<float> packed = pack(w.data(), n, k, gen.p);
  std::vector<float> all(size_t(n * k * copies));
  for (int64_t c = 0; c < copies; ++c)
    std::copy(packed.begin(), packed.end(), all.begin() + c * n * k);
  std::vector<float> x = randomVec(size_t(k), rng), out(static_cast<size_t>(n)),
                     ref(static_cast<size_t>(n));
  LinearFn linear = gen.compile(1, n, k);
  TfmMemRefF32x2 xr = ref2(x.data(), 1, k), outRef = ref2(out.data(), 1, n);
  double naive =
      timeIt([&] { naiveLinear(ref.data(), x.data(), w.data(), 1, n, k); });
  std::printf("gemv  N=%-6lld K=%-5lld %7.2f MB | naive %6.1f GB/s",
              (long long)n, (long long)k, bytes / 1e6, bytes / naive / 1e9);
  for (int threads : {1, 2}) {
    tfm::rt::ThreadPool pool(threads);
    tfm::rt::ThreadPool::Scope usePool(pool);
    TfmMemRefF32x3 wr = tilesRef(all.data(), n, k, gen.p);
    double hot = timeIt([&] { linear(&outRef, &xr, &wr); });
    if (!closeEnough(out, ref))
      std::printf(" MISMATCH");
    int64_t c = 0;
    double cold = timeIt([&] {
      wr = tilesRef(all.data() + (c++ % copies) * n * k, n, k, gen.p);
      linear(&outRef, &xr, &wr);
    });
    std::printf(" | %dT hot %6.1f cold %6.1f GB/s", threads, bytes / hot / 1e9,
                bytes / cold / 1e9);
  }
  std::printf("\n");
}

void benchGemm(Generator &gen, int64_t t, int64_t n, int64_t k,
               std::mt19937 &rng) {
  std::vector<float> w = randomVec(size_t(n * k), rng),
                     x = randomVec(size_t(t * k), rng),
                     out(static_cast<size_t>(t * n)),
                     ref(static_cast<size_t>(t * n));
  std::vector<float> packed = pack(w.data(), n, k, gen.p);
  LinearFn linear = gen.compile(t, n, k);
  double flops = 2.0 * double(t * n * k);
  double naive =
      timeIt([&] { naiveLinear(ref.data(), x.data(), w.data(), t, n, k); });
  std::printf("gemm  T=%-4lld N=%-5lld K=%-5lld | naive %6.1f GFLOP/s",
              (long long)t, (long long)n, (long long)k, flops / naive / 1e9);
  TfmMemRefF32x2 xr = ref2(x.data(), t, k), outRef = ref2(out.data(), t, n);
  TfmMemRefF32x3 wr = tilesRef(packed.data(), n, k, gen.p);
  for (int threads : {1, 2}) {
    tfm::rt::ThreadPool pool(threads);
    tfm::rt::ThreadPool::Scope usePool(pool);
    double secs = timeIt([&] { linear(&outRef, &xr, &wr); });
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
  Generator gen;
  std::printf("generated for the host: %s, %lld-float tiles\n",
              gen.tm->getTargetCPU().str().c_str(), (long long)gen.p);
  std::mt19937 rng(1);
  // Shapes of the 15M (dim 288, hidden 768, vocab 32000) and 110M (dim 768,
  // hidden 2048) llama2.c models.
  benchGemv(gen, 288, 288, rng);
  benchGemv(gen, 768, 288, rng);
  benchGemv(gen, 288, 768, rng);
  benchGemv(gen, 2048, 768, rng);
  benchGemv(gen, 32000, 288, rng);
  benchGemm(gen, 128, 288, 288, rng);
  benchGemm(gen, 128, 768, 288, rng);
  benchGemm(gen, 128, 288, 768, rng);
  benchGemm(gen, 128, 2048, 768, rng);
  benchGemm(gen, 128, 32000, 288, rng);
  // A 32-token prompt (bench/decode.sh) of the 15M model.
  benchGemm(gen, 32, 288, 288, rng);
  benchGemm(gen, 32, 768, 288, rng);
  benchGemm(gen, 32, 288, 768, rng);
  return 0;
}
