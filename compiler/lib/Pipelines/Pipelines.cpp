//===- Pipelines.cpp - The one pipeline definition of tfmc ----------------===//

#include "tfm/Pipelines/Pipelines.h"

#include "tfm/Conversion/Passes.h"
#include "tfm/Dialect/Tfm/Transforms/Passes.h"
#include "tfm/Transforms/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace tfm {

void setIntDotCases(PipelineOptions &opts, IntDotMode mode) {
  switch (mode) {
  case IntDotMode::Auto:
    // Faster on every target and case measured (docs/design.md); the LM
    // head's activations int16, which keeps stories260K within 1e-2 of the
    // oracle (int8 there did not).
    opts.intDotDecode = opts.intDotPrefill = opts.intDotHead = true;
    opts.intDotHeadBits = 16;
    return;
  case IntDotMode::Off:
    opts.intDotDecode = opts.intDotPrefill = opts.intDotHead = false;
    return;
  case IntDotMode::On:
    opts.intDotDecode = opts.intDotPrefill = opts.intDotHead = true;
    opts.intDotHeadBits = 8;
    return;
  case IntDotMode::Decode:
  case IntDotMode::Prefill:
    opts.intDotDecode = mode == IntDotMode::Decode;
    opts.intDotPrefill = mode == IntDotMode::Prefill;
    opts.intDotHead = true;
    opts.intDotHeadBits = 16;
    return;
  }
}

void buildOptimizationPipeline(OpPassManager &pm, const PipelineOptions &opts) {
  if (opts.fuseAttention)
    pm.addNestedPass<func::FuncOp>(mlir::tfm::createTfmFuseAttentionPass());
  if (opts.generateKernels) {
    // Weights stored in the dot steps' lanes of 4 k where every linear
    // layer reading them takes integer dot products (intDotIsa's lanes are
    // the vector width).
    bool dots = opts.intDot != "none";
    pm.addPass(mlir::tfm::createTfmPackWeightsPass(
        {opts.vectorWidth, dots && opts.intDotDecode && opts.intDotPrefill,
         dots && opts.intDotHead}));
    // After packing: parts merge only with equal packing.
    if (opts.mergeProjections)
      pm.addPass(mlir::tfm::createTfmMergeProjectionsPass());
  }
  pm.addPass(createCanonicalizerPass());
}

void buildToLinalgPipeline(OpPassManager &pm, const PipelineOptions &opts) {
  pm.addPass(mlir::tfm::createConvertTfmToLinalgPass());
  // No CSE here: it would merge the zero fills of all linear layers into one
  // tensor, which bufferization then copies in front of every matmul.
  pm.addPass(createCanonicalizerPass());
  if (opts.fuseElementwise) {
    pm.addNestedPass<func::FuncOp>(mlir::tfm::createTfmFuseElementwisePass());
    pm.addPass(createCanonicalizerPass());
  }
}

