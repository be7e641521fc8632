//===- Norms.cpp - RMSNorm and LayerNorm ----------------------------------===//

#include "Utils.h"
#include "tfm/Conversion/Passes.h"
#include "tfm/Dialect/Tfm/IR/TfmOps.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;

// Both norms write their result over their input when bufferization finds
// it dead afterwards: in post-norm blocks the input is the residual stream,
// which then stays in one buffer (see tfm.add in Elementwise.cpp).

namespace mlir::tfm {
namespace {

AffineMap columnMap(OpBuilder &b) {
  return AffineMap::get(2, 0, {b.getAffineDimExpr(1)}, b.getContext());
}

Value sumRows(OpBuilder &b, Location loc, Value x) {
  return reduceLastDim(b, loc, x, 0.0,
                       [](OpBuilder &nb, Location l, ValueRange a) {
                         return nb.create<arith::AddFOp>(l, a[0], a[1]);
                       });
}

/// Per row, the sum of x^2.
Value sumOfSquares(OpBuilder &b, Location loc, Value x) {
  return reduceLastDim(b, loc, x, 0.0,
                       [](OpBuilder &nb, Location l, ValueRange a) {
                         return nb.create<arith::AddFOp>(
                             l, a[1], nb.create<arith::MulFOp>(l, a[0], a[0]));
                       });
}

/// sum / width + eps: the mean square (RMSNorm) or the variance (LayerNorm).
Value meanPlusEps(OpBuilder &b, Location loc, Value sum, float width,
                  const APFloat &eps) {
  return b.create<arith::AddFOp>(
      loc, b.create<arith::DivFOp>(loc, sum, f32(b, loc, width)),
      f32(b, loc, eps.convertToFloat()));
}

/// weight * (x / sqrt(mean(x^2) + eps)), in llama2.c's order of operations.
LogicalResult lowerRMSNorm(tfm::RMSNormOp op, PatternRewriter &b) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  auto type = cast<RankedTensorType>(op.getType());
  float width = (float)type.getDimSize(1);
  Value ss = sumOfSquares(b, loc, x);
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(2),
                                 dropLastDimMap(b, 2), columnMap(b)};
  b.replaceOp(
      op, elementwise(
              b, loc, type, dynamicSizes(b, loc, x), {x, ss, op.getWeight()},
              [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                Value mean = meanPlusEps(nb, l, a[1], width, op.getEps());
                Value inv = nb.create<arith::DivFOp>(
                    l, f32(nb, l, 1.0), nb.create<math::SqrtOp>(l, mean));
                return nb.create<arith::MulFOp>(
                    l, a[2], nb.create<arith::MulFOp>(l, inv, a[0]));
              },
              maps, /*dest=*/x));
  return success();
}

/// (x - mean) / sqrt(var + eps) * weight + bias, biased variance.
LogicalResult lowerLayerNorm(tfm::LayerNormOp op, PatternRewriter &b) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  auto type = cast<RankedTensorType>(op.getType());
  float width = (float)type.getDimSize(1);
  SmallVector<AffineMap> rowMaps = {b.getMultiDimIdentityMap(2),
                                    dropLastDimMap(b, 2)};
  auto sizes = dynamicSizes(b, loc, x);
  Value sum = sumRows(b, loc, x);
  // Centre first, then square: the two-pass variance is the stable one.
  Value centred = elementwise(
      b, loc, type, sizes, {x, sum},
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        return nb.create<arith::SubFOp>(
            l, a[0], nb.create<arith::DivFOp>(l, a[1], f32(nb, l, width)));
      },
      rowMaps);
  Value sq = sumOfSquares(b, loc, centred);
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(2),
                                 dropLastDimMap(b, 2), columnMap(b),
                                 columnMap(b)};
  b.replaceOp(
      op, elementwise(
              b, loc, type, sizes, {centred, sq, op.getWeight(), op.getBias()},
              [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                Value var = meanPlusEps(nb, l, a[1], width, op.getEps());
                Value norm = nb.create<arith::DivFOp>(
                    l, a[0], nb.create<math::SqrtOp>(l, var));
                return nb.create<arith::AddFOp>(
                    l, nb.create<arith::MulFOp>(l, norm, a[2]), a[3]);
              },
              maps, /*dest=*/x));
  return success();
}

} // namespace

void populateTfmNormsToLinalgPatterns(RewritePatternSet &patterns) {
  addLowerings(patterns, lowerRMSNorm, lowerLayerNorm);
}

} // namespace mlir::tfm
