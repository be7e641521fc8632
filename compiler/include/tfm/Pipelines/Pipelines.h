//===- Pipelines.h - The one pipeline definition of tfmc --------*- C++ -*-===//
//
// Shared by tfmc and tfm-opt (as the named pipelines `tfm-optimize` and
// `tfm-lower-to-llvm`), so lit tests exercise exactly what tfmc runs.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_PIPELINES_PIPELINES_H
#define TFM_PIPELINES_PIPELINES_H

#include <cstdint>
#include <string>

namespace mlir {
class OpPassManager;
class DialectRegistry;
} // namespace mlir

namespace tfm {

/// Which q8_0 layers use integer dot products (tfmc --int-dot).
enum class IntDotMode { Auto, Off, On, Decode, Prefill };

struct PipelineOptions {
  bool fuseAttention = true; ///< Run tfm-fuse-attention.
  /// Run tfm-merge-projections (with generateKernels).
  bool mergeProjections = true;
  /// Linear layers and the LM head on packed weights (tfm-pack-weights) as
  /// vector code of tfm-generate-kernels, run on the runtime's thread pool;
  /// false (tfmc --no-kernels): convert-linalg-to-loops, like every other
  /// op (the reference).
  bool generateKernels = true;
  /// f32 lanes of the target's vectors (16 AVX-512, 8 AVX2): the column
  /// tile of packed weights and the vector width of generated kernels.
  int64_t vectorWidth = 16;
  /// q8_0 layers' integer dot products: the instruction set (intDotIsa,
  /// "none": f32 arithmetic) and the cases that use them.
  std::string intDot = "none";
  bool intDotDecode = true, intDotPrefill = true;
  /// The LM head too, its activations int8 or int16 (their int8 rounding
  /// was most of the logits' error: docs/design.md).
  bool intDotHead = false;
  int64_t intDotHeadBits = 16;
  bool fuseElementwise = true; ///< Run tfm-fuse-elementwise on linalg.
  bool planMemory = true;      ///< Run tfm-plan-memory (one arena per call).
};

/// Sets opts.intDotDecode / intDotPrefill for `mode` (Auto: the measured
/// choice for opts.intDot, docs/design.md).
void setIntDotCases(PipelineOptions &opts, IntDotMode mode);

/// Graph-level optimisation on the tfm dialect (fusion).
void buildOptimizationPipeline(mlir::OpPassManager &pm,
                               const PipelineOptions &opts);

/// tfm -> linalg on tensors (then elementwise fusion).
void buildToLinalgPipeline(mlir::OpPassManager &pm,
                           const PipelineOptions &opts = PipelineOptions());

/// linalg on tensors -> buffers: bufferization, deallocation, kernel calls.
/// The first half of buildLinalgToLLVMPipeline (before tfm-plan-memory);
/// `tfmc --emit=memory-plan` stops here.
void buildBufferizationPipeline(mlir::OpPassManager &pm,
                                const PipelineOptions &opts);

/// linalg on tensors -> LLVM dialect (bufferization, loops, LLVM).
void buildLinalgToLLVMPipeline(mlir::OpPassManager &pm,
                               const PipelineOptions &opts);

/// The external models bufferization needs on the dialects we use.
void registerPipelineInterfaces(mlir::DialectRegistry &registry);

/// Registers `tfm-optimize` and `tfm-lower-to-llvm` for tfm-opt.
void registerPipelines();

} // namespace tfm

#endif // TFM_PIPELINES_PIPELINES_H
