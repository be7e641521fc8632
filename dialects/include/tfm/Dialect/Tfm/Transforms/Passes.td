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

def TfmFuseElementwisePass : Pass<"tfm-fuse-elementwise", "func::FuncOp"> {
  let summary = "Fuse chains of elementwise linalg.generic ops (bias + activation, SwiGLU gate, norm scaling)";
  let description = [{
    Runs on the output of `tfm-to-linalg` (linalg on tensors), where every
    elementwise tfm op is one `linalg.generic`: a producer generic whose
    result feeds a consumer generic is merged into the consumer, so the
    intermediate tensor is never allocated, written and re-read. Typical
    matches: `silu(x W1) * (x W3)` (one loop instead of two), bias add +
    GELU, the residual add of an FFN output when it has one user.

    What is deliberately not fused, and why:
    - named ops (`linalg.matmul_transpose_b`, `linalg.fill`,
      `linalg.transpose`): `tfm-linalg-to-kernels` must still find the
      zero-filled matmul after bufferization to call the runtime kernel;
    - producers with more than one use (including a capture in another
      op's body, e.g. rotary embeddings reading their input by index): the
      intermediate would stay materialised, so fusing only duplicates work;
    - reductions as producers (RMSNorm/LayerNorm statistics): upstream
      elementwise fusion requires an all-parallel producer.
  }];
  let dependentDialects = ["linalg::LinalgDialect", "tensor::TensorDialect"];
  let statistics = [
    Statistic<"numFused", "num-fused", "Producer generics fused into their consumer">
  ];
}

#endif // TFM_DIALECT_TFM_TRANSFORMS_PASSES_TD
