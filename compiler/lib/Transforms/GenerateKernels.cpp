//===- GenerateKernels.cpp - Vector code for packed linear layers ---------===//
//
// A linear layer on packed weights arrives as the buffer-level contraction
//   out[m, n1 * P + n0] += x[m, k] * w[n1, k, n0]   (w: [N/P][K][P] tiles)
// and leaves as a call of the runtime's scheduler with an outlined body:
//
//   func.func private @tfm_linear_k288_p16_rows(%begin, %end, %out, %x, %w)
//     // column tiles [begin, end) of every row, by register tiles
//     scf.for %n = ... step 2 { scf.for %m = ... step 8 {
//       %acc:16 = scf.for %k = 0 to K iter_args(...) {
//         %b0 = vector.load %w[%n, %k * P]          // one P-float vector
//         %a0 = vector.broadcast (memref.load %x[%m, %k])
//         vector.fma %a0, %b0, %acc ...             // no horizontal sums
//       }
//       vector.store ...
//     } }
//   ...
//   %body = func.constant @tfm_linear_k288_p16_rows
//   call @tfmrt_parallel_for(%body, %out, %x, %w, %numTiles, %workPerTile)
//
// The body takes its operands as strided 2-D memrefs, so the runtime calls
// every body with one signature (Kernels.h); it views them back with static
// inner strides.
//
// A q8_0 weight (tfm.weight `encoding q8_0`) arrives as int8 value tiles
// [N/P][K][P] and f16 scale tiles [N/P][K/32][P], the contraction's body
// computing w = scale * value. Its body (`..._q8_0`, run by
// tfmrt_parallel_for_q8) dequantizes in registers: per block of 32 k, one
// P-wide scale vector (f16 -> f32), then per k one P-byte load, int8 -> f32,
// times the scale, and the same FMAs as for f32 weights.
//
// With integer dot products (`int-dot`, IntegerDot.h; body `..._q8_0_dot`,
// run by tfmrt_parallel_for_q8_dot) the call is preceded by the
// quantization of x to int8 blocks (values xq, f32 scales xd), and the body
// keeps an int32 twin of each accumulator: per 4 k one 4P-byte load of the
// tile, transposed so each 32-bit lane holds one column's 4 k, and one dot
// step per row; per block of 32, acc += float(sum) * (scale_w * xd).
//
//===----------------------------------------------------------------------===//

#include "IntegerDot.h"
#include "StridedViews.h"
#include "mlir/IR/Matchers.h"
#include "tfm/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::tfm {
#define GEN_PASS_DEF_TFMGENERATEKERNELSPASS
#include "tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using mlir::tfm::anyStrided2D;

namespace {

constexpr StringLiteral kSchedulerName = "tfmrt_parallel_for";
constexpr StringLiteral kQ8SchedulerName = "tfmrt_parallel_for_q8";
constexpr StringLiteral kQ8DotSchedulerName = "tfmrt_parallel_for_q8_dot";

/// True when `v` is a zero float constant.
bool isZero(Value v) { return matchPattern(v, m_AnyZeroFloat()); }

/// True when the innermost stride of `type` is 1 and, for rank 3, the
/// middle stride is the inner size (contiguous P-float tiles).
bool hasContiguousTiles(MemRefType type) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(getStridesAndOffset(type, strides, offset)))
    return false;
  if (strides.back() != 1)
    return false;
  return type.getRank() != 3 || strides[1] == type.getDimSize(2);
}

/// A packed contraction and what the body needs to know of it.
struct PackedLinear {
  linalg::GenericOp op;
  int64_t k, p;
  int64_t column;  ///< First output column it writes (C below).
  int64_t width;   ///< Output columns it writes: N/P tiles of P.
  bool q8 = false; ///< int8 value tiles and f16 scales (third input).
  /// q8 with integer dot products (None: f32 arithmetic).
  tfm::IntDotIsa dot = tfm::IntDotIsa::None;
};

/// True when `w` is `extf(scale) * sitofp(value)` of the block arguments
/// `scale` (f16) and `value` (i8), in either order.
bool isDequantizedQ8(Value w, Value scale, Value value) {
  auto mul = w.getDefiningOp<arith::MulFOp>();
  if (!mul)
    return false;
  auto check = [&](Value a, Value b) {
    auto ext = a.getDefiningOp<arith::ExtFOp>();
    auto conv = b.getDefiningOp<arith::SIToFPOp>();
    return ext && conv && ext.getIn() == scale && conv.getIn() == value &&
           ext.getIn().getType().isF16() && value.getType().isInteger(8);
  };
  return check(mul.getLhs(), mul.getRhs()) || check(mul.getRhs(), mul.getLhs());
}

