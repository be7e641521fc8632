//===- Weights.h - Resolving, checking and packing a model's weights ------===//
//
// The weights blob holds every weight of expectedWeights(spec), in that order,
// as little-endian f32 row-major with canonical shapes ([out, in] for linear
// weights), each starting at a multiple of kWeightAlignment bytes from the
// start of the blob; a weight stored in another precision (WeightStorage) has
// its own bytes. Every layer has the same weights, each layer starts aligned,
// and layers whose weights have the same storages (a LayerSignature) have the
// same relative offsets and size. The graph builder references weights by
// their offset in this layout (weightsLayout), which needs no checkpoint
// data.
//
// A sidecar file (tfmc --weights=mmap) is the blob followed by the 64-byte
// TfmWeightsTrailer of ModelAbi.h (writeWeightsTrailer): magic, blob size,
// specId(spec) and the weights id writeWeightsBlob returns, which the
// runtime compares with the ids compiled into the model.
//
// Checkpoint weights are found through spec.weights.bindings: the stored
// tensor is first split (part splitIndex of splitCount along splitAxis), then
// transposed (2-D only), and must then have the canonical shape.
//
// CheckpointFormat::Random generates weights from spec.weights.seed, per
// weight, independent of order and of the other weights:
//   state = seed XOR fnv1a64(concrete name)     (FNV-1a, 64-bit, over bytes)
//   for each element k in row-major order:
//     state += 0x9e3779b97f4a7c15; z = state;           (SplitMix64.h)
//     z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
//     z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
//     z ^= z >> 31;
//     r = float((z >> 40) * 2^-24) * 2 - 1              (in [-1, 1))
//   value = 1 + 0.1 * r        for names ending in "norm.weight"
//           0.1 * r            for names ending in ".bias"
//           r                  for tok_embeddings / pos_embeddings
//           r / sqrt(shape[1]) for every other (linear) weight.
// (The arithmetic is float32: r computed as above, then the formula.)
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FRONTEND_WEIGHTS_H
#define TFM_FRONTEND_WEIGHTS_H

#include "tfm/Formats/Checkpoint.h"
#include "tfm/Frontend/ModelSpec.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace tfm {

/// Every weight starts at a multiple of this many bytes in the blob.
constexpr uint64_t kWeightAlignment = 64;

/// The layers whose weights have the same storage, weight by weight: one
/// compiled block function serves them all, so the code grows with the
/// number of signatures, never with the depth.
struct LayerSignature {
  /// Of the layer's weights, in expectedWeights order.
  std::vector<WeightStorage> storage;
  /// Byte offset of each from the layer's first weight (the block function's
  /// tfm.weight_offsets).
  std::vector<uint64_t> offsets;
  uint64_t stride = 0; ///< The layer's bytes, a multiple of kWeightAlignment.
};

struct WeightsLayout {
  std::vector<WeightDecl> weights;    ///< expectedWeights(spec).
  std::vector<WeightStorage> storage; ///< Of each (spec.weights.storage).
  std::vector<uint64_t> offsets;      ///< Byte offset of each, in the blob.
  uint64_t totalSize = 0;             ///< Bytes, including trailing padding.
  /// Layer l's weights lie in [layerOffsets[l], + signatures[s].stride) for
  /// s = layerSignature[l], in the same order at the signature's relative
  /// offsets, and no other weight lies in a layer's range: the compiled block
  /// of signature s reads layer l as a view of the blob at layerOffsets[l].
  /// Layers follow each other in order; signatures are numbered in the order
  /// of their first layer (layer 0 has signature 0).
  std::vector<LayerSignature> signatures;
  std::vector<uint64_t> layerOffsets;
  std::vector<uint32_t> layerSignature;
};

/// The layer index of a weight (from its name and template), or -1 for the
/// weights outside the layers.
int64_t layerOf(const WeightDecl &decl);

/// The bytes a weight of `shape` takes in the blob when stored as
/// `storage` (whatever its packing).
uint64_t storedBytes(WeightStorage storage, llvm::ArrayRef<int64_t> shape);

/// The census of `layout`'s weights (WeightsCensus, ModelSpec.h).
WeightsCensus weightsCensus(const WeightsLayout &layout);

/// tfmc --quantize: the storage weights of other types are quantized to.
/// (The 2-D weights; for Q4_0 the output layer, or the embedding table of a
/// tied head, q8_0 as llama-quantize does for rows not made of 256-value
/// super-blocks; for Q4_K it is chooseWeightStorage's `output`.)
enum class Quantize { None, Q8_0, Q4_0, F16, BF16, Q4_K };

/// Chooses how the blob stores each weight (spec.weights.storage), each
/// layer's on its own: an
/// encoding E of the table (tfm/Formats/Encodings.h) when the weight is 2-D
/// with a multiple of E's block size of columns and it is either a tensor of
/// type E in `ckpt`, neither split nor transposed (its blocks are then copied
/// as they are), or, with --quantize=E, any other tensor or a random weight
/// (quantized by E's reference quantizer, Encodings.h); f32 otherwise. `ckpt`
/// is null for random weights. With Quantize::Q4_K the LM head (the
/// embedding table when tied) is `output` (llama-quantize's default for
/// Q4_K: q6_K; q4_K as its --pure).
void chooseWeightStorage(ModelSpec &spec, const formats::Checkpoint *ckpt,
                         Quantize quantize = Quantize::None,
                         formats::DType output = formats::DType::Q6_K);

