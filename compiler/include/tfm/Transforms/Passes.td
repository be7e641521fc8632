//===- Passes.td - Passes on linalg and buffers ------------*- tablegen -*-===//
//
// Passes that rewrite upstream IR (linalg on tensors or buffers) rather
// than the tfm dialect, so they live in the compiler, not the dialect library.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TRANSFORMS_PASSES_TD
#define TFM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def TfmApproximateMathPass : Pass<"tfm-approximate-math", "ModuleOp"> {
  let summary = "Replace libm calls of exp, tanh, erf, ... by polynomials";
  let description = [{
    Upstream's `populateMathPolynomialApproximationPatterns`: `math.exp`,
    `math.tanh`, `math.erf` (and the other functions it knows) become
    arithmetic (range reduction, a polynomial, bit manipulation) instead of
    a call of libm per element, so the loops around them (SiLU, GELU,
    softmax) contain no calls and LLVM can vectorize them. The position
    tables (RoPE, sinusoids) are constants computed by tfm-to-linalg, so no
    `sin`, `cos` or `pow` reaches this pass from tfm. Runs on linalg (any
    level); `convert-math-to-libm` then finds nothing per element.
  }];
  let dependentDialects = ["arith::ArithDialect", "math::MathDialect",
                           "vector::VectorDialect"];
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
      `linalg.transpose`): `tfm-generate-kernels` must still find the zero
      fill in front of a linear layer's contraction after bufferization;
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

