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
    in the nearest `tfm.weight_offsets` (the function's, as block functions
    have, else the module's); the KV cache ops become subviews of the layer's
    cache argument; and `tfm.fused_attention` becomes a call to the runtime's
    online-softmax attention kernel. Residual adds and norms write over their
    input, so that bufferization keeps the hidden state in one buffer.
  }];
  let dependentDialects = [
    "arith::ArithDialect", "bufferization::BufferizationDialect",
    "func::FuncDialect", "linalg::LinalgDialect", "math::MathDialect",
    "memref::MemRefDialect", "tensor::TensorDialect"
  ];
}

#endif // TFM_CONVERSION_PASSES_TD
