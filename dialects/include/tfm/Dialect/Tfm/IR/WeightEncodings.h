//===- WeightEncodings.h - The MLIR half of the encodings table -*- C++ -*-===//
//
// Per row of the encodings table (tfm/Formats/Encodings.h): how the values
// of an encoded weight are computed from its component arrays, as scalars
// (the body of tfm-to-linalg's packed contraction, a table's lookup) or as
// P-lane vectors (the body tfm-generate-kernels emits), by one emitter.
//
// The emitter works per block: `block` turns the block's per-block
// components (scales, ...) into the values every element of the block uses
// (q8_0: the scale as f32), `element` then computes one element from the
// per-step components and those. A generated kernel runs `block` once per
// block and `element` per element; the scalar body runs both per element.
// Element j of a block (its position, 0 <= j < B) is in part j / (B / parts)
// of the block: a kernel step loads the per-step components once and
// computes `parts` elements from them (q4_0: the low and the high nibbles
// of one byte).
//
// B here is the kernel's block, which for the K-quants is a sub-block (32
// values; q6_K: 16) of the format's 256-value block: their sub-block
// scales are per kernel block and d, dmin per 256 / B kernel blocks.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_DIALECT_TFM_IR_WEIGHTENCODINGS_H
#define TFM_DIALECT_TFM_IR_WEIGHTENCODINGS_H

#include "tfm/Dialect/Tfm/IR/TfmOps.h"
#include "tfm/Formats/Encodings.h"

#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/Builders.h"

namespace mlir::tfm {

namespace formats = ::tfm::formats;

/// Where an emitter builds: scalars (`f32` is f32) or vectors of P lanes
/// (`f32` is vector<Pxf32>).
struct DequantBuilder {
  OpBuilder &b;
  Location loc;
  Type f32;
  /// `element`, or a vector of it with f32's lanes.
  Type like(Type element) const;
  /// An integer or float constant of like(element), splat over the lanes.
  Value constant(Type element, double value) const;
};

struct WeightEncodingInfo {
  WeightEncoding encoding;
  /// Elements a kernel step computes from one load of the per-step
  /// components (see the file comment).
  int64_t parts;
  /// Whether `element` reads its position (else pos and part are null).
  bool usesPosition;
  /// The values `element` takes as blockValues; `components` holds the
  /// per-block ones (the per-step ones are null).
  SmallVector<Value> (*block)(const DequantBuilder &, ValueRange components);
  /// Element `pos` (index, in part `part`) of the block, as f32.
  Value (*element)(const DequantBuilder &, ValueRange components,
                   ValueRange blockValues, Value pos, Value part);
  /// The runtime's scheduler for the generated bodies (Kernels.h).
  StringRef scheduler;
  /// Values per kernel block (see the file comment; 0: the format's
  /// blockSize).
  int64_t subBlock = 0;
};

/// Values per kernel block of `e` (B in the file comment).
int64_t kernelBlock(WeightEncoding e);

const WeightEncodingInfo &weightEncodingInfo(WeightEncoding e);
const formats::EncodingInfo &formatInfo(WeightEncoding e);

/// The element type of a component array.
Type componentType(MLIRContext *ctx, formats::ElementKind kind);

/// True when component `c` is loaded per step (per element position) rather
/// than once per kernel block.
bool isPerStep(WeightEncoding e, unsigned c);

/// The index along a component array's K axis ([K/B * perBlock]) of the
/// element holding k.
AffineExpr componentIndex(WeightEncoding e, unsigned c, AffineExpr k);

/// Where element (n1, k, n0) of a packed weight's tiles is in component
/// `c`'s array: (n1, componentIndex(k), n0) (k itself without an encoding),
/// or for the values (c = 0) of full tiles in quads (tfm.weight `quads`)
/// (n1, componentIndex(k) floordiv 4, n0, componentIndex(k) mod 4). What
/// tfm-to-linalg's contractions read and tfm-generate-kernels matches.
SmallVector<AffineExpr, 4> tileIndices(std::optional<WeightEncoding> e,
                                       unsigned c, bool quads, AffineExpr n1,
                                       AffineExpr k, AffineExpr n0);

/// componentIndex for an index value `k`, in arith ops.
Value componentIndexValue(OpBuilder &b, Location loc, WeightEncoding e,
                          unsigned c, Value k);

/// The dequantized f32 value of an element at column `k` (index, only
/// built when the encoding uses positions) from the component values.
Value dequantize(OpBuilder &b, Location loc, WeightEncoding e,
                 ValueRange components, llvm::function_ref<Value()> k);

/// The packed contraction's body (tfm-to-linalg builds it, and
/// tfm-generate-kernels matches it against one built afresh): acc + x * w
/// for args (x, the weight's components or its f32 element, acc), w the
/// element or dequantize() of the components.
Value contractionStep(OpBuilder &b, Location loc,
                      std::optional<WeightEncoding> e, ValueRange args,
                      llvm::function_ref<Value()> k);

} // namespace mlir::tfm

#endif // TFM_DIALECT_TFM_IR_WEIGHTENCODINGS_H