def TfmVectorizeElementwisePass : Pass<"tfm-vectorize-elementwise", "func::FuncOp"> {
  let summary = "Tile and vectorize the elementwise and row-reduction linalg ops (norms, activations, residuals, transposes)";
  let description = [{
    Runs on buffers, after the kernel passes and `tfm-plan-memory`, before
    `convert-linalg-to-loops`. Each `linalg.generic` or `linalg.transpose`
    with projected-permutation maps whose innermost loop has a static size S
    (a model dimension: 288, 768, head_dim) and that is not a contraction
    (at most one input when it reduces, and reductions only in the
    innermost loop: RMSNorm's sum of squares, softmax's max and sum) becomes
    an `scf.for` nest over its tiles, every outer loop (T included) by 1 and
    the innermost by a chunk of at most 512 that divides S (S itself if
    none), around a copy of the op on static `memref.subview`s of the tile,
    which `linalg::vectorize` turns into vector code. The vectors are 1-D
    once the unit dimensions are dropped; reductions become
    `vector.reduction` with `reassoc` (a tree, not S dependent scalar
    adds). Without this, `convert-linalg-to-loops` leaves scalar loops that
    LLVM does not vectorize (it cannot bound the descriptors' pointers for
    its alias checks, nor reorder the reductions). On buffers, because
    bufferization has then decided every in-place update (the hidden
    state's residual adds): tiling on tensors would read an in-place op's
    input from the loop's initial value and make it copy.

    An op whose tile the vectorizer refuses (a `memref.load` by computed
    index in the body, as rotary embeddings' table reads) stays tiled and
    scalar. Fills and the matmuls that no kernel pass took become loops as
    before.
  }];
  let dependentDialects = ["arith::ArithDialect", "linalg::LinalgDialect",
                           "memref::MemRefDialect", "scf::SCFDialect",
                           "vector::VectorDialect"];
  let statistics = [
    Statistic<"numVectorized", "num-vectorized", "Linalg ops tiled and vectorized">,
    Statistic<"numScalar", "num-scalar", "Linalg ops tiled but left scalar (refused by the vectorizer)">
  ];
}

def TfmBufferizePass : Pass<"tfm-bufferize", "ModuleOp"> {
  let summary = "One-shot bufferization of the whole module, configured for the runtime ABI";
  let description = [{
    Runs upstream's `one-shot-bufferize` with the configuration tfmc needs,
    which its textual options cannot express (so that `tfmc
    --print-pipeline` prints a pipeline that `tfm-opt` reproduces):
    - function boundaries are bufferized, with identity layouts: entry points
      take plain contiguous buffers (`ModelAbi.h`);
    - copies (the KV-cache appends) move whole rows with `memref.copy`
      (llvm.memcpy) under loops over the other dimensions when the last
      dimension is static and contiguous on both sides, else they are
      `linalg.copy` (plain loops): `memref.copy` of a non-contiguous view
      would need MLIR's C runner library, and a static window copied as one
      scalar loop nest would be unrolled by LLVM into thousands of moves;
      a value already computed in place (empty-tensor elimination) gets no
      copy at all.
  }];
  let dependentDialects = [
    "arith::ArithDialect", "bufferization::BufferizationDialect",
    "linalg::LinalgDialect", "memref::MemRefDialect", "scf::SCFDialect"
  ];
}

def TfmGenerateKernelsPass : Pass<"tfm-generate-kernels", "ModuleOp"> {
  let summary = "Generate vector code for linear layers on packed weights";
  let description = [{
    After bufferization, every linear layer whose weight `tfm-pack-weights`
    packed is a `linalg.generic` contraction
    `out[m, n1 * P + n0] += x[m, k] * w[n1, k, n0]` over `[N/P][K][P]` tiles
    (tfm-to-linalg). This pass compiles each into:

    - an outlined parallel body, a private function
      `(begin, end, out, x, w)` that computes the column tiles
      `[begin, end)` for all rows: loops over register tiles of `rows` x
      `tiles` P-wide accumulators (narrower tiles for the remainders), an
      inner `k` loop that loads one P-float vector per tile, broadcasts
      `x[m, k]` and issues `vector.fma`s, and a store of the accumulators
      (the layer overwrites its output when a zero fill precedes it, which
      goes, and accumulates otherwise); decode (one row) uses `1` x
      `decode-tiles` independent accumulators (`int-dot-decode-tiles` with
      integer dot products), or with `decode-streams`
      (`int-dot-decode-streams`, or more within
      `int-dot-decode-stream-budget`) above 1 that many parts of its column
      tiles, a tile of each per step;
    - a call of the runtime's `tfmrt_parallel_for`, which runs the body on
      the session's thread pool over chunks of the N/P column tiles.

    Bodies are shared by every layer of the same K, P and mode.
  }];
  let options = [
    Option<"rows", "rows", "int64_t", /*default=*/"8",
           "Rows of the prefill register tile">,
    Option<"tiles", "tiles", "int64_t", /*default=*/"2",
           "Column tiles (P wide) of the prefill register tile">,
    Option<"decodeTiles", "decode-tiles", "int64_t", /*default=*/"8",
           "Column tiles (independent accumulators, weight streams) of "
           "one-row layers in float arithmetic">,
    Option<"decodeStreams", "decode-streams", "int64_t", /*default=*/"1",
           "Parts of a one-row float body's column tiles read side by side, "
           "a tile of each at a time (each part one weight stream; the "
           "tiles left after equal parts as decode-tiles says)">,
    Option<"intDotDecodeTiles", "int-dot-decode-tiles", "int64_t",
           /*default=*/"4",
           "Column tiles of one-row layers with integer dot products (each "
           "holds an int32 sum, the block's scales and x's broadcasts too)">,
    Option<"intDotDecodeStreams", "int-dot-decode-streams", "int64_t",
           /*default=*/"1",
           "Parts of a one-row integer body's column tiles read side by "
           "side, a tile of each at a time (each part one weight stream; "
           "the tiles left after equal parts as int-dot-decode-tiles "
           "says)">,
    Option<"intDotDecodeStreamBudget", "int-dot-decode-stream-budget",
           "int64_t", /*default=*/"0",
           "Streams a one-row integer body may read: an encoding whose "
           "weight has A component arrays (q8_0 and q4_0 2, q4_K 5) reads "
           "max(int-dot-decode-streams, budget / A) parts, one stream per "
           "array and part (0: int-dot-decode-streams parts)">,
    Option<"kBlock", "k-block", "int64_t", /*default=*/"256",
           "K block of prefill bodies: a block of the weights (K-block x "
           "tiles x P floats) stays in L1 for every row tile, and the rows' "
           "block of x in L2 for every column tile (0: no blocking)">,
    Option<"nBlock", "n-block", "int64_t", /*default=*/"512",
           "Columns per column block of f32 prefill bodies (rounded up to "
           "whole register tiles): the block's rows of the output stay in "
           "L2 across the K blocks (0: no blocking)">,
    Option<"intDot", "int-dot", "std::string", /*default=*/"\"none\"",
           "q8_0, q4_0, q4_1, q5_0 and q5_1 layers with integer dot "
           "products on this x86 instruction "
           "set (none, ssse3, avx2, avx512bw, avxvnni, avx512vnni; its "
           "lanes must be P): activations quantized to int8 per block of "
           "32 before the call, int32 sums per block in the body">,
    Option<"intDotDecode", "int-dot-decode", "bool", /*default=*/"true",
           "Integer dot products for one-row (decode) layers">,
    Option<"intDotPrefill", "int-dot-prefill", "bool", /*default=*/"true",
           "Integer dot products for many-row (prefill) layers">,
    Option<"intDotHead", "int-dot-head", "bool", /*default=*/"true",
           "Integer dot products for the LM head's contractions too "
           "(tfm-to-linalg marks them `tfm.lm_head`): false keeps the "
           "logits' last product in f32">,
    Option<"intDotHeadBits", "int-dot-head-bits", "int64_t",
           /*default=*/"8",
           "Bits of the LM head's quantized activations with integer dot "
           "products: 8 (as every other layer) or 16 (int16 per block of "
           "32, pmaddwd / vpdpwssd: the logits' error ~1/256 of int8's)">,
    Option<"intDotRows", "int-dot-rows", "int64_t", /*default=*/"4",
           "Rows of the prefill register tile with integer dot products "
           "(each accumulator has an int32 twin)">
  ];
  let dependentDialects = ["arith::ArithDialect", "func::FuncDialect",
                           "LLVM::LLVMDialect", "math::MathDialect",
                           "memref::MemRefDialect", "scf::SCFDialect",
                           "vector::VectorDialect"];
  let statistics = [
    Statistic<"numGenerated", "num-generated", "Linear layers generated">,
    Statistic<"numBodies", "num-bodies", "Parallel bodies outlined">
  ];
}

def TfmGenerateAttentionPass : Pass<"tfm-generate-attention", "ModuleOp"> {
  let summary = "Generate vector code for fused attention";
  let description = [{
    After bufferization, `tfm.fused_attention` is a call of the attention
    kernel's interface `tfm_attention` on transposed views of head-major
    buffers (tfm-to-linalg). No library defines it: this pass compiles each
    call (static head count, key/value head count and head_dim; constant
    scale and flags; otherwise an error) into:

    - an outlined parallel body, a private function
      `(begin, end, out, q, k, v, pos)` specialised to H, KV, head_dim, the
      scale, causal and ALiBi. Each item is one key/value head and a block of
      `rows` query rows of its H / KV query heads (GQA/MQA heads share the
      key/value reads). Q is scaled by scale * log2(e) once; keys are visited
      in blocks of `block` with a running max and sum (online softmax):
      scores are `head_dim`-wide FMAs and one reduction per key, the
      block's max, `exp2` and sum are `vector-width`-wide, and the output
      accumulates broadcast(p) * V rows with FMAs;
    - for one query row (decode), the keys split into at most `splits`
      ranges of at least `block` keys, each item one (key/value head, range)
      writing its partial (acc, max, sum) state, and a combine after the
      call that rescales the states to the common max;
    - a call of the runtime's `tfmrt_parallel_for4`, which runs the body on
      the session's thread pool.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"8",
           "f32 lanes of the target's vectors">,
    Option<"block", "block", "int64_t", /*default=*/"64",
           "Keys per online-softmax block (a multiple of vector-width)">,
    Option<"rows", "rows", "int64_t", /*default=*/"4",
           "Query rows per parallel item (prefill)">,
    Option<"splits", "splits", "int64_t", /*default=*/"16",
           "Most key ranges of one-row (decode) attention">
  ];
  let dependentDialects = ["arith::ArithDialect", "func::FuncDialect",
                           "math::MathDialect", "memref::MemRefDialect",
                           "scf::SCFDialect", "vector::VectorDialect"];
  let statistics = [
    Statistic<"numGenerated", "num-generated", "Attention calls generated">
  ];
}

def TfmPlanMemoryPass : Pass<"tfm-plan-memory", "func::FuncOp"> {
  let summary = "Place every activation buffer of a function in one arena by liveness";
  let description = [{
    Runs after bufferization and deallocation. Every `memref.alloc` in the
    entry block of a (single-block) function gets a byte offset in one arena:
    its live interval runs from its first to its last use in program order,
    counting uses of every alias (views, casts, subviews, transposes,
    reshapes) and attributing uses inside regions to the enclosing top-level
    op; the `memref.dealloc`s the deallocation pipeline put at the end of the
    function do not count. Offsets come from a greedy best-fit interval
    colouring (largest buffers first, each in the smallest gap that no
    buffer live at the same time occupies).

    Dynamic sizes are bounded in two ways. The token count T of prefill (a
    dimension of a function argument: `memref.dim` of the tokens or logits)
    is bounded by the `max-tokens` option, or else the function's
    `tfm.max_tokens` attribute: the graph builder sets it to the prefill
    chunk, so the arena does not grow with the context. Every other dynamic
    size (the cached length pos + T of unfused attention), and T when there
    is no token bound, is bounded by the `context-length` option, or else
    the function's `tfm.context_length` attribute. The pass inserts one
    `cf.assert` per dynamic size so a larger value aborts instead of
    overlapping buffers.

    Each planned alloc becomes a `memref.view` into one
    `memref.alloc() : memref<Nxi8>` at the top of the function, its
    deallocs are dropped, and the arena is deallocated before the return:
    one allocation per call instead of dozens. Allocs that escape (returned),
    that live in nested regions, whose element size is not a whole number of
    bytes, or that have a non-identity layout or memory space are left alone.
  }];
  let options = [
    Option<"contextLength", "context-length", "int64_t", /*default=*/"0",
           "Bound of dynamic dimensions (0: the function's tfm.context_length)">,
    Option<"maxTokens", "max-tokens", "int64_t", /*default=*/"0",
           "Bound of the token count, a dimension of an argument (0: the "
           "function's tfm.max_tokens; without it, the context length)">,
    Option<"alignment", "alignment", "int64_t", /*default=*/"64",
           "Byte alignment of every buffer in the arena">,
    Option<"print", "print", "bool", /*default=*/"false",
           "Print the plan (buffer, bytes, first/last use, offset) to stdout">
  ];
  let dependentDialects = [
    "arith::ArithDialect", "cf::ControlFlowDialect", "memref::MemRefDialect"
  ];
  let statistics = [
    Statistic<"numPlanned", "num-planned", "Allocations placed in the arena">,
    Statistic<"arenaBytes", "arena-bytes", "Arena bytes (summed over functions)">,
    Statistic<"naiveBytes", "naive-bytes", "Bytes of the planned allocations, summed">
  ];
}

#endif // TFM_TRANSFORMS_PASSES_TD
