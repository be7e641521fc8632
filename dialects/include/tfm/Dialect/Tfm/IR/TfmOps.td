//===- TfmOps.td - Operations of the tfm dialect -----------*- tablegen -*-===//
//
// Shapes: T is the number of tokens of the call (dynamic in prefill), S the
// number of cached positions attended to, H heads, KV key/value heads, hd the
// head dimension, D the model dimension.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_DIALECT_TFM_IR_TFMOPS_TD
#define TFM_DIALECT_TFM_IR_TFMOPS_TD

include "tfm/Dialect/Tfm/IR/TfmDialect.td"
include "tfm/Dialect/Tfm/IR/TfmAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/IR/CommonAttrConstraints.td"

// Ranked: every lowering reads the shape (an unranked tensor crashed it).
def Tfm_F32Tensor : RankedTensorOf<[F32]>;
// At least one dimension: softmax reduces the last one.
def Tfm_F32TensorNonScalar : TensorRankOf<[F32], [1, 2, 3, 4]>;
def Tfm_F32Tensor1D : 1DTensorOf<[F32]>;
def Tfm_F32Tensor2D : 2DTensorOf<[F32]>;
def Tfm_F32Tensor3D : 3DTensorOf<[F32]>;
def Tfm_TokenTensor : 1DTensorOf<[I32]>;
// One layer's cache: [2 (keys, values), KV, context, hd].
def Tfm_KVCacheMemRef : MemRefRankOf<[F32], [4]>;

//===----------------------------------------------------------------------===//
// Weights and embeddings
//===----------------------------------------------------------------------===//

