//===- Matmul.cpp - linear, lm_head and the batched attention matmul ------===//

#include "Utils.h"
#include "tfm/Conversion/Passes.h"
#include "tfm/Dialect/Tfm/IR/TfmOps.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace mlir::tfm {
namespace {

/// x W^T as linalg.matmul_transpose_b into a zero-filled output; the bias, if
/// any, is a separate elementwise add (tfm-linalg-to-kernels turns the
/// matmul into a kernel call after bufferization).
Value linear(OpBuilder &b, Location loc, Value x, Value w, Value bias,
             RankedTensorType type) {
  SmallVector<Value> sizes;
  if (type.isDynamicDim(0))
    sizes.push_back(b.create<tensor::DimOp>(loc, x, 0));
  Value init = filled(b, loc, type, sizes, 0.0);
  Value y = b.create<linalg::MatmulTransposeBOp>(loc, type, ValueRange{x, w},
                                                 ValueRange{init})
                .getResult(0);
  if (!bias)
    return y;
  AffineMap column = AffineMap::get(2, 0, {b.getAffineDimExpr(1)}, b.getContext());
  return elementwise(
      b, loc, type, dynamicSizes(b, loc, y), {y, bias},
      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
        return nb.create<arith::AddFOp>(l, a[0], a[1]);
      },
      {b.getMultiDimIdentityMap(2), column});
}

struct LinearPattern : OpRewritePattern<tfm::LinearOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tfm::LinearOp op,
                                PatternRewriter &b) const override {
    b.replaceOp(op, linear(b, op.getLoc(), op.getInput(), op.getWeight(),
                           op.getBias(), cast<RankedTensorType>(op.getType())));
    return success();
  }
};

struct LMHeadPattern : OpRewritePattern<tfm::LMHeadOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tfm::LMHeadOp op,
                                PatternRewriter &b) const override {
    b.replaceOp(op, linear(b, op.getLoc(), op.getInput(), op.getWeight(),
                           Value(), cast<RankedTensorType>(op.getType())));
    return success();
  }
};

/// Batched matmul where rhs batch b / (B / B') serves lhs batch b: a
/// linalg.generic whose rhs map divides the batch index (head sharing).
struct MatmulPattern : OpRewritePattern<tfm::MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tfm::MatmulOp op,
                                PatternRewriter &b) const override {
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
      sizes.push_back(b.create<tensor::DimOp>(
          loc, op.getRhs(), op.getTransposeRhs() ? 1 : 2));
    Value init = filled(b, loc, type, sizes, 0.0);

    AffineExpr bi, m, n, k;
    bindDims(b.getContext(), bi, m, n, k);
    AffineExpr rb = bi.floorDiv(group);
    auto map = [&](ArrayRef<AffineExpr> e) {
      return AffineMap::get(4, 0, e, b.getContext());
    };
    SmallVector<AffineMap> maps = {
        map({bi, m, k}),
        op.getTransposeRhs() ? map({rb, n, k}) : map({rb, k, n}),
        map({bi, m, n})};
    using utils::IteratorType;
    SmallVector<IteratorType> iters = {IteratorType::parallel, IteratorType::parallel,
                                       IteratorType::parallel, IteratorType::reduction};
    auto generic = b.create<linalg::GenericOp>(
        loc, type, ValueRange{op.getLhs(), op.getRhs()}, init, maps, iters,
        [](OpBuilder &nb, Location l, ValueRange a) {
          Value p = nb.create<arith::MulFOp>(l, a[0], a[1]);
          nb.create<linalg::YieldOp>(l, ValueRange{nb.create<arith::AddFOp>(l, a[2], p)});
        });
    b.replaceOp(op, generic.getResult(0));
    return success();
  }
};

} // namespace

void populateTfmMatmulToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<LinearPattern, LMHeadPattern, MatmulPattern>(patterns.getContext());
}

} // namespace mlir::tfm