/// The packed contraction tfm-to-linalg emits for a linear layer:
/// maps (m, k), (n1, k, n0), (m, C + n1 * P + n0) over (m, n1, n0, k), body
/// out + x * w (C = 0 for the full tiles, N - R for a tail tile).
std::optional<PackedLinear> isPackedLinear(linalg::GenericOp op) {
  std::nullopt_t no = std::nullopt;
  bool q8 = op.getNumDpsInputs() == 3;
  if (!op.hasPureBufferSemantics() || (op.getNumDpsInputs() != 2 && !q8) ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 4)
    return no;
  auto wType = dyn_cast<MemRefType>(op.getDpsInputs()[1].getType());
  if (!wType || wType.getRank() != 3 || !wType.hasStaticShape())
    return no;
  MLIRContext *ctx = op.getContext();
  AffineExpr m, n1, n0, kk;
  bindDims(ctx, m, n1, n0, kk);
  auto map = [&](ArrayRef<AffineExpr> e) {
    return AffineMap::get(4, 0, e, ctx);
  };
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  AffineMap outMap = maps.back();
  if (maps[0] != map({m, kk}) || maps[1] != map({n1, kk, n0}) ||
      outMap.getNumResults() != 2 || outMap.getResult(0) != m)
    return no;
  if (q8 && maps[2] != map({n1, kk.floorDiv(32), n0}))
    return no;
  // The output column minus n1 * P + n0 must be a constant C >= 0.
  int64_t p = wType.getDimSize(2);
  auto column = dyn_cast<AffineConstantExpr>(
      simplifyAffineExpr(outMap.getResult(1) - (n1 * p + n0), 4, 0));
  if (!column || column.getValue() < 0)
    return no;
  using utils::IteratorType;
  if (op.getIteratorTypesArray() !=
      SmallVector<IteratorType>{IteratorType::parallel, IteratorType::parallel,
                                IteratorType::parallel,
                                IteratorType::reduction})
    return no;
  // out + x * w (either operand order).
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getValues()[0].getDefiningOp<arith::AddFOp>();
  if (!add || body.getOperations().size() != (q8 ? 6u : 3u))
    return no;
  Value acc = body.getArguments().back();
  Value prod = add.getLhs() == acc ? add.getRhs() : add.getLhs();
  auto mul = prod.getDefiningOp<arith::MulFOp>();
  if (!mul || (add.getLhs() != acc && add.getRhs() != acc))
    return no;
  // The weight operand of the product: the f32 weight, or q8_0's
  // scale * value.
  Value xArg = body.getArgument(0);
  Value wArg = mul.getLhs() == xArg ? mul.getRhs() : mul.getLhs();
  if (mul.getLhs() != xArg && mul.getRhs() != xArg)
    return no;
  if (q8 ? !isDequantizedQ8(wArg, body.getArgument(2), body.getArgument(1))
         : wArg != body.getArgument(1))
    return no;
  auto x = dyn_cast<MemRefType>(op.getDpsInputs()[0].getType());
  auto w = dyn_cast<MemRefType>(op.getDpsInputs()[1].getType());
  auto out = dyn_cast<MemRefType>(op.getDpsInits()[0].getType());
  if (!x || !w || !out || !x.getElementType().isF32() ||
      !w.getElementType().isF32() != q8 || !out.getElementType().isF32())
    return no;
  if (q8) {
    auto scales = dyn_cast<MemRefType>(op.getDpsInputs()[2].getType());
    if (!scales || !scales.hasStaticShape() || !hasContiguousTiles(scales) ||
        w.getDimSize(1) % 32 != 0)
      return no;
  }
  int64_t width = w.getDimSize(0) * p;
  if (x.getRank() != 2 || out.getRank() != 2 ||
      ShapedType::isDynamic(x.getDimSize(1)) ||
      ShapedType::isDynamic(out.getDimSize(1)) ||
      out.getDimSize(1) < column.getValue() + width)
    return no;
  if (!hasContiguousTiles(x) || !hasContiguousTiles(w) ||
      !hasContiguousTiles(out))
    return no;
  if (x.getDimSize(1) != w.getDimSize(1))
    return no;
  return PackedLinear{op, w.getDimSize(1), p, column.getValue(), width, q8};
}

