//===- Pipelines.h - The one pipeline definition of tfmc --------*- C++ -*-===//
//
// Shared by tfmc and tfm-opt (as the named pipelines `tfm-optimize` and
// `tfm-lower-to-llvm`), so lit tests exercise exactly what tfmc runs.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_PIPELINES_PIPELINES_H
#define TFM_PIPELINES_PIPELINES_H

namespace mlir {
class OpPassManager;
class DialectRegistry;
} // namespace mlir

namespace tfm {

struct PipelineOptions {
  bool fuseAttention = true;   ///< Run tfm-fuse-attention.
  bool kernels = true;         ///< Matmuls as runtime kernel calls, not loops.
};

/// Graph-level optimisation on the tfm dialect (fusion).
void buildOptimizationPipeline(mlir::OpPassManager &pm, const PipelineOptions &opts);

/// tfm -> linalg on tensors.
void buildToLinalgPipeline(mlir::OpPassManager &pm);

/// linalg on tensors -> LLVM dialect (bufferization, loops, LLVM).
void buildLinalgToLLVMPipeline(mlir::OpPassManager &pm, const PipelineOptions &opts);

/// The external models bufferization needs on the dialects we use.
void registerPipelineInterfaces(mlir::DialectRegistry &registry);

/// Registers `tfm-optimize` and `tfm-lower-to-llvm` for tfm-opt.
void registerPipelines();

} // namespace tfm

#endif // TFM_PIPELINES_PIPELINES_H