void buildBufferizationPipeline(OpPassManager &pm,
                                const PipelineOptions &opts) {
  // The LM head's tensor.empty becomes the logits argument itself.
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  pm.addPass(mlir::tfm::createTfmBufferizePass());
  // A block function updates the hidden state in place and returns its
  // argument: drop that result, so the layer loop carries one buffer and the
  // deallocation pipeline sees no ownership to transfer.
  pm.addPass(bufferization::createDropEquivalentBufferResultsPass());
  pm.addPass(createCanonicalizerPass());
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  pm.addPass(createCanonicalizerPass());
  if (opts.generateKernels) {
    // Register tiles: 8 x 2 vectors of 16 accumulators in 32 zmm registers
    // (AVX-512); 6 x 2 = 12 of 16 ymm/xmm registers otherwise.
    mlir::tfm::TfmGenerateKernelsPassOptions gen;
    gen.rows = opts.vectorWidth >= 16 ? 8 : 6;
    gen.tiles = 2;
    // Decode in float arithmetic: 64 columns a step, as 8 streams of 8
    // floats (Zen 3, -t 1, over 4: stories15M shape f32 +9% tok/s,
    // stories110M +4%) or 4 of 16 (Zen 5, stories110M shape, over 8: f32
    // +10% at -t 1, +4% at -t 2, bf16 +12%; 1 or 2 tiles: -16%, -7%).
    // Integer dot products take one tile at a time: a tile's weights (and
    // their scales' prefetch) are one stream the hardware prefetcher
    // follows into the next tile, where several tiles were as many short
    // streams (a q4_0 tile of K 768 is 6 KiB). Zen 5, stories110M shape, 5
    // alternated runs, 4 tiles -> 1, -t 1 / -t 2 tok/s: AVX-512 Q4_K_M +23%
    // / +15%, q4_0 +9% / +2%, q8_0 +10% / -1%; AVX2 (x86-64-v3) Q4_K_M +14%
    // / +14%, q4_0 +6% / -2%, q8_0 +38% / +32%.
    // And each thread's tiles in 2 parts read side by side: one core keeps
    // more lines in flight over 2 streams than over 1 (Zen 3, a file
    // mapping read with AVX2 loads: 20.5 -> 26-27 GB/s). Zen 3, stories110M
    // shape, 5 alternated runs, 1 -> 2 parts, -t 1 / -t 2 tok/s: q8_0 +12% /
    // +10%, q4_0 +16% / +17%, Q4_K_M +6% / +8%; 4 parts: Q4_K_M -14% / -12%.
    // The hardware prefetcher follows the parts, so their bodies drop the
    // next tile's software prefetch (q8_0 +14% / +24% more, TinyLlama shape
    // +13% / +16%; q4_0 and Q4_K_M within 3% at stories110M).
    // More parts while the streams (component arrays x parts) stay within
    // 8, bench-roofline's best: q8_0 and q4_0 (2 arrays) read 4 parts; the
    // others 2 (q4_K's 5 arrays in 4 parts, 20 streams: Q4_K_M -10% /
    // -19%). Zen 3, stories110M shape, 2 -> 4 parts, 7 alternated runs, -t 1
    // / -t 2: q8_0 +12% / +2%, q4_0 +14% / +7% (9 runs: +14% / +9%, +6% /
    // +6%); TinyLlama shape q8_0 (5 runs of 64 tokens) +8% / -5%.
    // Float bodies with 8-float vectors read 8 parts, a tile of each (8 long
    // streams; bench-roofline's 8-stream read is its best): Zen 3,
    // stories110M shape, two sets of 5 alternated runs over 8 adjacent
    // tiles, -t 1 / -t 2: bf16 +21% / +9% and +10% / +1%, f32 +5% / -3% and
    // +4% / -3%. 16-float (AVX-512) bodies keep 4 adjacent tiles
    // (unmeasured).
    gen.decodeTiles = opts.vectorWidth >= 16 ? 4 : 8;
    gen.decodeStreams = opts.vectorWidth >= 16 ? 1 : 8;
    gen.intDotDecodeTiles = 1;
    gen.intDotDecodeStreams = 2;
    gen.intDotDecodeStreamBudget = 8;
    // Prefill K blocks: 256 with 16-float tiles (128 and 512 were within
    // the noise on a Zen 5); 768 with 8-float ones (Zen 3, -t 1, 128-token
    // prompts, 5 alternated runs over 256: stories110M f32 +5%, q8_0 +4%,
    // Q4_K_M +5%, TinyLlama f32 +5%; stories15M's K stays whole either way).
    gen.kBlock = opts.vectorWidth >= 16 ? 256 : 768;
    gen.intDot = opts.intDot;
    gen.intDotDecode = opts.intDotDecode;
    gen.intDotPrefill = opts.intDotPrefill;
    gen.intDotHead = opts.intDotHead;
    gen.intDotHeadBits = opts.intDotHeadBits;
    pm.addPass(mlir::tfm::createTfmGenerateKernelsPass(gen));
  }
  // Fused attention is generated in every mode: libtfmrt has no attention
  // kernel (the generated one was faster on every case of
  // bench/attention.sh). A linear layer not generated (--no-kernels, or a
  // weight left unpacked) becomes loops with every other op.
  mlir::tfm::TfmGenerateAttentionPassOptions attention;
  attention.vectorWidth = opts.vectorWidth;
  pm.addPass(mlir::tfm::createTfmGenerateAttentionPass(attention));
}

void buildLinalgToLLVMPipeline(OpPassManager &pm, const PipelineOptions &opts) {
  buildBufferizationPipeline(pm, opts);
  if (opts.planMemory)
    pm.addNestedPass<func::FuncOp>(mlir::tfm::createTfmPlanMemoryPass());
  // Norms, activations, residuals, transposes: vector code, one row at a
  // time; the rest (fills, unpacked matmuls, gathers) becomes loops.
  pm.addNestedPass<func::FuncOp>(
      mlir::tfm::createTfmVectorizeElementwisePass());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  // exp, tanh, erf as polynomials: no libm call per element.
  pm.addPass(mlir::tfm::createTfmApproximateMathPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertSCFToCFPass());
  // Generated kernels' vector ops (vector.fma, loads and stores of P lanes).
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // LLVM intrinsics first: the polynomials' fma and floor (vector or not)
  // become instructions (on a target without FMA, a multiply and an add:
  // translateToLLVMIR), not per-lane libm calls; libm takes what is left.
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  // Allocations call libtfmrt's _mlir_memref_to_llvm_alloc, which checks
  // for failure: generated code would store through a NULL from malloc.
  FinalizeMemRefToLLVMConversionPassOptions memrefToLLVM;
  memrefToLLVM.useGenericFunctions = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefToLLVM));
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void registerPipelineInterfaces(DialectRegistry &registry) {
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  linalg::registerBufferizableOpInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(
      registry);
}

void registerPipelines() {
  PassPipelineRegistration<>(
      "tfm-optimize", "tfm graph optimisations (fusion), as tfmc runs them",
      [](OpPassManager &pm) {
        buildOptimizationPipeline(pm, PipelineOptions());
      });
  PassPipelineRegistration<>("tfm-lower-to-llvm",
                             "tfm -> linalg -> LLVM dialect, as tfmc runs it",
                             [](OpPassManager &pm) {
                               buildToLinalgPipeline(pm);
                               buildLinalgToLLVMPipeline(pm, PipelineOptions());
                             });
}

} // namespace tfm