/// The zero fill of `op`'s output right before it, or null.
linalg::FillOp precedingZeroFill(Operation *op, Value out) {
  auto fill = dyn_cast_or_null<linalg::FillOp>(op->getPrevNode());
  if (fill && fill.hasPureBufferSemantics() && isZero(fill.getInputs()[0]) &&
      fill.getDpsInits()[0] == out)
    return fill;
  return nullptr;
}

/// Emits the body of one parallel chunk into `fn` (see the file comment).
class BodyEmitter {
public:
  BodyEmitter(OpBuilder &b, Location loc, int64_t k, int64_t p, bool oneRow,
              bool accumulate, int64_t rows, int64_t tiles, bool q8,
              tfm::IntDotIsa dot)
      : b(b), loc(loc), k(k), p(p), oneRow(oneRow), accumulate(accumulate),
        rows(rows), tiles(tiles), q8(q8), dot(dot) {}

  void emit(func::FuncOp fn) {
    Block *entry = fn.addEntryBlock();
    b.setInsertionPointToStart(entry);
    Value begin = entry->getArgument(0), end = entry->getArgument(1);
    out = view(entry->getArgument(2), ShapedType::kDynamic);
    // Integer dot products: x is the activations' block scales, then xq
    // their int8 values.
    bool isDot = dot != tfm::IntDotIsa::None;
    x = view(entry->getArgument(3),
             isDot ? 2 * (k / 32) : ShapedType::kDynamic);
    if (isDot)
      xq = view(entry->getArgument(4), k);
    unsigned wArg = isDot ? 5 : 4;
    w = view(entry->getArgument(wArg), k * p);
    if (q8)
      scales = view(entry->getArgument(wArg + 1), k / 32 * p);
    numRows = oneRow ? cst(1) : b.create<memref::DimOp>(loc, x, 0).getResult();
    // Column tiles: `tiles` at a time, then one at a time.
    auto tilesOver = [&](Value kLo, Value kHi, bool load) {
      cascade(begin, end, tileSteps(oneRow ? decodeTiles : tiles),
              [&](Value n, int64_t nt) {
                // Rows: `rows` at a time, then narrower register tiles.
                SmallVector<int64_t> rowSteps =
                    oneRow ? SmallVector<int64_t>{1} : tileSteps(rows);
                cascade(cst(0), numRows, rowSteps, [&](Value m, int64_t mt) {
                  microKernel(m, mt, n, nt, kLo, kHi, load);
                });
              });
    };
    if (oneRow || kBlock <= 0 || k <= kBlock) {
      tilesOver(cst(0), cst(k), accumulate);
    } else {
      // Prefill over K blocks: the first block starts from zero (or the
      // output), every later one adds to the partial sums it stored.
      tilesOver(cst(0), cst(kBlock), accumulate);
      auto blocks = b.create<scf::ForOp>(loc, cst(kBlock), cst(k), cst(kBlock));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(blocks.getBody());
      Value kLo = blocks.getInductionVar();
      Value kHi = b.create<arith::MinUIOp>(
          loc, b.create<arith::AddIOp>(loc, kLo, cst(kBlock)), cst(k));
      tilesOver(kLo, kHi, /*load=*/true);
    }
    b.create<func::ReturnOp>(loc);
  }

