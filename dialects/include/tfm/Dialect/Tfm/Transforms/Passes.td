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

def TfmPackWeightsPass : Pass<"tfm-pack-weights", "mlir::ModuleOp"> {
  let summary = "Store linear-layer weights in the column tiles kernels read";
  let description = [{
    Marks `tfm.weight` ops `packed P` (`P` = the `tile` option, the target's
    f32 vector width: 16 for AVX-512, 8 for AVX2): the weights writer then
    stores the `[N, K]` weight as `[N/P][K][P]` (then the last `N mod P`
    rows as one narrower `[K][N mod P]` tile), and the lowering of its
    users reads that layout, so a generated linear layer loads one
    contiguous P-float vector per `k` and needs no horizontal sums.

    A weight is packed when every `tfm.weight` of its name (the entry points
    and block functions may each name it) is 2-D, is used only as the weight of `tfm.linear` / `tfm.lm_head` or as
    the table of `tfm.embedding` (a tied LM head: the embedding gathers a
    row from the tiles), and at least one use is a linear layer. Anything
    else keeps the row-major layout. The decision is per name because the
    blob stores each weight once.

    With `quads` (the pipeline sets it where every linear layer of an
    encoded weight takes integer dot products of P lanes), a packed weight
    whose values are int8 (q8_0, q4_*, q5_*, the K-quants) and whose
    uses are all linear layers (the LM head's too with `quad-head`) is also
    marked `quads`: its tiles hold each column's 4 consecutive values
    together, as the dot steps take them (no shuffle per load).
  }];
  let options = [
    Option<"tile", "tile", "int64_t", /*default=*/"16",
           "Rows per column tile (the f32 vector width of the target)">,
    Option<"quads", "quads", "bool", /*default=*/"false",
           "Store int8 values of packed linear weights in lanes of 4 k">,
    Option<"quadHead", "quad-head", "bool", /*default=*/"false",
           "With quads, the LM head's weight too">
  ];
  let statistics = [
    Statistic<"numPacked", "num-packed", "Weight names packed">,
    Statistic<"numQuads", "num-quads", "Weight names packed in quads">
  ];
}

def TfmMergeProjectionsPass : Pass<"tfm-merge-projections", "mlir::ModuleOp"> {
  let summary = "One linear layer for the projections that read the same input";
  let description = [{
    Replaces linear layers that read the same input (Q/K/V, a gated FFN's
    w1/w3) by one `tfm.linear` over a merged weight and a
    `tensor.extract_slice` of its result per original layer: one pass over
    the input and one kernel dispatch instead of several, which is most of a
    small model's decode time at two threads.

    A merged weight is the parts' rows one after the other, in blob order,
    named `prefix.a+b+c.suffix` (`layers.{i}.wq+wk+wv.weight`) with the
    parts in `tfm.merged`; it lies at the first part's offset (a new entry in
    the same `tfm.weight_offsets`), and the weights writer stores the parts
    there as one `[sum N, K]` weight (tfmc reads `tfm.merged` back). Parts
    merge when they are consecutive weights in the offsets table (nothing
    else between them), have no bias, the same K, encoding and packing, all
    but the last a whole number of column tiles (so the merged tiles are the
    parts' tiles), and the merged weight fits in the parts' bytes. The
    decision is per name, as for packing: a name merges only if every op of
    it merges into the same group.
  }];
  let dependentDialects = ["tensor::TensorDialect"];
  let statistics = [
    Statistic<"numMerged", "num-merged", "Merged weights (groups)">
  ];
}

#endif // TFM_DIALECT_TFM_TRANSFORMS_PASSES_TD