def Tfm_WeightOp : Tfm_Op<"weight", [Pure]> {
  let summary = "a named model weight";
  let description = [{
    Refers to one weight of the model by its canonical name; in a block
    function, which computes any layer, by its template. The weights are
    packed into one blob at compile time; the lowering turns this op into a
    view of the function's `{tfm.weights}` argument (the blob, or one
    layer's part of it) at the offset recorded in the nearest
    `tfm.weight_offsets` dictionary (the function's, else the module's), so
    weights never appear in the IR.

    ```mlir
    %w = tfm.weight "layers.{i}.wq.weight" : tensor<64x64xf32>
    ```

    `packed P` (set by `tfm-pack-weights`) records that the blob stores the
    `[N, K]` weight in column tiles: `[N/P][K][P]`, element `(n, k)` at
    `((n / P) * K + k) * P + n % P`, then the last `R = N mod P` rows as one
    `[K][R]` tile (element `(n, k)` at `(N - R) * K + k * R + n - (N - R)`).
    The value is still the `[N, K]` matrix;
    only its storage changes, and the weights writer and the lowering of the
    weight's users follow it. A generated kernel reads one contiguous
    P-float vector per `k`.

    ```mlir
    %w = tfm.weight "layers.{i}.wq.weight" packed 16 : tensor<64x64xf32>
    ```

    `encoding q8_0` records that the blob stores the weight in GGUF's
    q8_0 blocks (a scale and 32 int8 values per 32 consecutive elements of
    a row, value = scale * int8) as two arrays: the f16 scales
    `[N, K/32]`, then, at the next multiple of 64 bytes, the int8 values
    `[N, K]`, each in the order above with K/32 (resp. K) for K, so
    unpacked (P = 1) is row-major. The value is still the dequantized f32
    matrix: the lowering of each user dequantizes (a generated linear layer
    in registers).

    ```mlir
    %w = tfm.weight "layers.{i}.wq.weight" encoding q8_0 packed 16 : tensor<64x64xf32>
    ```

    `quads` (set by `tfm-pack-weights` where integer dot products read the
    weight) records that the full tiles of the int8 values array hold each
    column's 4 consecutive values together: `[N/P][K'/4][P][4]` (K' = the
    values along a row), element `(n, k)` at `((n / P) * K' + k - k mod 4)
    * P + (n mod P) * 4 + k mod 4`: the lanes of 4 k per column that
    `vpmaddubsw` / `vpdpbusd` take, so a dot step loads them as stored. The
    tail tile keeps `[K'][R]`.

    ```mlir
    %w = tfm.weight "layers.{i}.wq.weight" encoding q4_0 packed 8 quads : tensor<64x64xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name,
                   OptionalAttr<Tfm_WeightEncodingAttr>:$encoding,
                   OptionalAttr<I64Attr>:$packed,
                   UnitAttr:$quads);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = [{
    $name (`encoding` `` $encoding^)? (`packed` $packed^)? (`quads` $quads^)? attr-dict `:` type($result)
  }];
  let builders = [
    OpBuilder<(ins "Type":$result, "StringRef":$name), [{
      build($_builder, $_state, result, $_builder.getStringAttr(name),
            WeightEncodingAttr(), IntegerAttr(), UnitAttr());
    }]>
  ];
  let hasVerifier = 1;
}

def Tfm_EmbeddingOp : Tfm_Op<"embedding", [Pure]> {
  let summary = "token embedding lookup";
  let description = [{
    Row `ids[t]` of the `[V, D]` table for each of the T tokens. Ids outside
    `[0, V)` are clamped by the lowering (the runtime validates them).

    ```mlir
    %x = tfm.embedding %table, %ids : (tensor<512x64xf32>, tensor<?xi32>) -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins Tfm_F32Tensor2D:$table, Tfm_TokenTensor:$ids);
  let results = (outs Tfm_F32Tensor2D:$result);
  let assemblyFormat = "$table `,` $ids attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Tfm_PositionalOp : Tfm_Op<"positional", [Pure]> {
  let summary = "absolute positional encoding added to the embeddings";
  let description = [{
    Adds the encoding of positions `pos .. pos+T-1` to `x` ([T, D]).
    `sinusoidal` is Vaswani et al.'s `PE[p, 2i] = sin(p / 10000^(2i/D))`,
    `PE[p, 2i+1] = cos(p / 10000^(2i/D))` and takes no table; `learned` adds
    rows of the `[context, D]` table.

    ```mlir
    %y = tfm.positional sinusoidal %x, %pos : (tensor<?x64xf32>, index) -> tensor<?x64xf32>
    %z = tfm.positional learned %x, %pos, %table : (tensor<?x64xf32>, index, tensor<128x64xf32>) -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins Tfm_PositionalKindAttr:$kind, Tfm_F32Tensor2D:$input,
                   Index:$pos, Optional<Tfm_F32Tensor2D>:$table);
  let results = (outs Tfm_F32Tensor2D:$result);
  let assemblyFormat = [{
    $kind $input `,` $pos (`,` $table^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Tfm_RopeOp : Tfm_Op<"rope", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "rotary position embedding";
  let description = [{
    Rotates pairs of elements of each head vector of `x` ([H, T, hd]) by the
    angle `(pos + t) * theta^(-2j/hd)` for pair j. `interleaved` pairs are
    `(x[2j], x[2j+1])` (llama2.c, GGUF); `half` pairs are `(x[j], x[j+hd/2])`
    (Hugging Face Llama).

    ```mlir
    %q2 = tfm.rope %q, %pos {theta = 10000.0 : f32, style = #tfm<rope_style interleaved>} : tensor<8x?x8xf32>
    ```
  }];
  let arguments = (ins Tfm_F32Tensor3D:$input, Index:$pos, F32Attr:$theta,
                   Tfm_RopeStyleAttr:$style);
  let results = (outs Tfm_F32Tensor3D:$result);
  let assemblyFormat = "$input `,` $pos attr-dict `:` type($input)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Norms, linear layers, elementwise
//===----------------------------------------------------------------------===//

def Tfm_LayerNormOp : Tfm_Op<"layer_norm", [Pure]> {
  let summary = "layer normalisation over the last dimension";
  let description = [{
    `(x - mean) / sqrt(var + eps) * weight + bias` per row of `x` ([T, D]),
    with the biased variance.

    ```mlir
    %y = tfm.layer_norm %x, %w, %b {eps = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins Tfm_F32Tensor2D:$input, Tfm_F32Tensor1D:$weight,
                   Tfm_F32Tensor1D:$bias, F32Attr:$eps);
  let results = (outs Tfm_F32Tensor2D:$result);
  let assemblyFormat = "$input `,` $weight `,` $bias attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Tfm_RMSNormOp : Tfm_Op<"rms_norm", [Pure]> {
  let summary = "root-mean-square normalisation over the last dimension";
  let description = [{
    `x / sqrt(mean(x^2) + eps) * weight` per row of `x` ([T, D]).

    ```mlir
    %y = tfm.rms_norm %x, %w {eps = 1.0e-05 : f32} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins Tfm_F32Tensor2D:$input, Tfm_F32Tensor1D:$weight, F32Attr:$eps);
  let results = (outs Tfm_F32Tensor2D:$result);
  let assemblyFormat = "$input `,` $weight attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Tfm_LinearOp : Tfm_Op<"linear", [Pure]> {
  let summary = "x W^T (+ b), torch.nn.Linear";
  let description = [{
    `x` is [T, K], `weight` is [N, K] (out, in), the optional `bias` is [N];
    the result is [T, N].

    ```mlir
    %y = tfm.linear %x, %w, %b : (tensor<?x64xf32>, tensor<128x64xf32>, tensor<128xf32>) -> tensor<?x128xf32>
    ```
  }];
  let arguments = (ins Tfm_F32Tensor2D:$input, Tfm_F32Tensor2D:$weight,
                   Optional<Tfm_F32Tensor1D>:$bias);
  let results = (outs Tfm_F32Tensor2D:$result);
  let assemblyFormat = "$input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Tfm_LMHeadOp : Tfm_Op<"lm_head", [Pure]> {
  let summary = "final projection to vocabulary logits";
  let description = [{
    `x` ([T, D]) times the transposed `[V, D]` matrix (the token embedding
    when the head is tied), giving logits [T, V].

    ```mlir
    %logits = tfm.lm_head %x, %emb : (tensor<?x64xf32>, tensor<512x64xf32>) -> tensor<?x512xf32>
    ```
  }];
  let arguments = (ins Tfm_F32Tensor2D:$input, Tfm_F32Tensor2D:$weight);
  let results = (outs Tfm_F32Tensor2D:$result);
  let assemblyFormat = "$input `,` $weight attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Tfm_MatmulOp : Tfm_Op<"matmul", [Pure]> {
  let summary = "batched matrix product over heads, with head sharing";
  let description = [{
    `lhs` is [B, M, K]; `rhs` is [B', K, N], or [B', N, K] with
    `transpose_rhs`. B' must divide B: batch b uses rhs batch `b / (B / B')`,
    which is how grouped-query attention shares key/value heads. The result
    is [B, M, N].

    ```mlir
    %s = tfm.matmul %q, %k {transpose_rhs} : (tensor<8x?x8xf32>, tensor<4x?x8xf32>) -> tensor<8x?x?xf32>
    ```
  }];
  let arguments = (ins Tfm_F32Tensor3D:$lhs, Tfm_F32Tensor3D:$rhs, UnitAttr:$transpose_rhs);
  let results = (outs Tfm_F32Tensor3D:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Tfm_ScaleOp : Tfm_Op<"scale", [Pure, SameOperandsAndResultType]> {
  let summary = "multiplication by a constant";
  let description = [{
    Multiplies every element by `factor`, e.g. 1/sqrt(d_k) on attention scores.

    ```mlir
    %y = tfm.scale %x {factor = 0.353553385 : f32} : tensor<8x?x?xf32>
    ```
  }];
  let arguments = (ins Tfm_F32Tensor:$input, F32Attr:$factor);
  let results = (outs Tfm_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Tfm_CausalMaskOp : Tfm_Op<"causal_mask", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "hide future keys from each query";
  let description = [{
    On scores [H, T, S] for queries at positions `pos + t`, sets the score of
    every key `s > pos + t` to -infinity.

    ```mlir
    %m = tfm.causal_mask %s, %pos : tensor<8x?x?xf32>
    ```
  }];
  let arguments = (ins Tfm_F32Tensor3D:$input, Index:$pos);
  let results = (outs Tfm_F32Tensor3D:$result);
  let assemblyFormat = "$input `,` $pos attr-dict `:` type($input)";
}

def Tfm_AlibiOp : Tfm_Op<"alibi", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "ALiBi linear attention bias, with causal masking";
  let description = [{
    On scores [H, T, S] adds `-m_h * (pos + t - s)` with the ALiBi slopes
    `m_h` of H heads (Press et al.), and masks keys `s > pos + t` to -infinity
    as `tfm.causal_mask` does.

    ```mlir
    %b = tfm.alibi %s, %pos : tensor<8x?x?xf32>
    ```
  }];
  let arguments = (ins Tfm_F32Tensor3D:$input, Index:$pos);
  let results = (outs Tfm_F32Tensor3D:$result);
  let assemblyFormat = "$input `,` $pos attr-dict `:` type($input)";
}

def Tfm_SoftmaxOp : Tfm_Op<"softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "numerically stable softmax over the last dimension";
  let description = [{
    `exp(x - max(x)) / sum(exp(x - max(x)))` along the last dimension; the
    maximum is subtracted so large scores cannot overflow.

    ```mlir
    %p = tfm.softmax %s : tensor<8x?x?xf32>
    ```
  }];
  let arguments = (ins Tfm_F32TensorNonScalar:$input);
  let results = (outs Tfm_F32TensorNonScalar:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

class Tfm_UnaryOp<string mnemonic, string sum, string desc>
    : Tfm_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
  let summary = sum;
  let description = desc;
  let arguments = (ins Tfm_F32Tensor:$input);
  let results = (outs Tfm_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Tfm_ReluOp : Tfm_UnaryOp<"relu", "max(x, 0)", [{
    The rectified linear unit of the original Transformer's FFN.

    ```mlir
    %y = tfm.relu %x : tensor<?x256xf32>
    ```
  }]>;

def Tfm_SiluOp : Tfm_UnaryOp<"silu", "x * sigmoid(x)", [{
    SiLU (swish), the gate activation of SwiGLU.

    ```mlir
    %y = tfm.silu %x : tensor<?x172xf32>
    ```
  }]>;

def Tfm_GeluOp : Tfm_Op<"gelu", [Pure, SameOperandsAndResultType]> {
  let summary = "Gaussian error linear unit";
  let description = [{
    `x * Phi(x)`: exact with the error function (`none`), or GPT-2's
    `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))` (`tanh`).

    ```mlir
    %y = tfm.gelu %x {approximation = #tfm<gelu_approximation tanh>} : tensor<?x256xf32>
    ```
  }];
  let arguments = (ins Tfm_F32Tensor:$input, Tfm_GeluApproximationAttr:$approximation);
  let results = (outs Tfm_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Tfm_AddOp : Tfm_Op<"add", [Pure, Commutative, SameOperandsAndResultType]> {
  let summary = "elementwise sum, e.g. a residual connection";
  let description = [{
    ```mlir
    %y = tfm.add %x, %r : tensor<?x64xf32>
    ```
  }];
  let arguments = (ins Tfm_F32Tensor:$lhs, Tfm_F32Tensor:$rhs);
  let results = (outs Tfm_F32Tensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def Tfm_MulOp : Tfm_Op<"mul", [Pure, Commutative, SameOperandsAndResultType]> {
  let summary = "elementwise product, e.g. the SwiGLU gate";
  let description = [{
    ```mlir
    %y = tfm.mul %g, %u : tensor<?x172xf32>
    ```
  }];
  let arguments = (ins Tfm_F32Tensor:$lhs, Tfm_F32Tensor:$rhs);
  let results = (outs Tfm_F32Tensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Heads and the KV cache
//===----------------------------------------------------------------------===//

def Tfm_SplitHeadsOp : Tfm_Op<"split_heads", [Pure]> {
  let summary = "[T, H*hd] -> [H, T, hd]";
  let description = [{
    Views each row as H head vectors of hd elements and moves heads to the
    front, so attention is a batched matmul over heads.

    ```mlir
    %q = tfm.split_heads %x : (tensor<?x64xf32>) -> tensor<8x?x8xf32>
    ```
  }];
  let arguments = (ins Tfm_F32Tensor2D:$input);
  let results = (outs Tfm_F32Tensor3D:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Tfm_MergeHeadsOp : Tfm_Op<"merge_heads", [Pure]> {
  let summary = "[H, T, hd] -> [T, H*hd]";
  let description = [{
    The inverse of `tfm.split_heads`.

    ```mlir
    %x = tfm.merge_heads %o : (tensor<8x?x8xf32>) -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins Tfm_F32Tensor3D:$input);
  let results = (outs Tfm_F32Tensor2D:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Tfm_KVCacheAppendOp : Tfm_Op<"kv_cache_append"> {
  let summary = "store new keys or values in a layer's KV cache";
  let description = [{
    Writes `value` ([KV, T, hd]) into positions `pos .. pos+T-1` of the key
    or value half of one layer's cache, a memref [2, KV, context, hd] owned
    by the runtime (a view of the layer's slice of the whole cache, so any
    strided layout is accepted).

    ```mlir
    tfm.kv_cache_append %k into %cache[key] at %pos : tensor<4x?x8xf32>, memref<2x4x512x8xf32>
    ```
  }];
  let arguments = (ins Tfm_F32Tensor3D:$value,
                   Arg<Tfm_KVCacheMemRef, "the layer's cache", [MemWrite]>:$cache,
                   Tfm_CacheKindAttr:$kind, Index:$pos);
  let assemblyFormat = [{
    $value `into` $cache `[` $kind `]` `at` $pos attr-dict `:` type($value) `,` type($cache)
  }];
  let hasVerifier = 1;
}

def Tfm_KVCacheReadOp : Tfm_Op<"kv_cache_read"> {
  let summary = "read the first positions of a layer's KV cache";
  let description = [{
    Returns positions `0 .. length-1` of the key or value half of one
    layer's cache as [KV, length, hd].

    ```mlir
    %k = tfm.kv_cache_read %cache[key], %len : memref<2x4x512x8xf32> -> tensor<4x?x8xf32>
    ```
  }];
  let arguments = (ins Arg<Tfm_KVCacheMemRef, "the layer's cache", [MemRead]>:$cache,
                   Tfm_CacheKindAttr:$kind, Index:$length);
  let results = (outs Tfm_F32Tensor3D:$result);
  let assemblyFormat = [{
    $cache `[` $kind `]` `,` $length attr-dict `:` type($cache) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Fused attention
//===----------------------------------------------------------------------===//

def Tfm_FusedAttentionOp : Tfm_Op<"fused_attention", [Pure]> {
  let summary = "softmax(scale * Q K^T + mask) V in one kernel";
  let description = [{
    What `tfm-fuse-attention` makes of the chain matmul -> scale ->
    causal_mask | alibi -> softmax -> matmul. `query` is [H, T, hd] at
    positions `pos .. pos+T-1`; `key` and `value` are [KV, S, hd] with KV
    dividing H (query head h reads key/value head h / (H / KV)). With
    `causal` (or `alibi`) query row t sees keys `0 .. pos+t`; without, every
    one of the S keys. Lowered to an
    online softmax over key blocks that never materialises the T x S scores.

    ```mlir
    %o = tfm.fused_attention %q, %k, %v, %pos {scale = 0.353553385 : f32, causal} : (tensor<8x?x8xf32>, tensor<4x?x8xf32>, tensor<4x?x8xf32>, index) -> tensor<8x?x8xf32>
    ```
  }];
  let arguments = (ins Tfm_F32Tensor3D:$query, Tfm_F32Tensor3D:$key, Tfm_F32Tensor3D:$value,
                   Index:$pos, F32Attr:$scale, UnitAttr:$causal, UnitAttr:$alibi);
  let results = (outs Tfm_F32Tensor3D:$result);
  let assemblyFormat = "$query `,` $key `,` $value `,` $pos attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

#endif // TFM_DIALECT_TFM_IR_TFMOPS_TD
