//===- Passes.td - Conversions out of the tfm dialect ------*- tablegen -*-===//

#ifndef TFM_CONVERSION_PASSES_TD
#define TFM_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertTfmToLinalgPass : Pass<"tfm-to-linalg", "ModuleOp"> {
  let summary = "Lower tfm ops to linalg, tensor, arith and math on tensors";
  let description = [{
    Every tfm op becomes linalg named or generic ops on tensors (so one-shot
    bufferization can place the buffers), except three things that are not
    values: `tfm.weight` becomes a view of the weights argument at the offset
    in the module's `tfm.weight_offsets`; the KV cache ops become subviews of
    the cache argument; and `tfm.fused_attention` becomes a call to the
    runtime's online-softmax attention kernel.
  }];
  let dependentDialects = [
    "arith::ArithDialect", "bufferization::BufferizationDialect",
    "func::FuncDialect", "linalg::LinalgDialect", "math::MathDialect",
    "memref::MemRefDialect", "tensor::TensorDialect"
  ];
}

def TfmLinalgToKernelsPass : Pass<"tfm-linalg-to-kernels", "ModuleOp"> {
  let summary = "Replace buffer-level matmuls by calls to the runtime's kernels";
  let description = [{
    After bufferization, every `linalg.matmul_transpose_b` (x W^T, every
    linear layer) becomes a call to `tfmrt_linear`, a threaded, cache-blocked
    kernel of libtfmrt. The kernel accumulates into its output like
    linalg.matmul, except when the output was zero-filled right before: then
    the fill is dropped and the kernel overwrites. `bench/` compares it with
    the loops `convert-linalg-to-loops` would produce.
  }];
  let dependentDialects = ["arith::ArithDialect", "func::FuncDialect", "memref::MemRefDialect"];
  let statistics = [
    Statistic<"numKernels", "num-kernel-calls", "Matmuls turned into kernel calls">
  ];
}

#endif // TFM_CONVERSION_PASSES_TD