/// The blob layout of `spec` (no file access).
WeightsLayout weightsLayout(const ModelSpec &spec);

/// Checks that every expected weight has a binding, its tensor exists in
/// `ckpt`, and its shape after split/transpose is canonical. Errors name the
/// canonical weight, the source tensor, its byte offset and both shapes.
llvm::Error checkWeights(const ModelSpec &spec,
                         const formats::Checkpoint &ckpt);

/// Opens the checkpoint spec.weights names (once: the caller keeps it for
/// reading the weights) and checks it (checkWeights). Null for
/// CheckpointFormat::Random; an error for CheckpointFormat::None.
llvm::Expected<std::unique_ptr<formats::Checkpoint>>
openWeights(const ModelSpec &spec);

/// Reads one expected weight as canonical f32 into `out` (decl.shape's
/// element count), non-finite values included. `ckpt` may be null for
/// CheckpointFormat::Random.
llvm::Error readWeight(const ModelSpec &spec, const formats::Checkpoint *ckpt,
                       const WeightDecl &decl,
                       llvm::MutableArrayRef<float> out);

/// Fills `out` with the Random weights of `decl` (see the file comment),
/// elements [first, first + out.size()) of it.
void randomWeight(uint64_t seed, const WeightDecl &decl,
                  llvm::MutableArrayRef<float> out, uint64_t first = 0);

/// Called by writeWeightsBlob after each block: bytes written, and of how
/// many.
using WeightsProgress = llvm::function_ref<void(uint64_t done, uint64_t total)>;

/// The model's TfmModelInfo::spec_id: a hash (xxh3, never 0) of what the
/// compiled code assumes about its weights: the description without its
/// name, tokenizer and weights source, the ABI version and the blob size.
uint64_t specId(const ModelSpec &spec);

/// Packed weights (`tfm.weight ... packed P`, set by tfm-pack-weights): the
/// column-tile width P by weight name or template. Such an [N, K] weight is
/// stored as floor(N/P) tiles [K][P], then its last R = N mod P rows as one
/// [K][R] tile (same size, same offset): element (n, k) at
/// ((n / P) * K + k) * P + n % P for n < N - R, else at
/// (N - R) * K + k * R + n - (N - R). With `quads` (tfm.weight's `quads`:
/// int8 values that integer dot products read) the full tiles of an
/// encoded weight's values array hold each column's 4 consecutive values
/// together: element (n, k) of the array (K' along a row) at ((n / P) * K' +
/// k - k % 4) * P + (n % P) * 4 + k % 4; the tail tile is unchanged.
struct WeightTiling {
  WeightTiling(int64_t tile = 0, bool quads = false)
      : tile(tile), quads(quads) {}
  int64_t tile;
  bool quads;
};
using WeightPacking = llvm::StringMap<WeightTiling>;

/// A weight merged by tfm-merge-projections (`tfm.merged` on its
/// tfm.weight): consecutive weights of the layout (`parts`, by template or
/// name, in layout order) stored as one [sum N, K] weight at the first
/// part's offset, in tiles of `tile` rows (0: row-major), up to the next
/// weight's offset. For f32, f16 and bf16 (one array) that is the parts'
/// arrays one after the other, without the padding between them; for an
/// encoding with several components, each component's array holds every
/// part's rows. All but the last part are whole tiles.
struct WeightMerge {
  std::vector<std::string> parts;
  int64_t tile = 0;
  bool quads = false; ///< As WeightTiling's.
};
using WeightMerges = std::vector<WeightMerge>;

/// An encoded weight (storage E other than f32) is written as E's
/// component arrays (tfm/Formats/Encodings.h: q8_0's f16 scales, then its
/// int8 values), each in the order of the tiles (P = 1: row-major) at
/// formats::componentOffset, the file's bytes unchanged. A NaN or infinite
/// scale is an error naming the tensor, the block and its byte offset.
///
/// Writes the blob (weightsLayout(spec)) to `os`: exactly totalSize bytes,
/// in 4 MiB writes, the weights `packing` names (by template or name) in
/// their tiles, the groups of `merges` as one weight each. Weights are
/// converted from `ckpt`'s mapping (null for CheckpointFormat::Random) straight
/// into the block being written and the mapping's pages are released as they
/// are converted, so neither the model nor the checkpoint is ever resident as a
/// whole. Returns the blob's TfmModelInfo::weights_id: a hash (never 0) of its
/// bytes, a chain of the xxh3 digests of its 4 MiB blocks, computed on the way.
/// A NaN or infinity in the checkpoint is an error naming the weight, the
/// tensor and the element (found in the same pass), unless `allowNonFinite`.
llvm::Expected<uint64_t>
writeWeightsBlob(const ModelSpec &spec, const formats::Checkpoint *ckpt,
                 llvm::raw_ostream &os, const WeightPacking &packing = {},
                 const WeightMerges &merges = {}, WeightsProgress progress = {},
                 bool allowNonFinite = false);

/// Writes the 64-byte TfmWeightsTrailer (ModelAbi.h) that ends a sidecar.
void writeWeightsTrailer(llvm::raw_ostream &os, uint64_t weightsBytes,
                         uint64_t specId, uint64_t weightsId);

} // namespace tfm

#endif // TFM_FRONTEND_WEIGHTS_H
