//===- GraphBuilder.h - ModelSpec -> tfm dialect --------------------------===//
//
// The one graph builder: every frontend produces a ModelSpec, and this turns
// it into a module with the two entry points the runtime calls (see
// runtime/include/tfm/runtime/ModelAbi.h):
//
//   func.func @tfm_prefill(%weights: memref<Bxi8>, %tokens: tensor<?xi32>,
//                          %pos: index, %kv: memref<Nxf32>,
//                          %logits: memref<?xVxf32>)
//   func.func @tfm_decode (... %tokens: tensor<1xi32> ... memref<1xVxf32>)
//
// Each entry point embeds the tokens, runs an scf.for over the layers that
// calls one private block function per kind of call (and storage signature:
// see below),
//
//   func.func private @tfm_block_prefill(%x: tensor<?xDxf32>,
//       %weights: memref<Sxi8>,   // the layer's weights, S = layer stride
//       %cache: memref<2xKVxCxhdxf32, strided<...>>,  // the layer's cache
//       %pos: index) -> tensor<?xDxf32>
//   (and @tfm_block_decode with T = 1)
//
// With probes (tfmc --probes=attention), a third entry point,
// @tfm_probe_attention, is prefill with one more output (see Probes).
//
// with views of the weights blob at layer l's offset and of the cache at
// layer l, then applies the final norm and the LM head. So the code of a
// block exists once whatever the depth. Layers whose weights are stored
// differently (WeightsLayout::signatures: Q4_K_M's q6_K layers) get their own
// block function, @tfm_block_<kind>_<s>; the loop then reads layer l's offset
// and signature from the constant table @tfm_layers (memref<L x 2 x i64>) and
// calls the signature's function through a chain of scf.if. Block functions
// name their weights by template ("layers.{i}.wq.weight") in their own
// tfm.weight_offsets, relative to the layer.
//
// Op locations: every op carries the location of the spec's key it comes
// from, named after the weight or part it computes: from a description,
// `"layers.{i}.wq"("model.tfm":12:5)` (the `attention` key's line); from a
// checkpoint, `"layers.{i}.wq"("model.bin")`. So --mlir-print-debuginfo and
// every verifier or lowering error point at the user's source.
//
// Attention is emitted unfused (matmul, scale, mask, softmax, matmul) so that
// tfm-fuse-attention has real work to do.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FRONTEND_GRAPHBUILDER_H
#define TFM_FRONTEND_GRAPHBUILDER_H

#include "tfm/Frontend/ModelSpec.h"
#include "tfm/Frontend/Weights.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <cstdint>

namespace tfm {

/// Default of tfmc --prefill-chunk: prompts are evaluated in calls of at
/// most this many tokens, and prefill's activation memory is sized for it.
/// Large enough for the GEMM kernel to run at full speed; 256 rows of a
/// 14336-wide FFN are 14 MiB.
constexpr int64_t kDefaultPrefillChunk = 256;

/// The most tokens one prefill call takes: `prefillChunk`, at most the
/// context length (TfmModelInfo::prefill_chunk).
int64_t prefillTokens(const ModelSpec &spec, int64_t prefillChunk);

/// Extra entry points that expose what the production ones compute without
/// keeping (tfmc --probes). None by default: a model compiled without probes
/// has no trace of them.
struct Probes {
  /// `@tfm_probe_attention`: prefill that also writes every layer's
  /// attention probabilities into one more argument,
  ///   %attention: memref<L x H x T x (pos + T) x f32, strided<[?, ?, ?, 1]>>
  /// from its own block function, `@tfm_block_probe_attention`, whose
  /// attention stays unfused (the softmax is materialised into the probe).
  bool attention = false;
};

/// The attention probe's entry point (TfmModelInfo::probe_attention).
constexpr const char *kAttentionProbeName = "tfm_probe_attention";

/// Builds the tfm-dialect module of `spec`. The names and entry-point
/// signatures are the runtime ABI; `layout` is recorded for the lowering of
/// tfm.weight: the weights outside the layers in the module attribute
/// `tfm.weight_offsets`, the layer weights in that of the block functions.
/// Prefill's token count is bounded by prefillTokens(spec, prefillChunk)
/// (attribute `tfm.max_tokens`, for tfm-plan-memory); so is the probe's.
mlir::OwningOpRef<mlir::ModuleOp>
buildGraph(mlir::MLIRContext &ctx, const ModelSpec &spec,
           const WeightsLayout &layout,
           int64_t prefillChunk = kDefaultPrefillChunk, Probes probes = {});

} // namespace tfm

#endif // TFM_FRONTEND_GRAPHBUILDER_H
