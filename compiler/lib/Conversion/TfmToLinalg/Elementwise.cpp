//===- Elementwise.cpp - Activations, scale, add/mul, masks, softmax ------===//

#include "Utils.h"
#include "tfm/Conversion/Passes.h"
#include "tfm/Dialect/Tfm/IR/TfmOps.h"
#include "tfm/runtime/AlibiSlope.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace mlir::tfm {
namespace {

/// `intoLhs`: the result is written over the lhs when bufferization finds it
/// dead afterwards. For tfm.add, whose lhs is the residual stream, this keeps
/// the hidden state in one buffer through a block (and through every layer,
/// as the block function then updates its argument in place). Not for
/// tfm.mul: a second use of the lhs would stop tfm-fuse-elementwise from
/// merging the SwiGLU activation into it.
template <typename OpTy, typename ArithOp, bool intoLhs>
LogicalResult lowerBinary(OpTy op, PatternRewriter &b) {
  Location loc = op.getLoc();
  auto type = cast<RankedTensorType>(op.getType());
  b.replaceOp(op, elementwise(
                      b, loc, type, dynamicSizes(b, loc, op.getLhs()),
                      {op.getLhs(), op.getRhs()},
                      [](OpBuilder &nb, Location l, ValueRange a) {
                        return nb.create<ArithOp>(l, a[0], a[1]);
                      },
                      {}, intoLhs ? op.getLhs() : Value()));
  return success();
}

Value relu(OpBuilder &b, Location loc, Value x, tfm::ReluOp) {
  return b.create<arith::MaximumFOp>(loc, x, f32(b, loc, 0.0));
}

/// x / (1 + exp(-x)), as llama2.c writes it.
Value silu(OpBuilder &b, Location loc, Value x, tfm::SiluOp) {
  Value e = b.create<math::ExpOp>(loc, b.create<arith::NegFOp>(loc, x));
  Value one = f32(b, loc, 1.0);
  Value sig =
      b.create<arith::DivFOp>(loc, one, b.create<arith::AddFOp>(loc, one, e));
  return b.create<arith::MulFOp>(loc, x, sig);
}

Value gelu(OpBuilder &b, Location loc, Value x, tfm::GeluOp op) {
  Value half = f32(b, loc, 0.5), one = f32(b, loc, 1.0);
  Value inner;
  if (op.getApproximation() == tfm::GeluApproximation::Tanh) {
    // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    Value x3 =
        b.create<arith::MulFOp>(loc, x, b.create<arith::MulFOp>(loc, x, x));
    Value poly = b.create<arith::AddFOp>(
        loc, x, b.create<arith::MulFOp>(loc, f32(b, loc, 0.044715), x3));
    inner = b.create<math::TanhOp>(
        loc,
        b.create<arith::MulFOp>(loc, f32(b, loc, std::sqrt(2.0 / M_PI)), poly));
  } else {
    // 0.5 x (1 + erf(x / sqrt(2)))
    inner = b.create<math::ErfOp>(
        loc, b.create<arith::MulFOp>(loc, x, f32(b, loc, M_SQRT1_2)));
  }
  Value t = b.create<arith::AddFOp>(loc, one, inner);
  return b.create<arith::MulFOp>(loc, b.create<arith::MulFOp>(loc, half, x), t);
}

Value scale(OpBuilder &b, Location loc, Value x, tfm::ScaleOp op) {
  return b.create<arith::MulFOp>(loc, x,
                                 f32(b, loc, op.getFactor().convertToFloat()));
}

/// The ALiBi slope of each of `heads` heads, by the one definition the
/// attention kernel uses too (tfm/runtime/AlibiSlope.h).
/// Lowers a one-input elementwise op with `fn` applied to the element.
template <typename OpTy, Value (*fn)(OpBuilder &, Location, Value, OpTy)>
LogicalResult lowerUnary(OpTy op, PatternRewriter &b) {
  Location loc = op.getLoc();
  Value in = op.getInput();
  auto type = cast<RankedTensorType>(op.getType());
  b.replaceOp(op, elementwise(b, loc, type, dynamicSizes(b, loc, in), {in},
                              [&](OpBuilder &nb, Location l, ValueRange a) {
                                return fn(nb, l, a[0], op);
                              }));
  return success();
}

SmallVector<float> alibiSlopes(int64_t heads) {
  SmallVector<float> slopes;
  for (int64_t h = 0; h < heads; ++h)
    slopes.push_back(::tfm::rt::alibiSlope(h, heads));
  return slopes;
}

/// Masks keys after each query's position and, for ALiBi, adds the bias.
template <typename OpTy> LogicalResult lowerMask(OpTy op, PatternRewriter &b) {
  constexpr bool isAlibi = std::is_same_v<OpTy, tfm::AlibiOp>;
  Location loc = op.getLoc();
  Value in = op.getInput(), pos = op.getPos();
  auto type = cast<RankedTensorType>(op.getType());
  SmallVector<Value> inputs = {in};
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(3)};
  if constexpr (isAlibi) {
    int64_t heads = type.getDimSize(0);
    if (ShapedType::isDynamic(heads))
      return b.notifyMatchFailure(op, "ALiBi needs a static head count");
    SmallVector<float> slopes = alibiSlopes(heads);
    auto slopeType = RankedTensorType::get({heads}, b.getF32Type());
    inputs.push_back(b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(slopeType, ArrayRef<float>(slopes))));
    maps.push_back(
        AffineMap::get(3, 0, {b.getAffineDimExpr(0)}, b.getContext()));
  }
  b.replaceOp(
      op, elementwise(
              b, loc, type, dynamicSizes(b, loc, in), inputs,
              [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                Value query = nb.create<arith::AddIOp>(
                    l, pos, nb.create<linalg::IndexOp>(l, 1));
                Value key = nb.create<linalg::IndexOp>(l, 2);
                Value future = nb.create<arith::CmpIOp>(
                    l, arith::CmpIPredicate::ugt, key, query);
                Value score = a[0];
                if constexpr (isAlibi) {
                  Value dist =
                      indexF32(nb, l, nb.create<arith::SubIOp>(l, query, key));
                  score = nb.create<arith::SubFOp>(
                      l, score, nb.create<arith::MulFOp>(l, a[1], dist));
                }
                Value ninf =
                    f32(nb, l, -std::numeric_limits<float>::infinity());
                return nb.create<arith::SelectOp>(l, future, ninf, score);
              },
              maps));
  return success();
}