  int64_t decodeTiles = 4;
  int64_t kBlock = 0;

private:
  Value cst(int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); }

  /// `v` (any strided 2-D view) with unit inner stride and, when given, a
  /// static row stride.
  Value view(Value v, int64_t rowStride) {
    auto meta = b.create<memref::ExtractStridedMetadataOp>(loc, v);
    MLIRContext *ctx = b.getContext();
    int64_t d = ShapedType::kDynamic;
    auto type =
        MemRefType::get({d, d}, cast<MemRefType>(v.getType()).getElementType(),
                        StridedLayoutAttr::get(ctx, d, {rowStride, 1}));
    OpFoldResult stride0 = ShapedType::isDynamic(rowStride)
                               ? OpFoldResult(meta.getStrides()[0])
                               : OpFoldResult(b.getIndexAttr(rowStride));
    return b.create<memref::ReinterpretCastOp>(
        loc, type, v, OpFoldResult(meta.getOffset()),
        ArrayRef<OpFoldResult>{meta.getSizes()[0], meta.getSizes()[1]},
        ArrayRef<OpFoldResult>{stride0, b.getIndexAttr(1)});
  }

  /// max, then the powers of two below it, down to 1.
  static SmallVector<int64_t> tileSteps(int64_t max) {
    SmallVector<int64_t> steps = {std::max<int64_t>(max, 1)};
    for (int64_t s = llvm::PowerOf2Ceil(steps[0]) / 2; s >= 1; s /= 2)
      if (s < steps.back())
        steps.push_back(s);
    return steps;
  }

  /// Loops over [lo, hi) with each step in turn: full steps of the first,
  /// the remainder with the next, and so on. body(iv, step).
  void cascade(Value lo, Value hi, ArrayRef<int64_t> steps,
               llvm::function_ref<void(Value, int64_t)> body) {
    for (int64_t step : steps) {
      Value upper = hi;
      if (step != steps.back()) {
        Value span = b.create<arith::SubIOp>(loc, hi, lo);
        Value whole = b.create<arith::DivUIOp>(loc, span, cst(step));
        upper = b.create<arith::AddIOp>(
            loc, lo, b.create<arith::MulIOp>(loc, whole, cst(step)));
      }
      auto loop = b.create<scf::ForOp>(loc, lo, upper, cst(step));
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(loop.getBody());
        body(loop.getInductionVar(), step);
      }
      lo = upper;
    }
  }

  /// out[m .. m+mt, tiles n .. n+nt] (+)= x[m .. m+mt, kLo .. kHi] *
  /// w[tiles]: mt x nt accumulators of P floats carried through the k loop,
  /// starting from the output when `load`, else from zero.
  void microKernel(Value m, int64_t mt, Value n, int64_t nt, Value kLo,
                   Value kHi, bool load) {
    if (dot != tfm::IntDotIsa::None)
      return dotMicroKernel(m, mt, n, nt, kLo, kHi, load);
    auto vecType = VectorType::get({p}, b.getF32Type());
    SmallVector<Value> rowIdx, outCol;
    for (int64_t i = 0; i < mt; ++i)
      rowIdx.push_back(i ? b.create<arith::AddIOp>(loc, m, cst(i)).getResult()
                         : m);
    SmallVector<Value> tileIdx;
    for (int64_t j = 0; j < nt; ++j) {
      Value nj = j ? b.create<arith::AddIOp>(loc, n, cst(j)).getResult() : n;
      tileIdx.push_back(nj);
      outCol.push_back(b.create<arith::MulIOp>(loc, nj, cst(p)));
    }
    SmallVector<Value> init;
    Value zero;
    if (!load)
      zero = b.create<arith::ConstantOp>(
          loc, vecType,
          DenseElementsAttr::get(vecType, b.getF32FloatAttr(0.0f)));
    for (int64_t i = 0; i < mt; ++i)
      for (int64_t j = 0; j < nt; ++j)
        init.push_back(
            load ? b.create<vector::LoadOp>(loc, vecType, out,
                                            ValueRange{rowIdx[i], outCol[j]})
                       .getResult()
                 : zero);
    // One k: the weight vectors (`blockScales`: q8_0, dequantized), then
    // for each row a broadcast of x and an FMA per tile.
    auto step = [&](OpBuilder &nb, Location l, Value kv, ValueRange acc,
                    ArrayRef<Value> blockScales) {
      Value kp = nb.create<arith::MulIOp>(l, kv, cst(p));
      SmallVector<Value> bv;
      for (int64_t j = 0; j < nt; ++j) {
        if (!q8) {
          bv.push_back(nb.create<vector::LoadOp>(l, vecType, w,
                                                 ValueRange{tileIdx[j], kp}));
          continue;
        }
        Value q =
            nb.create<vector::LoadOp>(l, VectorType::get({p}, nb.getI8Type()),
                                      w, ValueRange{tileIdx[j], kp});
        bv.push_back(nb.create<arith::MulFOp>(
            l, blockScales[j], nb.create<arith::SIToFPOp>(l, vecType, q)));
      }
      SmallVector<Value> next;
      for (int64_t i = 0; i < mt; ++i) {
        Value xs = nb.create<memref::LoadOp>(l, x, ValueRange{rowIdx[i], kv});
        Value av = nb.create<vector::BroadcastOp>(l, vecType, xs);
        for (int64_t j = 0; j < nt; ++j)
          next.push_back(
              nb.create<vector::FMAOp>(l, av, bv[j], acc[i * nt + j]));
      }
      nb.create<scf::YieldOp>(l, next);
    };
    scf::ForOp loop;
    if (!q8) {
      loop = b.create<scf::ForOp>(
          loc, kLo, kHi, cst(1), init,
          [&](OpBuilder &nb, Location l, Value kv, ValueRange acc) {
            step(nb, l, kv, acc, {});
          });
    } else {
      // Blocks of 32 k: the tiles' P scales of the block, then its k (the
      // K blocks are whole q8_0 blocks: kBlock and k are multiples of 32).
      loop = b.create<scf::ForOp>(
          loc, b.create<arith::DivUIOp>(loc, kLo, cst(32)),
          b.create<arith::DivUIOp>(loc, kHi, cst(32)), cst(1), init,
          [&](OpBuilder &nb, Location l, Value kb, ValueRange acc) {
            Value bp = nb.create<arith::MulIOp>(l, kb, cst(p));
            SmallVector<Value> blockScales;
            for (int64_t j = 0; j < nt; ++j) {
              Value d = nb.create<vector::LoadOp>(
                  l, VectorType::get({p}, nb.getF16Type()), scales,
                  ValueRange{tileIdx[j], bp});
              blockScales.push_back(nb.create<arith::ExtFOp>(l, vecType, d));
            }
            Value k0 = nb.create<arith::MulIOp>(l, kb, cst(32));
            auto inner = nb.create<scf::ForOp>(
                l, k0, nb.create<arith::AddIOp>(l, k0, cst(32)), cst(1), acc,
                [&](OpBuilder &ib, Location il, Value kv, ValueRange a) {
                  step(ib, il, kv, a, blockScales);
                });
            nb.create<scf::YieldOp>(l, inner.getResults());
          });
    }
    for (int64_t i = 0; i < mt; ++i)
      for (int64_t j = 0; j < nt; ++j)
        b.create<vector::StoreOp>(loc, loop.getResult(i * nt + j), out,
                                  ValueRange{rowIdx[i], outCol[j]});
  }

  /// microKernel with integer dot products: per block of 32 k (kLo and
  /// kHi are multiples of 32) int32 sums over 8 steps of 4 k, then
  /// acc += float(sum) * (weight scale * activation scale).
  void dotMicroKernel(Value m, int64_t mt, Value n, int64_t nt, Value kLo,
                      Value kHi, bool load) {
    Type f32 = b.getF32Type(), i32 = b.getI32Type();
    auto vecType = VectorType::get({p}, f32);
    auto sumType = VectorType::get({p}, i32);
    SmallVector<Value> rowIdx, tileIdx, outCol;
    for (int64_t i = 0; i < mt; ++i)
      rowIdx.push_back(i ? b.create<arith::AddIOp>(loc, m, cst(i)).getResult()
                         : m);
    for (int64_t j = 0; j < nt; ++j) {
      Value nj = j ? b.create<arith::AddIOp>(loc, n, cst(j)).getResult() : n;
      tileIdx.push_back(nj);
      outCol.push_back(b.create<arith::MulIOp>(loc, nj, cst(p)));
    }
    SmallVector<Value> init;
    Value zero = b.create<arith::ConstantOp>(
        loc, vecType, DenseElementsAttr::get(vecType, b.getF32FloatAttr(0)));
    for (int64_t i = 0; i < mt; ++i)
      for (int64_t j = 0; j < nt; ++j)
        init.push_back(
            load ? b.create<vector::LoadOp>(loc, vecType, out,
                                            ValueRange{rowIdx[i], outCol[j]})
                       .getResult()
                 : zero);
    Value zeroSums = b.create<arith::ConstantOp>(
        loc, sumType, DenseElementsAttr::get(sumType, b.getI32IntegerAttr(0)));
    SmallVector<Value> sumInit(mt * nt, zeroSums);
    auto blocks = b.create<scf::ForOp>(
        loc, b.create<arith::DivUIOp>(loc, kLo, cst(32)),
        b.create<arith::DivUIOp>(loc, kHi, cst(32)), cst(1), init,
        [&](OpBuilder &nb, Location l, Value kb, ValueRange acc) {
          // Steps of 4 k: the tiles' transposed weights, then per row its
          // 4 activations and a dot step per tile.
          Value q0 = nb.create<arith::MulIOp>(l, kb, cst(8));
          auto steps = nb.create<scf::ForOp>(
              l, q0, nb.create<arith::AddIOp>(l, q0, cst(8)), cst(1), sumInit,
              [&](OpBuilder &sb, Location sl, Value q, ValueRange sums) {
                Value k4 = sb.create<arith::MulIOp>(sl, q, cst(4));
                Value kp = sb.create<arith::MulIOp>(sl, k4, cst(p));
                SmallVector<tfm::DotWeights> ws;
                for (int64_t j = 0; j < nt; ++j) {
                  Value raw = sb.create<vector::LoadOp>(
                      sl, VectorType::get({4 * p}, sb.getI8Type()), w,
                      ValueRange{tileIdx[j], kp});
                  ws.push_back(tfm::emitDotWeights(sb, sl, dot, raw, p));
                }
                SmallVector<Value> next;
                for (int64_t i = 0; i < mt; ++i) {
                  Value quad = sb.create<vector::LoadOp>(
                      sl, VectorType::get({4}, sb.getI8Type()), xq,
                      ValueRange{rowIdx[i], k4});
                  tfm::DotActivations xs =
                      tfm::emitDotActivations(sb, sl, dot, quad, p);
                  for (int64_t j = 0; j < nt; ++j)
                    next.push_back(tfm::emitDotStep(
                        sb, sl, dot, sums[i * nt + j], ws[j], xs, p));
                }
                sb.create<scf::YieldOp>(sl, next);
              });
          Value bp = nb.create<arith::MulIOp>(l, kb, cst(p));
          SmallVector<Value> weightScales;
          for (int64_t j = 0; j < nt; ++j)
            weightScales.push_back(nb.create<arith::ExtFOp>(
                l, vecType,
                nb.create<vector::LoadOp>(l,
                                          VectorType::get({p}, nb.getF16Type()),
                                          scales, ValueRange{tileIdx[j], bp})
                    .getResult()));
          SmallVector<Value> next;
          bool biased = tfm::intDotBiased(dot);
          for (int64_t i = 0; i < mt; ++i) {
            Value xs = nb.create<vector::BroadcastOp>(
                l, vecType,
                nb.create<memref::LoadOp>(l, x, ValueRange{rowIdx[i], kb}));
            // The block's 128 * sum(x) (w + 128 in vpdpbusd).
            Value bias =
                biased ? nb.create<vector::BroadcastOp>(
                             l, vecType,
                             nb.create<memref::LoadOp>(
                                 l, x,
                                 ValueRange{rowIdx[i],
                                            nb.create<arith::AddIOp>(
                                                l, kb, cst(k / 32))}))
                             .getResult()
                       : Value();
            for (int64_t j = 0; j < nt; ++j) {
              Value sum = nb.create<arith::SIToFPOp>(
                  l, vecType, steps.getResult(i * nt + j));
              if (biased)
                sum = nb.create<arith::SubFOp>(l, sum, bias);
              next.push_back(nb.create<vector::FMAOp>(
                  l, sum, nb.create<arith::MulFOp>(l, weightScales[j], xs),
                  acc[i * nt + j]));
            }
          }
          nb.create<scf::YieldOp>(l, next);
        });
    for (int64_t i = 0; i < mt; ++i)
      for (int64_t j = 0; j < nt; ++j)
        b.create<vector::StoreOp>(loc, blocks.getResult(i * nt + j), out,
                                  ValueRange{rowIdx[i], outCol[j]});
  }

  OpBuilder &b;
  Location loc;
  int64_t k, p;
  bool oneRow, accumulate;
  int64_t rows, tiles;
  bool q8;
  tfm::IntDotIsa dot;
  Value out, x, xq, w, scales, numRows;
};

