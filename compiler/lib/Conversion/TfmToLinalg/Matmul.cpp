//===- Matmul.cpp - linear, lm_head and the batched attention matmul ------===//

#include "Utils.h"
#include "tfm/Conversion/Passes.h"
#include "tfm/Dialect/Tfm/IR/TfmOps.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace mlir::tfm {
namespace {

/// y + bias per column, or y without a bias.
Value addBias(OpBuilder &b, Location loc, RankedTensorType type, Value y,
              Value bias) {
  if (!bias)
    return y;
  AffineMap column =
      AffineMap::get(2, 0, {b.getAffineDimExpr(1)}, b.getContext());
  return elementwise(b, loc, type, dynamicSizes(b, loc, y), {y, bias},
                     [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                       return nb.create<arith::AddFOp>(l, a[0], a[1]);
                     },
                     {b.getMultiDimIdentityMap(2), column});
}

/// x W^T as linalg.matmul_transpose_b into a zero-filled output, for a
/// weight left unpacked (tfmc --no-kernels): convert-linalg-to-loops runs
/// it. The bias, if any, is a separate elementwise add.
Value linear(OpBuilder &b, Location loc, Value x, Value w, Value bias,
             RankedTensorType type) {
  SmallVector<Value> sizes;
  if (type.isDynamicDim(0))
    sizes.push_back(b.create<tensor::DimOp>(loc, x, 0));
  Value init = filled(b, loc, type, sizes, 0.0);
  Value y = b.create<linalg::MatmulTransposeBOp>(loc, type, ValueRange{x, w},
                                                 ValueRange{init})
                .getResult(0);
  return addBias(b, loc, type, y, bias);
}

/// x W^T with W stored packed ([N/P, K, P] tiles, then a [1, K, R] tail of
/// the last R = N mod P rows, `tfm-pack-weights`): per part,
///   y[m, c + n1 * P + n0] += x[m, k] * w[n1, k, n0]
/// (for encoded tiles, w[n1, k, n0] is dequantize() of the components at
/// (n1, componentIndex(k), n0), further inputs: WeightEncodings.h; values
/// in quads at (n1, componentIndex(k) floordiv 4, n0, componentIndex(k) mod
/// 4))
/// (c = 0 for the tiles, N - R for the tail), a linalg.generic over
/// (m, n1, n0, k) into a zero-filled output: the contraction
/// tfm-generate-kernels turns into vector code (and that
/// convert-linalg-to-loops runs as it is). The output keeps its [T, N]
/// shape, so the LM head still writes straight into the logits.
Value packedLinear(OpBuilder &b, Location loc, Value x, tfm::WeightOp w,
                   Value bias, RankedTensorType type) {
  FailureOr<StoredWeight> stored = storedWeight(b, w);
  if (failed(stored))
    return Value();
  SmallVector<Value> sizes;
  if (type.isDynamicDim(0))
    sizes.push_back(b.create<tensor::DimOp>(loc, x, 0));
  Value y = filled(b, loc, type, sizes, 0.0);
  AffineExpr m, n1, n0, k;
  bindDims(b.getContext(), m, n1, n0, k);
  auto map = [&](ArrayRef<AffineExpr> e) {
    return AffineMap::get(4, 0, e, b.getContext());
  };
  using utils::IteratorType;
  int64_t column = 0;
  std::optional<WeightEncoding> encoding = stored->encoding;
  for (bool full : {true, false}) {
    ArrayRef<Value> parts = full ? stored->full : stored->tail;
    if (parts.empty())
      continue;
    auto tilesType = cast<RankedTensorType>(parts[0].getType());
    int64_t p = tilesType.getDimSize(2);
    SmallVector<Value> inputs = {x};
    SmallVector<AffineMap> maps = {map({m, k})};
    // An encoded weight's components, each at its index along K.
    for (auto [c, part] : llvm::enumerate(parts)) {
      inputs.push_back(part);
      maps.push_back(
          map(tileIndices(encoding, c, full && stored->quads, n1, k, n0)));
    }
    maps.push_back(map({m, n1 * p + n0 + column}));
    y = b.create<linalg::GenericOp>(
             loc, type, inputs, y, maps,
             ArrayRef<IteratorType>{
                 IteratorType::parallel, IteratorType::parallel,
                 IteratorType::parallel, IteratorType::reduction},
             [&](OpBuilder &nb, Location l, ValueRange a) {
               nb.create<linalg::YieldOp>(
                   l, contractionStep(nb, l, encoding, a, [&] {
                     return nb.create<linalg::IndexOp>(l, 3).getResult();
                   }));
             })
            .getResult(0);
    column += tilesType.getDimSize(0) * p;
  }
  return addBias(b, loc, type, y, bias);
}

LogicalResult lowerLinear(tfm::LinearOp op, PatternRewriter &b) {
  auto type = cast<RankedTensorType>(op.getType());
  if (tfm::WeightOp packed = packedWeight(op.getWeight())) {
    Value y =
        packedLinear(b, op.getLoc(), op.getInput(), packed, op.getBias(), type);
    if (!y)
      return failure();
    b.replaceOp(op, y);
    return success();
  }
  b.replaceOp(op, linear(b, op.getLoc(), op.getInput(), op.getWeight(),
                         op.getBias(), type));
  return success();
}

LogicalResult lowerLMHead(tfm::LMHeadOp op, PatternRewriter &b) {
  auto type = cast<RankedTensorType>(op.getType());
  if (tfm::WeightOp packed = packedWeight(op.getWeight())) {
    Value y =
        packedLinear(b, op.getLoc(), op.getInput(), packed, Value(), type);
    if (!y)
      return failure();
    // Marked for tfm-generate-kernels (int-dot-head): its contractions, the
    // tail's and the full tiles', chained through their outputs.
    for (auto g = y.getDefiningOp<linalg::GenericOp>(); g;
         g = g.getDpsInits()[0].getDefiningOp<linalg::GenericOp>())
      g->setAttr("tfm.lm_head", b.getUnitAttr());
    b.replaceOp(op, y);
    return success();
  }
  b.replaceOp(
      op, linear(b, op.getLoc(), op.getInput(), op.getWeight(), Value(), type));
  return success();
}

/// Batched matmul where rhs batch b / (B / B') serves lhs batch b: a
/// linalg.generic whose rhs map divides the batch index (head sharing).
LogicalResult lowerMatmul(tfm::MatmulOp op, PatternRewriter &b) {
  Location loc = op.getLoc();
  auto type = cast<RankedTensorType>(op.getType());
  auto lhsType = cast<RankedTensorType>(op.getLhs().getType());
  auto rhsType = cast<RankedTensorType>(op.getRhs().getType());
  int64_t batch = lhsType.getDimSize(0), rhsBatch = rhsType.getDimSize(0);
  if (ShapedType::isDynamic(batch) || ShapedType::isDynamic(rhsBatch))
    return b.notifyMatchFailure(op, "needs static head counts");
  int64_t group = batch / rhsBatch;

  SmallVector<Value> sizes;
  if (type.isDynamicDim(1))
    sizes.push_back(b.create<tensor::DimOp>(loc, op.getLhs(), 1));
  if (type.isDynamicDim(2))
    sizes.push_back(b.create<tensor::DimOp>(loc, op.getRhs(),
                                            op.getTransposeRhs() ? 1 : 2));
  Value init = filled(b, loc, type, sizes, 0.0);

  AffineExpr bi, m, n, k;
  bindDims(b.getContext(), bi, m, n, k);
  AffineExpr rb = bi.floorDiv(group);
  auto map = [&](ArrayRef<AffineExpr> e) {
    return AffineMap::get(4, 0, e, b.getContext());
  };
  SmallVector<AffineMap> maps = {
      map({bi, m, k}), op.getTransposeRhs() ? map({rb, n, k}) : map({rb, k, n}),
      map({bi, m, n})};
  using utils::IteratorType;
  SmallVector<IteratorType> iters = {
      IteratorType::parallel, IteratorType::parallel, IteratorType::parallel,
      IteratorType::reduction};
  auto generic = b.create<linalg::GenericOp>(
      loc, type, ValueRange{op.getLhs(), op.getRhs()}, init, maps, iters,
      [](OpBuilder &nb, Location l, ValueRange a) {
        Value p = nb.create<arith::MulFOp>(l, a[0], a[1]);
        nb.create<linalg::YieldOp>(
            l, ValueRange{nb.create<arith::AddFOp>(l, a[2], p)});
      });
  b.replaceOp(op, generic.getResult(0));
  return success();
}

} // namespace

void populateTfmMatmulToLinalgPatterns(RewritePatternSet &patterns) {
  addLowerings(patterns, lowerLinear, lowerLMHead, lowerMatmul);
}

} // namespace mlir::tfm
