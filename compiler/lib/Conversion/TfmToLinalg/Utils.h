//===- Utils.h - Helpers shared by the tfm-to-linalg patterns ---*- C++ -*-===//

#ifndef TFM_LIB_CONVERSION_TFMTOLINALG_UTILS_H
#define TFM_LIB_CONVERSION_TFMTOLINALG_UTILS_H

#include "tfm/Dialect/Tfm/IR/WeightEncodings.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"

#include <functional>

namespace mlir::tfm {

/// The stored tensors of a weight: views of the function's weights argument
/// at the weight's offset. `full` is the [N, K] matrix, or, when the op is
/// `packed P`, its [N/P, K, P] column tiles (empty when N < P); `tail` is the
/// packed weight's last R = N mod P rows as one [1, K, R] tile (empty when P
/// divides N, and for an unpacked weight).
///
/// An encoded weight (`encoding E`, tfm/Formats/Encodings.h) is stored as
/// tiles even when not packed (P = 1): `full` and `tail` then hold one
/// array per component of E, the values first ([N/P, K/B * perBlock, P] and
/// [1, K/B * perBlock, R]); element (n, k) is dequantize() of the
/// components' elements at componentIndex(k) (WeightEncodings.h). With
/// `quads` the values of `full` are [N/P, K'/4, P, 4] (TfmOps.td).
struct StoredWeight {
  llvm::SmallVector<mlir::Value, 4> full, tail;
  int64_t tile = 0; ///< P, 0 for an unpacked f32 weight.
  std::optional<WeightEncoding> encoding;
  bool quads = false;
};

/// Emits an error and fails when the offset or the argument is missing.
mlir::FailureOr<StoredWeight> storedWeight(mlir::OpBuilder &b, WeightOp op);

/// The `packed` tfm.weight defining `v`, or null.
WeightOp packedWeight(mlir::Value v);

/// The body of a linalg.generic: gets the block arguments (inputs then
/// outputs) and returns the value to yield.
using BodyFn = std::function<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                         mlir::ValueRange)>;

/// The dynamic sizes of `v`, as `tensor.empty` wants them.
inline llvm::SmallVector<mlir::Value>
dynamicSizes(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v) {
  llvm::SmallVector<mlir::Value> sizes;
  auto type = llvm::cast<mlir::RankedTensorType>(v.getType());
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      sizes.push_back(b.create<mlir::tensor::DimOp>(loc, v, i));
  return sizes;
}

/// A tensor of `type` filled with `value` (the init of a reduction).
inline mlir::Value filled(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::RankedTensorType type,
                          mlir::ValueRange dynSizes, double value) {
  mlir::Value empty = b.create<mlir::tensor::EmptyOp>(
      loc, type.getShape(), type.getElementType(), dynSizes);
  mlir::Value cst = b.create<mlir::arith::ConstantOp>(
      loc, b.getFloatAttr(type.getElementType(), value));
  return b.create<mlir::linalg::FillOp>(loc, cst, empty).getResult(0);
}

/// An elementwise (all-parallel) linalg.generic over `resultType`; each input
/// is read through its map (identity when `maps` is empty). It writes into
/// `dest` when given (a tensor of `resultType`, never read by the body), else
/// into a new tensor: bufferization reuses dest's buffer when dest is dead
/// afterwards, and otherwise allocates without copying it.
inline mlir::Value elementwise(mlir::OpBuilder &b, mlir::Location loc,
                               mlir::RankedTensorType resultType,
                               mlir::ValueRange dynSizes,
                               mlir::ValueRange inputs, const BodyFn &body,
                               llvm::ArrayRef<mlir::AffineMap> maps = {},
                               mlir::Value dest = nullptr) {
  unsigned rank = resultType.getRank();
  mlir::Value init = dest ? dest
                          : b.create<mlir::tensor::EmptyOp>(
                                 loc, resultType.getShape(),
                                 resultType.getElementType(), dynSizes)
                                .getResult();
  llvm::SmallVector<mlir::AffineMap> allMaps(maps.begin(), maps.end());
  if (allMaps.empty())
    allMaps.assign(inputs.size(), b.getMultiDimIdentityMap(rank));
  allMaps.push_back(b.getMultiDimIdentityMap(rank));
  llvm::SmallVector<mlir::utils::IteratorType> iters(
      rank, mlir::utils::IteratorType::parallel);
  auto generic = b.create<mlir::linalg::GenericOp>(
      loc, resultType, inputs, init, allMaps, iters,
      [&](mlir::OpBuilder &nb, mlir::Location nloc, mlir::ValueRange args) {
        nb.create<mlir::linalg::YieldOp>(nloc, body(nb, nloc, args));
      });
  return generic.getResult(0);
}