struct TfmGenerateKernelsPass
    : mlir::tfm::impl::TfmGenerateKernelsPassBase<TfmGenerateKernelsPass> {
  using TfmGenerateKernelsPassBase::TfmGenerateKernelsPassBase;

  void runOnOperation() override {
    if (rows < 1 || tiles < 1 || decodeTiles < 1 || intDotRows < 1) {
      getOperation().emitError("tfm-generate-kernels: rows, tiles, "
                               "decode-tiles and int-dot-rows must be >= 1");
      return signalPassFailure();
    }
    std::optional<tfm::IntDotIsa> isa = tfm::parseIntDotIsa(intDot);
    if (!isa) {
      getOperation().emitError("tfm-generate-kernels: unknown int-dot '")
          << intDot << "'";
      return signalPassFailure();
    }
    SmallVector<PackedLinear> work;
    getOperation().walk([&](linalg::GenericOp op) {
      std::optional<PackedLinear> linear = isPackedLinear(op);
      if (!linear)
        return;
      // Integer dot products where the isa's vectors are P int32 lanes and
      // the case (decode or prefill) asks for them.
      bool oneRow =
          cast<MemRefType>(op.getDpsInputs()[0].getType()).getDimSize(0) == 1;
      if (linear->q8 && *isa != tfm::IntDotIsa::None &&
          tfm::intDotLanes(*isa) == linear->p &&
          (oneRow ? intDotDecode : intDotPrefill) &&
          (intDotHead || !op->hasAttr("tfm.lm_head")))
        linear->dot = *isa;
      work.push_back(*linear);
    });
    // A zero fill followed by contractions into the same output (a layer's
    // full tiles, then its tail) goes when they write every column between
    // them: they overwrite. Any other contraction accumulates.
    SmallVector<bool> overwrite(work.size(), false);
    SmallVector<linalg::FillOp> fills;
    for (size_t i = 0; i < work.size(); ++i) {
      Value out = work[i].op.getDpsInits()[0];
      linalg::FillOp fill = precedingZeroFill(work[i].op, out);
      if (!fill)
        continue;
      size_t end = i + 1;
      while (end < work.size() &&
             work[end].op->getPrevNode() == work[end - 1].op &&
             work[end].op.getDpsInits()[0] == out)
        ++end;
      SmallVector<std::pair<int64_t, int64_t>> ranges;
      for (size_t j = i; j < end; ++j)
        ranges.push_back({work[j].column, work[j].width});
      llvm::sort(ranges);
      int64_t covered = 0;
      for (auto [column, width] : ranges)
        if (column == covered)
          covered += width;
      if (covered != cast<MemRefType>(out.getType()).getDimSize(1))
        continue;
      for (size_t j = i; j < end; ++j)
        overwrite[j] = true;
      fills.push_back(fill);
      i = end - 1;
    }
    for (size_t i = 0; i < work.size(); ++i)
      generate(work[i], /*accumulate=*/!overwrite[i]);
    for (linalg::FillOp fill : fills)
      fill.erase();
  }

  /// The scheduler: tfmrt_parallel_for(body, out, x, w, items, workPerItem),
  /// for q8_0 tfmrt_parallel_for_q8(body, out, x, values, scales, ...), with
  /// integer dot products tfmrt_parallel_for_q8_dot(body, out, xd, xq,
  /// values, scales, ...): the body's operands after (begin, end).
  func::FuncOp scheduler(FunctionType bodyType, const PackedLinear &linear) {
    ModuleOp module = getOperation();
    StringRef name = linear.dot != tfm::IntDotIsa::None ? kQ8DotSchedulerName
                     : linear.q8                        ? kQ8SchedulerName
                                                        : kSchedulerName;
    if (auto fn = module.lookupSymbol<func::FuncOp>(name))
      return fn;
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    SmallVector<Type> operands = {bodyType};
    llvm::append_range(operands, bodyType.getInputs().drop_front(2));
    operands.append({b.getI64Type(), b.getI64Type()});
    auto fn = b.create<func::FuncOp>(module.getLoc(), name,
                                     b.getFunctionType(operands, {}));
    fn.setPrivate();
    fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    return fn;
  }

  /// The outlined body for (K, P, one row or not, accumulate or not).
  func::FuncOp body(int64_t k, int64_t p, bool oneRow, bool accumulate,
                    const PackedLinear &linear, Location loc) {
    bool q8 = linear.q8, isDot = linear.dot != tfm::IntDotIsa::None;
    std::string name =
        ("tfm_linear_k" + Twine(k) + "_p" + Twine(p) + (q8 ? "_q8_0" : "") +
         (isDot ? "_dot_" + tfm::intDotIsaName(linear.dot) : "") +
         (oneRow ? "_row" : "_rows") + (accumulate ? "_acc" : ""))
            .str();
    ModuleOp module = getOperation();
    if (auto fn = module.lookupSymbol<func::FuncOp>(name))
      return fn;
    OpBuilder b(&getContext());
    b.setInsertionPointToEnd(module.getBody());
    MLIRContext *ctx = &getContext();
    MemRefType any = anyStrided2D(ctx);
    Type index = b.getIndexType();
    SmallVector<Type> operands = {index, index, any, any};
    if (isDot)
      operands.push_back(anyStrided2D(ctx, b.getI8Type()));
    if (q8)
      operands.append({anyStrided2D(ctx, b.getI8Type()),
                       anyStrided2D(ctx, b.getF16Type())});
    else
      operands.push_back(any);
    auto fn =
        b.create<func::FuncOp>(loc, name, b.getFunctionType(operands, {}));
    fn.setPrivate();
    BodyEmitter emitter(b, loc, k, p, oneRow, accumulate,
                        isDot ? int64_t(intDotRows) : int64_t(rows), tiles, q8,
                        linear.dot);
    emitter.decodeTiles = decodeTiles;
    // q8_0's K blocks hold whole blocks of 32.
    emitter.kBlock =
        q8 && kBlock > 0 ? int64_t(llvm::alignTo(kBlock, 32)) : int64_t(kBlock);
    emitter.emit(fn);
    ++numBodies;
    return fn;
  }

  void generate(const PackedLinear &linear, bool accumulate) {
    linalg::GenericOp op = linear.op;
    int64_t k = linear.k, p = linear.p;
    Value x = op.getDpsInputs()[0], w = op.getDpsInputs()[1];
    Value out = op.getDpsInits()[0];
    auto xType = cast<MemRefType>(x.getType());
    auto wType = cast<MemRefType>(w.getType());
    auto outType = cast<MemRefType>(out.getType());
    bool oneRow = xType.getDimSize(0) == 1;
    func::FuncOp fn = body(k, p, oneRow, accumulate, linear, op.getLoc());

    IRRewriter b(op);
    Location loc = op.getLoc();
    SmallVector<ReassociationIndices> tilesAsRows = {{0}, {1, 2}};
    Value w2 = b.create<memref::CollapseShapeOp>(loc, w, tilesAsRows);
    // The columns this contraction writes (a tail's, or part of them).
    if (linear.column != 0 || linear.width != outType.getDimSize(1))
      out = b.create<memref::SubViewOp>(
          loc, out,
          ArrayRef<OpFoldResult>{b.getIndexAttr(0),
                                 b.getIndexAttr(linear.column)},
          ArrayRef<OpFoldResult>{memref::getMixedSize(b, loc, out, 0),
                                 b.getIndexAttr(linear.width)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
    auto anyView = [&](Value v) -> Value {
      Type element = cast<MemRefType>(v.getType()).getElementType();
      return b.create<memref::CastOp>(loc, anyStrided2D(&getContext(), element),
                                      v);
    };
    Value fnRef = b.create<func::ConstantOp>(loc, fn.getFunctionType(),
                                             SymbolRefAttr::get(fn));
    Value numTiles =
        b.create<arith::ConstantIntOp>(loc, wType.getDimSize(0), 64);
    // Multiply-adds per column tile: rows * K * P.
    Value numRows = b.create<arith::IndexCastOp>(
        loc, b.getI64Type(), b.create<memref::DimOp>(loc, x, 0));
    Value workPerTile = b.create<arith::MulIOp>(
        loc, numRows, b.create<arith::ConstantIntOp>(loc, k * p, 64));
    SmallVector<Value> operands = {fnRef, anyView(out)};
    SmallVector<Value> quantized;
    if (linear.dot != tfm::IntDotIsa::None) {
      // x as int8 blocks: values [M][K]; f32 scales [M][K/32], then each
      // block's 128 * sum of values [M][K/32].
      Value numRowsIndex = b.create<memref::DimOp>(loc, x, 0);
      int64_t d = ShapedType::kDynamic;
      Value xq = b.create<memref::AllocOp>(
          loc, MemRefType::get({d, k}, b.getI8Type()), numRowsIndex);
      Value xd = b.create<memref::AllocOp>(
          loc, MemRefType::get({d, 2 * (k / 32)}, b.getF32Type()),
          numRowsIndex);
      tfm::emitQuantizeRows(b, loc, x, xq, xd, k);
      operands.append({anyView(xd), anyView(xq)});
      quantized = {xq, xd};
    } else {
      operands.push_back(anyView(x));
    }
    operands.push_back(anyView(w2));
    if (linear.q8)
      operands.push_back(anyView(b.create<memref::CollapseShapeOp>(
          loc, op.getDpsInputs()[2], tilesAsRows)));
    operands.append({numTiles, workPerTile});
    b.create<func::CallOp>(loc, scheduler(fn.getFunctionType(), linear),
                           operands);
    for (Value buffer : quantized)
      b.create<memref::DeallocOp>(loc, buffer);
    b.eraseOp(op);
    ++numGenerated;
  }
};

} // namespace
