//===- Passes.td - Passes on the tfm dialect ---------------*- tablegen -*-===//

#ifndef TFM_DIALECT_TFM_TRANSFORMS_PASSES_TD
#define TFM_DIALECT_TFM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def TfmFuseAttentionPass : Pass<"tfm-fuse-attention", "func::FuncOp"> {
  let summary = "Fuse matmul-scale-mask-softmax-matmul into tfm.fused_attention";
  let description = [{
    Recognises the attention chain the frontend emits,
    `matmul(Q, K^T) -> scale -> causal_mask | alibi -> softmax -> matmul(., V)`
    (the scale may instead be applied to Q, the mask may be absent for
    non-causal attention), and replaces it with one `tfm.fused_attention`.
    Nothing is fused when an intermediate value has another user, since its
    materialised value would still be needed, or when shapes disagree.
  }];
  let dependentDialects = ["arith::ArithDialect"];
  let statistics = [
    Statistic<"numFused", "num-fused", "Attention chains fused">
  ];
}

#endif // TFM_DIALECT_TFM_TRANSFORMS_PASSES_TD