/// Reduces the last dimension of `input` into a tensor of one rank less,
/// starting from `init`; `body(b, loc, {element, accumulator})`.
inline mlir::Value reduceLastDim(mlir::OpBuilder &b, mlir::Location loc,
                                 mlir::Value input, double init,
                                 const BodyFn &body) {
  auto type = llvm::cast<mlir::RankedTensorType>(input.getType());
  unsigned rank = type.getRank();
  auto resultType = mlir::RankedTensorType::get(type.getShape().drop_back(),
                                                type.getElementType());
  llvm::SmallVector<mlir::Value> sizes;
  for (unsigned i = 0; i + 1 < rank; ++i)
    if (type.isDynamicDim(i))
      sizes.push_back(b.create<mlir::tensor::DimOp>(loc, input, i));
  mlir::Value acc = filled(b, loc, resultType, sizes, init);
  llvm::SmallVector<mlir::AffineExpr> outExprs;
  for (unsigned i = 0; i + 1 < rank; ++i)
    outExprs.push_back(b.getAffineDimExpr(i));
  llvm::SmallVector<mlir::AffineMap> maps = {
      b.getMultiDimIdentityMap(rank),
      mlir::AffineMap::get(rank, 0, outExprs, b.getContext())};
  llvm::SmallVector<mlir::utils::IteratorType> iters(
      rank - 1, mlir::utils::IteratorType::parallel);
  iters.push_back(mlir::utils::IteratorType::reduction);
  auto generic = b.create<mlir::linalg::GenericOp>(
      loc, resultType, input, acc, maps, iters,
      [&](mlir::OpBuilder &nb, mlir::Location nloc, mlir::ValueRange args) {
        nb.create<mlir::linalg::YieldOp>(nloc, body(nb, nloc, args));
      });
  return generic.getResult(0);
}

/// The map that reads a rank-(n-1) tensor indexed by all but the last loop.
inline mlir::AffineMap dropLastDimMap(mlir::OpBuilder &b, unsigned rank) {
  llvm::SmallVector<mlir::AffineExpr> exprs;
  for (unsigned i = 0; i + 1 < rank; ++i)
    exprs.push_back(b.getAffineDimExpr(i));
  return mlir::AffineMap::get(rank, 0, exprs, b.getContext());
}

/// The f32 constant `v`.
inline mlir::Value f32(mlir::OpBuilder &b, mlir::Location loc, double v) {
  return b.create<mlir::arith::ConstantOp>(loc, b.getF32FloatAttr(v));
}

/// `linalg.index d` converted to f32.
inline mlir::Value indexF32(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value index) {
  mlir::Value i64 =
      b.create<mlir::arith::IndexCastOp>(loc, b.getI64Type(), index);
  return b.create<mlir::arith::SIToFPOp>(loc, b.getF32Type(), i64);
}

/// Adds each plain-function lowering (`LogicalResult lowerX(XOp,
/// PatternRewriter &)`) to `patterns`.
template <typename... Fns>
void addLowerings(RewritePatternSet &patterns, Fns... lowerings) {
  (patterns.add(lowerings), ...);
}

} // namespace mlir::tfm

#endif // TFM_LIB_CONVERSION_TFMTOLINALG_UTILS_H