/// exp(x - max) / sum(exp(x - max)) along the last dimension.
LogicalResult lowerSoftmax(tfm::SoftmaxOp op, PatternRewriter &b) {
  Location loc = op.getLoc();
  Value in = op.getInput();
  auto type = cast<RankedTensorType>(op.getType());
  unsigned rank = type.getRank();
  auto sizes = dynamicSizes(b, loc, in);
  Value max =
      reduceLastDim(b, loc, in, -std::numeric_limits<double>::infinity(),
                    [](OpBuilder &nb, Location l, ValueRange a) {
                      return nb.create<arith::MaximumFOp>(l, a[0], a[1]);
                    });
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank),
                                 dropLastDimMap(b, rank)};
  Value exps = elementwise(
      b, loc, type, sizes, {in, max},
      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
        return nb.create<math::ExpOp>(l,
                                      nb.create<arith::SubFOp>(l, a[0], a[1]));
      },
      maps);
  Value sum = reduceLastDim(b, loc, exps, 0.0,
                            [](OpBuilder &nb, Location l, ValueRange a) {
                              return nb.create<arith::AddFOp>(l, a[0], a[1]);
                            });
  b.replaceOp(op, elementwise(
                      b, loc, type, sizes, {exps, sum},
                      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                        return nb.create<arith::DivFOp>(l, a[0], a[1]);
                      },
                      maps));
  return success();
}

} // namespace

void populateTfmElementwiseToLinalgPatterns(RewritePatternSet &patterns) {
  addLowerings(
      patterns, lowerUnary<tfm::ReluOp, relu>, lowerUnary<tfm::SiluOp, silu>,
      lowerUnary<tfm::GeluOp, gelu>, lowerUnary<tfm::ScaleOp, scale>,
      lowerBinary<tfm::AddOp, arith::AddFOp, /*intoLhs=*/true>,
      lowerBinary<tfm::MulOp, arith::MulFOp, /*intoLhs=*/false>,
      lowerMask<tfm::CausalMaskOp>, lowerMask<tfm::AlibiOp>, lowerSoftmax);
}

} // namespace mlir::tfm
