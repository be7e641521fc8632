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
// An encoded weight (tfm.weight `encoding E`) arrives as one tile array per
// component of E (tfm/Formats/Encodings.h: q8_0's int8 values [N/P][K][P]
// and f16 scales [N/P][K/32][P]), the contraction's body computing w with
// E's dequantize() (WeightEncodings.h). Its body (`..._<E>`, run by E's
// scheduler, tfmrt_parallel_for_q8 for q8_0) dequantizes in registers with
// the same emitter on P-lane vectors: per block of B k, E's per-block
// components (q8_0: one P-wide scale vector, f16 -> f32), then per step the
// per-step components (q8_0: one P-byte load) and from them `parts`
// elements (q8_0: int8 -> f32, times the scale), each followed by the same
// FMAs as for f32 weights.
//
// With integer dot products (`int-dot`, IntegerDot.h; q8_0, q4_0, q4_1,
// q5_0, q5_1, q2_K to q6_K; body `..._<E>_dot_<isa>`, run by
// tfmrt_parallel_for_q8_dot, _q4_0_dot, ...) the call is preceded by the
// quantization of x to int8 blocks (values xq, f32 scales and sums xd), and
// the body keeps an int32 twin of each accumulator: per 4 rows of the tile's
// values one 4P-byte load whose 32-bit lanes hold one column's 4 k (stored so:
// tfm.weight `quads`, body `..._quads_...`; else transposed) (4-bit: its low
// and its high nibbles, two steps), and one dot step per
// row; per kernel block (32; a K-quant's sub-block), acc += (float(sum) -
// offset * sum(xq)) * (scale_w * xd), plus +-m * xd * sum(xq) with a minimum.
// A prefill body unpacks each register tile's weight tiles over the K block
// once into a stack buffer (`kept`, the dot steps' operands) that all its
// row tiles read, and starts the int32 sums at -offset * sum(xq) where the
// quantization stored that. The LM head with int-dot-head-bits=16 (body
// `..._<E>_dot16_<isa>`) takes x as int16 (two bytes each in xq) and keeps
// two int32 lanes per column until each block's end, or for unsigned q
// without VNNI one, from x's low and high bytes (IntegerDot.h).
//
//===----------------------------------------------------------------------===//

#include "IntegerDot.h"
#include "StridedViews.h"
#include "mlir/IR/Matchers.h"
#include "tfm/Transforms/Passes.h"

#include "tfm/Dialect/Tfm/IR/WeightEncodings.h"

#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::tfm {
#define GEN_PASS_DEF_TFMGENERATEKERNELSPASS
#include "tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using mlir::tfm::anyStrided2D;
namespace formats = ::tfm::formats;

namespace {

constexpr StringLiteral kSchedulerName = "tfmrt_parallel_for";

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
  if (type.getRank() == 4)
    return strides[2] == 4 && strides[1] == 4 * type.getDimSize(2);
  return type.getRank() != 3 || strides[1] == type.getDimSize(2);
}

/// A packed contraction and what the body needs to know of it.
struct PackedLinear {
  linalg::GenericOp op;
  int64_t k, p;
  int64_t column; ///< First output column it writes (C below).
  int64_t width;  ///< Output columns it writes: N/P tiles of P.
  /// The weight's encoding (its components the inputs after x), or f32.
  std::optional<mlir::tfm::WeightEncoding> encoding;
  /// Integer dot products (None: f32 arithmetic; DotEncoding rows only).
  mlir::tfm::IntDotIsa dot = mlir::tfm::IntDotIsa::None;
  /// Their activations' bits: 8, or 16 (the LM head, int-dot-head-bits).
  int64_t bits = 8;
  /// The values' tiles hold lanes of 4 k ([N/P][K'/4][P][4], tfm.weight
  /// `quads`): the dot steps take them as loaded.
  bool quads = false;
};

/// The attributes of `op` that matter, properties included, without
/// arith's default flags (a parsed op has none where a built one has
/// `none`).
DictionaryAttr attributesOf(Operation *op) {
  SmallVector<NamedAttribute> kept;
  if (auto props =
          dyn_cast_or_null<DictionaryAttr>(op->getPropertiesAsAttribute()))
    for (NamedAttribute a : props) {
      if (auto f = dyn_cast<arith::FastMathFlagsAttr>(a.getValue());
          f && f.getValue() == arith::FastMathFlags::none)
        continue;
      if (auto f = dyn_cast<arith::IntegerOverflowFlagsAttr>(a.getValue());
          f && f.getValue() == arith::IntegerOverflowFlags::none)
        continue;
      kept.push_back(a);
    }
  llvm::append_range(kept, op->getDiscardableAttrs());
  return DictionaryAttr::get(op->getContext(), kept);
}

/// True when `body` is contractionStep(e) (WeightEncodings.h) op for op,
/// compared with one built afresh in a scratch block. Constants compare by
/// value wherever they are defined (canonicalization hoists them out).
bool isContractionBody(Block &body,
                       std::optional<mlir::tfm::WeightEncoding> e) {
  MLIRContext *ctx = body.getParentOp()->getContext();
  Block scratch;
  for (BlockArgument arg : body.getArguments())
    scratch.addArgument(arg.getType(), arg.getLoc());
  OpBuilder b(ctx);
  b.setInsertionPointToStart(&scratch);
  Location loc = UnknownLoc::get(ctx);
  Value expected =
      mlir::tfm::contractionStep(b, loc, e, scratch.getArguments(), [&] {
        return b.create<linalg::IndexOp>(loc, 3).getResult();
      });
  DenseMap<Value, Value> same;
  for (auto [mine, theirs] :
       llvm::zip_equal(scratch.getArguments(), body.getArguments()))
    same[mine] = theirs;
  auto matches = [&](Value mine, Value theirs) {
    if (Value v = same.lookup(mine))
      return v == theirs;
    Attribute a, c;
    return matchPattern(mine, m_Constant(&a)) &&
           matchPattern(theirs, m_Constant(&c)) && a == c;
  };
  // (The scratch block has no terminator.)
  auto ops = [](Block &block) {
    SmallVector<Operation *> list;
    for (Operation &op : block)
      if (!op.hasTrait<OpTrait::ConstantLike>() &&
          !op.hasTrait<OpTrait::IsTerminator>())
        list.push_back(&op);
    return list;
  };
  SmallVector<Operation *> mine = ops(scratch), theirs = ops(body);
  if (mine.size() != theirs.size())
    return false;
  for (auto [m, t] : llvm::zip_equal(mine, theirs)) {
    if (m->getName() != t->getName() || attributesOf(m) != attributesOf(t) ||
        m->getResultTypes() != t->getResultTypes() ||
        m->getNumOperands() != t->getNumOperands())
      return false;
    for (auto [a, c] : llvm::zip_equal(m->getOperands(), t->getOperands()))
      if (!matches(a, c))
        return false;
    for (auto [a, c] : llvm::zip_equal(m->getResults(), t->getResults()))
      same[a] = c;
  }
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  return yield.getNumOperands() == 1 && matches(expected, yield.getOperand(0));
}

/// The packed contraction tfm-to-linalg emits for a linear layer:
/// maps (m, k), (n1, k, n0) (an encoded weight: one per component, at
/// (n1, componentIndex(k), n0); values in quads at (n1, componentIndex(k)
/// floordiv 4, n0, componentIndex(k) mod 4)), (m, C + n1 * P + n0) over
/// (m, n1, n0, k), body out + x * w (C = 0 for the full tiles, N - R for a
/// tail tile).
std::optional<PackedLinear> isPackedLinear(linalg::GenericOp op) {
  using mlir::tfm::WeightEncoding;
  std::nullopt_t no = std::nullopt;
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() < 2 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 4)
    return no;
  auto wType = dyn_cast<MemRefType>(op.getDpsInputs()[1].getType());
  if (!wType || wType.getRank() < 3 || wType.getRank() > 4 ||
      !wType.hasStaticShape())
    return no;
  const bool quads = wType.getRank() == 4;
  MLIRContext *ctx = op.getContext();
  AffineExpr m, n1, n0, kk;
  bindDims(ctx, m, n1, n0, kk);
  auto map = [&](ArrayRef<AffineExpr> e) {
    return AffineMap::get(4, 0, e, ctx);
  };
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  AffineMap outMap = maps.back();
  if (maps[0] != map({m, kk}) || outMap.getNumResults() != 2 ||
      outMap.getResult(0) != m)
    return no;
  // The encoding: f32 weights, or the one whose components have the
  // inputs' element types and maps and whose contractionStep the body is
  // (q8_0 and q4_0 have the same component types).
  const unsigned numComponents = op.getNumDpsInputs() - 1;
  SmallVector<Value> inputs = op.getDpsInputs();
  auto matches = [&](std::optional<WeightEncoding> e) {
    for (unsigned c = 0; c < numComponents; ++c)
      if (maps[1 + c] != map(mlir::tfm::tileIndices(e, c, quads, n1, kk, n0)))
        return false;
    return isContractionBody(op.getRegion().front(), e);
  };
  std::optional<WeightEncoding> encoding;
  if (numComponents == 1 && wType.getElementType().isF32() && !quads) {
    if (!matches(std::nullopt))
      return no;
  } else {
    for (const formats::EncodingInfo &info : formats::weightEncodings()) {
      if (info.components.size() != numComponents)
        continue;
      bool typesMatch = true;
      for (auto [c, comp] : llvm::enumerate(info.components))
        typesMatch = typesMatch && getElementTypeOrSelf(inputs[1 + c]) ==
                                       mlir::tfm::componentType(ctx, comp.kind);
      auto e = static_cast<WeightEncoding>(info.encoding);
      if (typesMatch && matches(e)) {
        encoding = e;
        break;
      }
    }
    if (!encoding)
      return no;
  }
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
  auto x = dyn_cast<MemRefType>(op.getDpsInputs()[0].getType());
  auto out = dyn_cast<MemRefType>(op.getDpsInits()[0].getType());
  if (!x || !out || !x.getElementType().isF32() ||
      !out.getElementType().isF32())
    return no;
  int64_t k = wType.getDimSize(1) * (quads ? 4 : 1);
  if (encoding) {
    const formats::EncodingInfo &info = mlir::tfm::formatInfo(*encoding);
    k = k / info.components[0].perBlock * info.blockSize;
    for (Value comp : llvm::drop_begin(inputs, 2)) {
      auto type = dyn_cast<MemRefType>(comp.getType());
      if (!type || type.getRank() != 3 || !type.hasStaticShape() ||
          !hasContiguousTiles(type) || type.getDimSize(2) != p)
        return no;
    }
  }
  int64_t width = wType.getDimSize(0) * p;
  if (x.getRank() != 2 || out.getRank() != 2 ||
      ShapedType::isDynamic(x.getDimSize(1)) ||
      ShapedType::isDynamic(out.getDimSize(1)) ||
      out.getDimSize(1) < column.getValue() + width)
    return no;
  if (!hasContiguousTiles(x) || !hasContiguousTiles(wType) ||
      !hasContiguousTiles(out))
    return no;
  if (x.getDimSize(1) != k)
    return no;
  PackedLinear linear{op, k, p, column.getValue(), width, encoding};
  linear.quads = quads;
  return linear;
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
              bool accumulate, int64_t rows, int64_t tiles,
              std::optional<mlir::tfm::WeightEncoding> encoding,
              mlir::tfm::IntDotIsa dot, int64_t bits)
      : b(b), loc(loc), k(k), p(p), oneRow(oneRow), accumulate(accumulate),
        rows(rows), tiles(tiles), encoding(encoding), dot(dot), bits(bits) {}

  void emit(func::FuncOp fn) {
    Block *entry = fn.addEntryBlock();
    b.setInsertionPointToStart(entry);
    Value begin = entry->getArgument(0), end = entry->getArgument(1);
    out = view(entry->getArgument(2), ShapedType::kDynamic);
    // Integer dot products: x is the activations' block scales (and
    // biases), then xq their int8 (int16: two bytes each) values.
    bool isDot = dot != mlir::tfm::IntDotIsa::None;
    x = view(entry->getArgument(3),
             isDot ? k / 32 + k / mlir::tfm::kernelBlock(*encoding)
                   : ShapedType::kDynamic);
    if (isDot)
      xq = view(entry->getArgument(4), k * bits / 8);
    unsigned first = isDot ? 5 : 4;
    if (!encoding) {
      components.push_back(view(entry->getArgument(first), k * p));
    } else {
      const formats::EncodingInfo &info = mlir::tfm::formatInfo(*encoding);
      for (auto [c, comp] : llvm::enumerate(info.components))
        components.push_back(view(entry->getArgument(first + c),
                                  k / info.blockSize * comp.perBlock * p));
    }
    numRows = oneRow ? cst(1) : b.create<memref::DimOp>(loc, x, 0).getResult();
    // Integer prefill: the register tile's weight tiles over the K block,
    // unpacked once into `kept` (lanes of 4 k, as the dot steps take them)
    // and read by every row tile.
    if (isDot && !oneRow) {
      int64_t extent = kBlock > 0 && k > kBlock ? kBlock : k;
      kept = b.create<memref::AllocaOp>(
          loc, MemRefType::get({tiles, extent * p}, b.getI8Type()),
          b.getI64IntegerAttr(64));
    }
    // Column tiles: `tiles` at a time, then one at a time.
    auto tilesOver = [&](Value nLo, Value nHi, Value kLo, Value kHi,
                         bool load) {
      // One-row bodies: the range in `decodeStreams` equal parts, a tile of
      // each part a step; the tiles after the parts as below. Each part is
      // one long stream of weights (tiles are adjacent in the blob).
      if (oneRow && decodeStreams > 1) {
        Value part = b.create<arith::DivUIOp>(
            loc, b.create<arith::SubIOp>(loc, nHi, nLo), cst(decodeStreams));
        auto steps = b.create<scf::ForOp>(
            loc, nLo, b.create<arith::AddIOp>(loc, nLo, part), cst(1));
        {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(steps.getBody());
          tileStride = part;
          microKernel(cst(0), 1, steps.getInductionVar(), decodeStreams, kLo,
                      kHi, load);
          tileStride = nullptr;
        }
        nLo = b.create<arith::AddIOp>(
            loc, nLo, b.create<arith::MulIOp>(loc, part, cst(decodeStreams)));
      }
      cascade(nLo, nHi, tileSteps(oneRow ? decodeTiles : tiles),
              [&](Value n, int64_t nt) {
                if (kept)
                  keepWeights(n, nt, kLo, kHi);
                // Rows: `rows` at a time, then narrower register tiles.
                SmallVector<int64_t> rowSteps =
                    oneRow ? SmallVector<int64_t>{1} : tileSteps(rows);
                cascade(cst(0), numRows, rowSteps, [&](Value m, int64_t mt) {
                  microKernel(m, mt, n, nt, kLo, kHi, load);
                });
              });
    };
    // Prefill over K blocks: the first block starts from zero (or the
    // output), every later one adds to the partial sums it stored. An f32
    // K up to 1.5 blocks stays whole (288: not 256 + a pass of 32 that
    // reloads and stores every accumulator again).
    bool wholeK = kBlock <= 0 || (encoding ? k <= kBlock : 2 * k <= 3 * kBlock);
    auto kBlocks = [&](Value nLo, Value nHi) {
      if (oneRow || wholeK) {
        tilesOver(nLo, nHi, cst(0), cst(k), accumulate);
        return;
      }
      tilesOver(nLo, nHi, cst(0), cst(kBlock), accumulate);
      auto blocks = b.create<scf::ForOp>(loc, cst(kBlock), cst(k), cst(kBlock));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(blocks.getBody());
      Value kLo = blocks.getInductionVar();
      Value kHi = b.create<arith::MinUIOp>(
          loc, b.create<arith::AddIOp>(loc, kLo, cst(kBlock)), cst(k));
      tilesOver(nLo, nHi, kLo, kHi, /*load=*/true);
    };
    if (oneRow || nBlock <= 0 || wholeK) {
      kBlocks(begin, end);
    } else {
      // Column blocks of nBlock tiles around the K blocks: a block's partial
      // sums stay in L2 from one K block to the next.
      auto columns = b.create<scf::ForOp>(loc, begin, end, cst(nBlock));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(columns.getBody());
      Value nLo = columns.getInductionVar();
      kBlocks(nLo,
              b.create<arith::MinUIOp>(
                  loc, b.create<arith::AddIOp>(loc, nLo, cst(nBlock)), end));
    }
    b.create<func::ReturnOp>(loc);
  }

  int64_t decodeTiles = 4;
  /// One-row bodies: parts of the tile range read side by side.
  int64_t decodeStreams = 1;
  /// The values are stored in lanes of 4 k (PackedLinear::quads).
  bool quads = false;
  int64_t kBlock = 0;
  int64_t nBlock = 0; ///< Column tiles per column block (0: none).

private:
  Value cst(int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); }
  /// v + d (v itself for 0).
  Value plus(OpBuilder &nb, Location l, Value v, int64_t d) {
    return d ? nb.create<arith::AddIOp>(l, v, cst(d)).getResult() : v;
  }

  /// Column tile j of a micro-kernel's nt from n: adjacent, or tileStride
  /// apart (one per part).
  Value tileIndex(Value n, int64_t j) {
    if (!j)
      return n;
    Value offset =
        tileStride ? b.create<arith::MulIOp>(loc, tileStride, cst(j)) : cst(j);
    return b.create<arith::AddIOp>(loc, n, offset);
  }

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
    if (dot != mlir::tfm::IntDotIsa::None)
      return dotMicroKernel(m, mt, n, nt, kLo, kHi, load);
    auto vecType = VectorType::get({p}, b.getF32Type());
    SmallVector<Value> rowIdx, outCol;
    for (int64_t i = 0; i < mt; ++i)
      rowIdx.push_back(plus(b, loc, m, i));
    SmallVector<Value> tileIdx;
    for (int64_t j = 0; j < nt; ++j) {
      Value nj = tileIndex(n, j);
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
    // One k: the weight vectors `bv` (one per tile), then for each row a
    // broadcast of x and an FMA per tile.
    auto fmas = [&](OpBuilder &nb, Location l, Value kv, ArrayRef<Value> bv,
                    SmallVector<Value> &acc) {
      for (int64_t i = 0; i < mt; ++i) {
        Value xs = nb.create<memref::LoadOp>(l, x, ValueRange{rowIdx[i], kv});
        Value av = nb.create<vector::BroadcastOp>(l, vecType, xs);
        for (int64_t j = 0; j < nt; ++j)
          acc[i * nt + j] =
              nb.create<vector::FMAOp>(l, av, bv[j], acc[i * nt + j]);
      }
    };
    // Tile j's P elements of component c at index `at` of its K axis.
    auto loadTile = [&](OpBuilder &nb, Location l, unsigned c, int64_t j,
                        Value at) -> Value {
      auto type = cast<MemRefType>(components[c].getType());
      return nb.create<vector::LoadOp>(
          l, VectorType::get({p}, type.getElementType()), components[c],
          ValueRange{tileIdx[j], nb.create<arith::MulIOp>(l, at, cst(p))});
    };
    scf::ForOp loop;
    if (!encoding) {
      loop = b.create<scf::ForOp>(
          loc, kLo, kHi, cst(1), init,
          [&](OpBuilder &nb, Location l, Value kv, ValueRange acc) {
            SmallVector<Value> bv, next(acc);
            for (int64_t j = 0; j < nt; ++j)
              bv.push_back(loadTile(nb, l, 0, j, kv));
            fmas(nb, l, kv, bv, next);
            nb.create<scf::YieldOp>(l, next);
          });
    } else {
      // Blocks of B k (the K blocks are whole blocks: kBlock and k are
      // multiples of B): the per-block components of the tiles, then
      // B / parts steps, each loading the per-step components once and
      // computing `parts` elements (WeightEncodings.h).
      mlir::tfm::WeightEncoding e = *encoding;
      const mlir::tfm::WeightEncodingInfo &info = weightEncodingInfo(e);
      const formats::EncodingInfo &format = mlir::tfm::formatInfo(e);
      const int64_t block = mlir::tfm::kernelBlock(e),
                    steps = block / info.parts;
      const unsigned numComponents = format.components.size();
      loop = b.create<scf::ForOp>(
          loc, b.create<arith::DivUIOp>(loc, kLo, cst(block)),
          b.create<arith::DivUIOp>(loc, kHi, cst(block)), cst(1), init,
          [&](OpBuilder &nb, Location l, Value kb, ValueRange acc) {
            mlir::tfm::DequantBuilder d{nb, l, vecType};
            SmallVector<SmallVector<Value>> perBlock(nt), blockValues(nt);
            for (int64_t j = 0; j < nt; ++j) {
              perBlock[j] = blockComponents(nb, l, tileIdx[j], kb);
              blockValues[j] = info.block(d, perBlock[j]);
            }
            Value k0 = nb.create<arith::MulIOp>(l, kb, cst(block));
            auto inner = nb.create<scf::ForOp>(
                l, k0, nb.create<arith::AddIOp>(l, k0, cst(steps)), cst(1), acc,
                [&](OpBuilder &ib, Location il, Value kv, ValueRange a) {
                  mlir::tfm::DequantBuilder id{ib, il, vecType};
                  // Step kv - k0: index kb * steps + kv - k0 of the per-step
                  // components (kv itself when a step is one element).
                  Value at = kv;
                  if (steps != block)
                    at = ib.create<arith::SubIOp>(
                        il, kv,
                        ib.create<arith::MulIOp>(il, kb, cst(block - steps)));
                  SmallVector<SmallVector<Value>> comps = perBlock;
                  for (int64_t j = 0; j < nt; ++j)
                    for (unsigned c = 0; c < numComponents; ++c)
                      if (isPerStep(e, c))
                        comps[j][c] = loadTile(ib, il, c, j, at);
                  SmallVector<Value> next(a);
                  for (int64_t part = 0; part < info.parts; ++part) {
                    Value kp = part ? ib.create<arith::AddIOp>(
                                            il, kv, cst(part * steps))
                                          .getResult()
                                    : kv;
                    Value pos, partValue;
                    if (info.usesPosition) {
                      pos = ib.create<arith::SubIOp>(il, kp, k0);
                      partValue = cst(part);
                    }
                    SmallVector<Value> bv;
                    for (int64_t j = 0; j < nt; ++j)
                      bv.push_back(info.element(id, comps[j], blockValues[j],
                                                pos, partValue));
                    fmas(ib, il, kp, bv, next);
                  }
                  ib.create<scf::YieldOp>(il, next);
                });
            nb.create<scf::YieldOp>(l, inner.getResults());
          });
    }
    for (int64_t i = 0; i < mt; ++i)
      for (int64_t j = 0; j < nt; ++j)
        b.create<vector::StoreOp>(loc, loop.getResult(i * nt + j), out,
                                  ValueRange{rowIdx[i], outCol[j]});
  }

  /// Per-block component c of encoding e's kernel block kb (B k) of column
  /// tile `tile` as a P-lane vector.
  Value blockComponent(OpBuilder &nb, Location l, Value tile, Value kb,
                       unsigned c) {
    auto type = cast<MemRefType>(components[c].getType());
    return nb.create<vector::LoadOp>(
        l, VectorType::get({p}, type.getElementType()), components[c],
        ValueRange{tile, blockComponentColumn(nb, l, kb, c)});
  }

  /// Where per-block component c of kernel block kb starts in a tile's row
  /// of component c's array.
  Value blockComponentColumn(OpBuilder &nb, Location l, Value kb, unsigned c) {
    mlir::tfm::WeightEncoding e = *encoding;
    const formats::EncodingInfo &format = mlir::tfm::formatInfo(e);
    const int64_t block = mlir::tfm::kernelBlock(e);
    Value at =
        format.components[c].perBlock * block < format.blockSize
            ? mlir::tfm::componentIndexValue(
                  nb, l, e, c, nb.create<arith::MulIOp>(l, kb, cst(block)))
            : kb;
    return nb.create<arith::MulIOp>(l, at, cst(p));
  }

  /// The per-block components of kernel block kb of column tile `tile`
  /// (blockComponent); null for the per-step ones.
  SmallVector<Value> blockComponents(OpBuilder &nb, Location l, Value tile,
                                     Value kb) {
    mlir::tfm::WeightEncoding e = *encoding;
    SmallVector<Value> perBlock(mlir::tfm::formatInfo(e).components.size());
    for (unsigned c = 0; c < perBlock.size(); ++c)
      if (!isPerStep(e, c))
        perBlock[c] = blockComponent(nb, l, tile, kb, c);
    return perBlock;
  }

  /// microKernel with integer dot products: per kernel block of B k (32;
  /// q6_K's sub-blocks 16; kLo and kHi are multiples of 32) int32 sums over
  /// B/4 steps of 4 k (rawSteps, or keptSteps in a prefill body), then acc
  /// += (float(sum) - offset * sum(xq)) * (weight scale * activation scale)
  /// (DotEncoding; with a minimum m also +-m * xd * sum(xq)). The scale and
  /// minimum are the encoding's block values (WeightEncodings.h: q4_K's
  /// d * sc, dmin * m).
  void dotMicroKernel(Value m, int64_t mt, Value n, int64_t nt, Value kLo,
                      Value kHi, bool load) {
    const mlir::tfm::DotEncoding &de = *mlir::tfm::dotEncoding(*encoding);
    const mlir::tfm::WeightEncodingInfo &info = weightEncodingInfo(*encoding);
    const int64_t block = mlir::tfm::kernelBlock(*encoding);
    Type f32 = b.getF32Type(), i32 = b.getI32Type();
    auto vecType = VectorType::get({p}, f32);
    auto sumType = VectorType::get({p}, i32);
    // int16: two lanes per column until the block's end (emitWordDotStep),
    // but for split words (one lane, as int8).
    const bool words = widenedWords();
    auto stepType = VectorType::get({words ? 2 * p : p}, i32);
    SmallVector<Value> rowIdx, tileIdx, outCol;
    for (int64_t i = 0; i < mt; ++i)
      rowIdx.push_back(plus(b, loc, m, i));
    for (int64_t j = 0; j < nt; ++j) {
      Value nj = tileIndex(n, j);
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
        loc, stepType,
        DenseElementsAttr::get(stepType, b.getI32IntegerAttr(0)));
    SmallVector<Value> sumInit(mt * nt, zeroSums);
    const bool offsetInSums =
        (kept || bits == 16) && mlir::tfm::intDotOffsetInSums(de, dot, bits);
    auto blocks = b.create<scf::ForOp>(
        loc, b.create<arith::DivUIOp>(loc, kLo, cst(block)),
        b.create<arith::DivUIOp>(loc, kHi, cst(block)), cst(1), init,
        [&](OpBuilder &nb, Location l, Value kb, ValueRange acc) {
          SmallVector<SmallVector<Value>> perBlock;
          SmallVector<Value> high(nt);
          for (int64_t j = 0; j < nt; ++j) {
            perBlock.push_back(blockComponents(nb, l, tileIdx[j], kb));
            if (de.highComponent >= 0)
              high[j] = perBlock[j][de.highComponent];
          }
          Value k0 = nb.create<arith::MulIOp>(l, kb, cst(block));
          // Parts (decodeStreams) are long streams the hardware prefetcher
          // follows; a software prefetch there only takes issue slots.
          if (oneRow && decodeStreams == 1)
            prefetchNextTiles(nb, l, kb, tileIdx);
          // x's scale (per 32) and sum of xq (per B, emitQuantizeRows).
          Value xScaleAt =
              block == 32 ? kb
                          : nb.create<arith::DivUIOp>(l, kb, cst(32 / block))
                                .getResult();
          Value xSumAt = nb.create<arith::AddIOp>(l, kb, cst(k / 32));
          // The int32 sums start at -offset * sum(xq) (as i32 in xd) where
          // the quantization stored it so (intDotOffsetInSums); int16 sums
          // in lane pairs take it after those are summed.
          SmallVector<Value> start(sumInit), first;
          if (offsetInSums)
            for (int64_t i = 0; i < mt; ++i) {
              Value stored = nb.create<memref::LoadOp>(
                  l, x, ValueRange{rowIdx[i], xSumAt});
              first.push_back(nb.create<vector::BroadcastOp>(
                  l, sumType, nb.create<arith::BitcastOp>(l, i32, stored)));
              if (!words)
                for (int64_t j = 0; j < nt; ++j)
                  start[i * nt + j] = first[i];
            }
          scf::ForOp steps =
              kept ? keptSteps(nb, l, k0, kLo, nt, rowIdx, start)
                   : rawSteps(nb, l, kb, k0, tileIdx, high, rowIdx, start);
          SmallVector<Value> sums(steps.getResults());
          if (words)
            for (int64_t i = 0; i < mt; ++i)
              for (int64_t j = 0; j < nt; ++j) {
                Value &sum = sums[i * nt + j];
                sum = mlir::tfm::emitWordPairSums(nb, l, sum, p);
                if (offsetInSums)
                  sum = nb.create<arith::AddIOp>(l, sum, first[i]);
              }
          // The weight scale and minimum per tile (f32 vectors).
          mlir::tfm::DequantBuilder d{nb, l, vecType};
          SmallVector<SmallVector<Value>> blockValues;
          for (int64_t j = 0; j < nt; ++j)
            blockValues.push_back(info.block(d, perBlock[j]));
          SmallVector<Value> next;
          // q8_0's vpdpbusd takes w + 128: 128 * sum(xq) more.
          int64_t offset =
              offsetInSums ? 0 : mlir::tfm::intDotOffset(de, dot, bits);
          for (int64_t i = 0; i < mt; ++i) {
            Value xd = nb.create<memref::LoadOp>(
                l, x, ValueRange{rowIdx[i], xScaleAt});
            Value xs = nb.create<vector::BroadcastOp>(l, vecType, xd);
            Value xsum = offset || de.minSign
                             ? nb.create<memref::LoadOp>(
                                     l, x, ValueRange{rowIdx[i], xSumAt})
                                   .getResult()
                             : Value();
            auto f = [&](float c) {
              return nb.create<arith::ConstantOp>(l, nb.getF32FloatAttr(c))
                  .getResult();
            };
            // offset * sum(xq) (exact), and the block's sum of x: xd * sum,
            // negated for the K-quants' w = d * q - m.
            Value bias =
                offset
                    ? nb.create<vector::BroadcastOp>(
                            l, vecType,
                            nb.create<arith::MulFOp>(l, xsum, f(float(offset))))
                          .getResult()
                    : Value();
            Value xTotal;
            if (de.minSign) {
              xTotal = nb.create<arith::MulFOp>(l, xd, xsum);
              if (de.minSign < 0)
                xTotal = nb.create<arith::NegFOp>(l, xTotal);
              xTotal = nb.create<vector::BroadcastOp>(l, vecType, xTotal);
            }
            for (int64_t j = 0; j < nt; ++j) {
              Value sum =
                  nb.create<arith::SIToFPOp>(l, vecType, sums[i * nt + j]);
              if (bias)
                sum = nb.create<arith::SubFOp>(l, sum, bias);
              Value a = nb.create<vector::FMAOp>(
                  l, sum, nb.create<arith::MulFOp>(l, blockValues[j][0], xs),
                  acc[i * nt + j]);
              if (xTotal)
                a = nb.create<vector::FMAOp>(l, blockValues[j][1], xTotal, a);
              next.push_back(a);
            }
          }
          nb.create<scf::YieldOp>(l, next);
        });
    for (int64_t i = 0; i < mt; ++i)
      for (int64_t j = 0; j < nt; ++j)
        b.create<vector::StoreOp>(loc, blocks.getResult(i * nt + j), out,
                                  ValueRange{rowIdx[i], outCol[j]});
  }

  /// Decode: kernel block kb of the next nt column tiles, every component
  /// of it, prefetched (into L2) while
  /// this tile group's block is computed. A one-row body reads short
  /// streams (a q4_0 tile of K 768 is 6 KiB; q4_K's scales 8 bytes a
  /// block) that end before the hardware prefetcher has ramped up. Zen 3,
  /// stories110M shape, -t 1, decode CPU time, 4-tile groups: the values
  /// q4_0 -16%, Q4_K_M -10%; the other components too Q4_K_M -10% more.
  /// One-tile groups on a Zen 5, q8_0 with and without: 323.9 -> 337.6
  /// tok/s at -t 1 (with 4-tile groups it had cost 20%). Bodies that read
  /// parts (the pipeline's) take none: Zen 3, 2 parts, 5 alternated runs,
  /// without, -t 1 / -t 2: stories110M shape q8_0 +14% / +24%, q4_0 and
  /// Q4_K_M within 3%; TinyLlama shape q8_0 +13% / +16%, Q4_K_M +4% / +8%.
  void prefetchNextTiles(OpBuilder &nb, Location l, Value kb,
                         ArrayRef<Value> tileIdx) {
    mlir::tfm::WeightEncoding e = *encoding;
    const mlir::tfm::DotEncoding &de = *mlir::tfm::dotEncoding(e);
    const int64_t block = mlir::tfm::kernelBlock(e);
    const int64_t blockBytes = de.blockRows(block) * p;
    int64_t nt = tileIdx.size();
    SmallVector<Value> next;
    for (int64_t j = 0; j < nt; ++j)
      next.push_back(nb.create<arith::AddIOp>(l, tileIdx[j], cst(nt)));
    auto prefetch = [&](unsigned c, Value tile, Value at) {
      nb.create<memref::PrefetchOp>(l, components[c], ValueRange{tile, at},
                                    /*isWrite=*/false, /*localityHint=*/2,
                                    /*isDataCache=*/true);
    };
    Value at = nb.create<arith::MulIOp>(l, kb, cst(blockBytes));
    for (Value tile : next)
      for (int64_t line = 0; line < blockBytes; line += 64)
        prefetch(0, tile, plus(nb, l, at, line));
    // The per-block components: a few bytes a block, so most of these
    // prefetches hit a line already on its way; cheaper than a branch.
    for (unsigned c = 1; c < components.size(); ++c) {
      if (isPerStep(e, c))
        continue;
      Value column = blockComponentColumn(nb, l, kb, c);
      for (Value tile : next)
        prefetch(c, tile, column);
    }
  }

  /// True when int16 x enters as bytes (intDotSplitWords).
  bool splitWords() const {
    return bits == 16 &&
           mlir::tfm::intDotSplitWords(*mlir::tfm::dotEncoding(*encoding), dot);
  }

  /// True when int16 x meets q widened to i16 (emitWordWeights).
  bool widenedWords() const { return bits == 16 && !splitWords(); }

  /// Dot steps whose i16 pair sums add up before their vpmaddwd (int8:
  /// intDotPairSteps; else 1).
  int64_t pairSteps() const {
    return bits == 8 ? mlir::tfm::intDotPairSteps(
                           *mlir::tfm::dotEncoding(*encoding), dot)
                     : 1;
  }

  /// One dot step of 4 k (from `xk`) for every row of the register tile
  /// and every tile's weights `ws`: into `sums`, or with `pairs`
  /// (pairSteps() > 1) into the i16 pair sums (null: none yet) that
  /// addPairs takes into `sums`.
  void dotRows(OpBuilder &sb, Location sl, ArrayRef<mlir::tfm::DotWeights> ws,
               Value xk, ArrayRef<Value> rowIdx, SmallVector<Value> &sums,
               SmallVector<Value> *pairs = nullptr) {
    int64_t nt = ws.size();
    auto quadAt = [&](Value row, Value at) {
      return sb.create<vector::LoadOp>(sl, VectorType::get({4}, sb.getI8Type()),
                                       xq, ValueRange{row, at});
    };
    for (auto [i, row] : llvm::enumerate(rowIdx)) {
      if (splitWords()) {
        // x's 4 low bytes at 2 xk, its 4 high ones at 2 xk + 4.
        Value at = sb.create<arith::MulIOp>(sl, xk, cst(2));
        Value xl =
            mlir::tfm::emitDotActivations(sb, sl, dot, quadAt(row, at), p).x;
        Value xh = mlir::tfm::emitDotActivations(
                       sb, sl, dot,
                       quadAt(row, sb.create<arith::AddIOp>(sl, at, cst(4))), p)
                       .x;
        for (int64_t j = 0; j < nt; ++j)
          sums[i * nt + j] = mlir::tfm::emitSplitWordDotStep(
              sb, sl, dot, sums[i * nt + j], ws[j].magnitude, xl, xh, p);
        continue;
      }
      if (bits == 16) {
        // x's 4 int16s at bytes 2 xk ...
        Value quad = sb.create<vector::BitCastOp>(
            sl, VectorType::get({4}, sb.getI16Type()),
            sb.create<vector::LoadOp>(
                sl, VectorType::get({8}, sb.getI8Type()), xq,
                ValueRange{row, sb.create<arith::MulIOp>(sl, xk, cst(2))}));
        Value xs = mlir::tfm::emitWordActivations(sb, sl, quad, p);
        for (int64_t j = 0; j < nt; ++j)
          sums[i * nt + j] = mlir::tfm::emitWordDotStep(
              sb, sl, dot, sums[i * nt + j], ws[j].magnitude, xs, p);
        continue;
      }
      mlir::tfm::DotActivations xs =
          mlir::tfm::emitDotActivations(sb, sl, dot, quadAt(row, xk), p);
      for (int64_t j = 0; j < nt; ++j) {
        if (!pairs) {
          sums[i * nt + j] = mlir::tfm::emitDotStep(
              sb, sl, dot, sums[i * nt + j], ws[j], xs, p);
          continue;
        }
        Value step = mlir::tfm::emitDotPairs(sb, sl, dot, ws[j], xs, p);
        Value &pair = (*pairs)[i * nt + j];
        pair =
            pair ? sb.create<arith::AddIOp>(sl, pair, step).getResult() : step;
      }
    }
  }

  /// sums + the pair sums of dotRows' `pairs`.
  void addPairs(OpBuilder &sb, Location sl, SmallVector<Value> &sums,
                ArrayRef<Value> pairs) {
    for (auto [sum, pair] : llvm::zip(sums, pairs))
      sum = mlir::tfm::emitPairSums(sb, sl, dot, sum, pair, p);
  }

  /// `raw` (4 rows of a values tile as loaded) in lanes of 4 k: as stored
  /// in quads, else transposed.
  Value lanesOf4(OpBuilder &nb, Location l, Value raw) {
    return quads ? raw : mlir::tfm::transposeQuads(nb, l, raw, p);
  }

  /// The int32 sums of kernel block kb (its first k: k0) from the weights
  /// as stored: per 4 rows of values one 4P-byte load per tile in lanes of
  /// 4 k (lanesOf4; 4-bit: two dot steps from it, the low and the high nibbles,
  /// with the tiles' high bits `high`, null without; their pair sums added in
  /// i16 where pairSteps() allows).
  scf::ForOp rawSteps(OpBuilder &nb, Location l, Value kb, Value k0,
                      ArrayRef<Value> tileIdx, ArrayRef<Value> high,
                      ArrayRef<Value> rowIdx, ValueRange sumInit) {
    const mlir::tfm::DotEncoding &de = *mlir::tfm::dotEncoding(*encoding);
    const int64_t block = mlir::tfm::kernelBlock(*encoding);
    int64_t nt = tileIdx.size();
    const int64_t blockRows = de.blockRows(block);
    const int64_t parts = de.parts();
    // The packed steps of `group` loads add their pair sums in i16 (as many
    // as pairSteps() allows: q4's all 8 of a block, q2_K / q3_K's 4) before
    // one vpmaddwd.
    const bool paired = pairSteps() >= 2;
    int64_t group = paired ? std::min(pairSteps() / parts, blockRows / 4) : 1;
    while ((blockRows / 4) % group)
      --group;
    Value row0 = nb.create<arith::MulIOp>(l, kb, cst(blockRows));
    return nb.create<scf::ForOp>(
        l, cst(0), cst(blockRows), cst(4 * group), sumInit,
        [&](OpBuilder &sb, Location sl, Value r0, ValueRange sums) {
          SmallVector<Value> next(sums), pairs(sums.size());
          for (int64_t g = 0; g < group; ++g) {
            Value r = plus(sb, sl, r0, 4 * g);
            Value kp = sb.create<arith::MulIOp>(
                sl, sb.create<arith::AddIOp>(sl, row0, r), cst(p));
            SmallVector<Value> raw;
            for (int64_t j = 0; j < nt; ++j) {
              raw.push_back(
                  lanesOf4(sb, sl,
                           sb.create<vector::LoadOp>(
                               sl, VectorType::get({4 * p}, sb.getI8Type()),
                               components[0], ValueRange{tileIdx[j], kp})));
            }
            for (int64_t part = 0; part < parts; ++part) {
              SmallVector<mlir::tfm::DotWeights> ws;
              for (int64_t j = 0; j < nt; ++j) {
                ws.push_back(
                    de.packed() ? mlir::tfm::emitPackedWeights(
                                      sb, sl, de, raw[j], part, high[j], r)
                    : bits == 16
                        ? mlir::tfm::DotWeights{raw[j], Value(), Value()}
                        : mlir::tfm::emitDotWeights(sb, sl, dot, raw[j]));
                if (widenedWords())
                  ws.back().magnitude = mlir::tfm::emitWordWeights(
                      sb, sl, de, ws.back().magnitude);
              }
              Value xk = sb.create<arith::AddIOp>(
                  sl, sb.create<arith::AddIOp>(sl, k0, r),
                  cst(block / parts * part));
              dotRows(sb, sl, ws, xk, rowIdx, next, paired ? &pairs : nullptr);
            }
          }
          if (paired)
            addPairs(sb, sl, next, pairs);
          sb.create<scf::YieldOp>(sl, next);
        });
  }

  /// rawSteps from `kept` (keepWeights): B/4 steps of 4 k, each one load
  /// per tile and no unpacking.
  scf::ForOp keptSteps(OpBuilder &nb, Location l, Value k0, Value kLo,
                       int64_t nt, ArrayRef<Value> rowIdx, ValueRange sumInit) {
    const mlir::tfm::DotEncoding &de = *mlir::tfm::dotEncoding(*encoding);
    Value at0 = nb.create<arith::SubIOp>(l, k0, kLo);
    // Two steps per iteration where their pair sums fit in i16 (more were
    // not faster: docs/design.md).
    const int64_t steps = std::min<int64_t>(2, pairSteps());
    return nb.create<scf::ForOp>(
        l, cst(0), cst(mlir::tfm::kernelBlock(*encoding)), cst(4 * steps),
        sumInit, [&](OpBuilder &sb, Location sl, Value s0, ValueRange sums) {
          SmallVector<Value> next(sums), pairs(sums.size());
          for (int64_t t = 0; t < steps; ++t) {
            Value s = plus(sb, sl, s0, 4 * t);
            Value at = sb.create<arith::MulIOp>(
                sl, sb.create<arith::AddIOp>(sl, at0, s), cst(p));
            SmallVector<mlir::tfm::DotWeights> ws;
            for (int64_t j = 0; j < nt; ++j) {
              Value v = sb.create<vector::LoadOp>(
                  sl, VectorType::get({4 * p}, sb.getI8Type()), kept,
                  ValueRange{cst(j), at});
              ws.push_back(
                  widenedWords()
                      ? mlir::tfm::DotWeights{mlir::tfm::emitWordWeights(sb, sl,
                                                                         de, v),
                                              Value(), Value()}
                  : de.packed() ? mlir::tfm::DotWeights{v, Value(), Value()}
                                : mlir::tfm::emitSignedWeights(sb, sl, dot, v));
            }
            dotRows(sb, sl, ws, sb.create<arith::AddIOp>(sl, k0, s).getResult(),
                    rowIdx, next, steps > 1 ? &pairs : nullptr);
          }
          if (steps > 1)
            addPairs(sb, sl, next, pairs);
          sb.create<scf::YieldOp>(sl, next);
        });
  }

  /// Unpacks tiles n .. n+nt of the weight over [kLo, kHi) into `kept`:
  /// row (k - kLo) / 4 of tile j holds k .. k+3 of each column in a 32-bit
  /// lane (q8_0: emitKeptWeights, as stored for int16; 2-6-bit: q, high
  /// bits included), per kernel block B.
  void keepWeights(Value n, int64_t nt, Value kLo, Value kHi) {
    const mlir::tfm::DotEncoding &de = *mlir::tfm::dotEncoding(*encoding);
    const int64_t block = mlir::tfm::kernelBlock(*encoding);
    const int64_t blockRows = de.blockRows(block);
    Type i8 = b.getI8Type();
    b.create<scf::ForOp>(
        loc, b.create<arith::DivUIOp>(loc, kLo, cst(block)),
        b.create<arith::DivUIOp>(loc, kHi, cst(block)), cst(1), ValueRange{},
        [&](OpBuilder &nb, Location l, Value kb, ValueRange) {
          Value row0 = nb.create<arith::MulIOp>(l, kb, cst(blockRows));
          Value at0 = nb.create<arith::SubIOp>(
              l, nb.create<arith::MulIOp>(l, kb, cst(block)), kLo);
          for (int64_t j = 0; j < nt; ++j) {
            Value tile = nb.create<arith::AddIOp>(l, n, cst(j));
            Value high = de.highComponent >= 0
                             ? blockComponent(nb, l, tile, kb, de.highComponent)
                             : Value();
            for (int64_t r = 0; r < blockRows; r += 4) {
              Value raw = nb.create<vector::LoadOp>(
                  l, VectorType::get({4 * p}, i8), components[0],
                  ValueRange{tile,
                             nb.create<arith::MulIOp>(
                                 l, nb.create<arith::AddIOp>(l, row0, cst(r)),
                                 cst(p))});
              Value quads = lanesOf4(nb, l, raw);
              // Packed values: row r's part `part` are k0 + B / parts
              // part + r .. (4-bit: the low nibbles k0 + r .., the high
              // ones k0 + B/2 + r ..).
              for (int64_t part = 0; part < de.parts(); ++part) {
                Value v = de.packed()
                              ? mlir::tfm::emitPackedWeights(nb, l, de, quads,
                                                             part, high, cst(r))
                                    .magnitude
                          : bits == 16
                              ? quads
                              : mlir::tfm::emitKeptWeights(nb, l, dot, quads);
                Value at = nb.create<arith::AddIOp>(
                    l, at0, cst(r + block / de.parts() * part));
                nb.create<vector::StoreOp>(
                    l, v, kept,
                    ValueRange{cst(j),
                               nb.create<arith::MulIOp>(l, at, cst(p))});
              }
            }
          }
          nb.create<scf::YieldOp>(l);
        });
    // The next register tile's values over the same K block, prefetched:
    // unpacking is a stream with little work to hide the loads' latency
    // behind, and this tile's rows take long enough for them to arrive.
    // (x86 prefetches do not fault past the array's end.)
    Value lo = b.create<arith::MulIOp>(
        loc, b.create<arith::DivUIOp>(loc, kLo, cst(block)),
        cst(blockRows * p));
    Value hi = b.create<arith::MulIOp>(
        loc, b.create<arith::DivUIOp>(loc, kHi, cst(block)),
        cst(blockRows * p));
    for (int64_t j = 0; j < nt; ++j) {
      Value tile = b.create<arith::AddIOp>(loc, n, cst(nt + j));
      b.create<scf::ForOp>(
          loc, lo, hi, cst(64), ValueRange{},
          [&](OpBuilder &nb, Location l, Value at, ValueRange) {
            nb.create<memref::PrefetchOp>(l, components[0],
                                          ValueRange{tile, at},
                                          /*isWrite=*/false,
                                          /*localityHint=*/3,
                                          /*isDataCache=*/true);
            nb.create<scf::YieldOp>(l);
          });
    }
  }
  OpBuilder &b;
  Location loc;
  int64_t k, p;
  bool oneRow, accumulate;
  int64_t rows, tiles;
  std::optional<mlir::tfm::WeightEncoding> encoding;
  mlir::tfm::IntDotIsa dot;
  int64_t bits;
  Value out, x, xq, numRows;
  /// Integer prefill: [tiles][K block * P] bytes, 4 k per lane (keepWeights).
  Value kept;
  SmallVector<Value> components; ///< The weight's (f32: its tiles).
  /// Tiles apart of a micro-kernel's nt tiles while the parts of a one-row
  /// body are emitted (null: adjacent).
  Value tileStride;
};

struct TfmGenerateKernelsPass
    : mlir::tfm::impl::TfmGenerateKernelsPassBase<TfmGenerateKernelsPass> {
  using TfmGenerateKernelsPassBase::TfmGenerateKernelsPassBase;

  void runOnOperation() override {
    if (rows < 1 || tiles < 1 || decodeTiles < 1 || intDotDecodeTiles < 1 ||
        decodeStreams < 1 || intDotDecodeStreams < 1 || intDotRows < 1 ||
        intDotDecodeStreamBudget < 0) {
      getOperation().emitError(
          "tfm-generate-kernels: rows, tiles, decode-tiles, decode-streams, "
          "int-dot-decode-tiles, int-dot-decode-streams and int-dot-rows "
          "must be >= 1, int-dot-decode-stream-budget >= 0");
      return signalPassFailure();
    }
    if (intDotHeadBits != 8 && intDotHeadBits != 16) {
      getOperation().emitError(
          "tfm-generate-kernels: int-dot-head-bits must be 8 or 16");
      return signalPassFailure();
    }
    std::optional<mlir::tfm::IntDotIsa> isa = mlir::tfm::parseIntDotIsa(intDot);
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
      // Integer dot products for the encodings that have them (q8_0, q4_*,
      // q5_*, the K-quants) where the isa's vectors are P int32 lanes and the
      // case (decode or prefill, the LM head) asks for them.
      bool oneRow =
          cast<MemRefType>(op.getDpsInputs()[0].getType()).getDimSize(0) == 1;
      bool head = op->hasAttr("tfm.lm_head");
      if (linear->encoding && mlir::tfm::dotEncoding(*linear->encoding) &&
          *isa != mlir::tfm::IntDotIsa::None &&
          mlir::tfm::intDotLanes(*isa) == linear->p &&
          (oneRow ? intDotDecode : intDotPrefill) && (intDotHead || !head)) {
        linear->dot = *isa;
        linear->bits = head ? int64_t(intDotHeadBits) : 8;
      }
      // Values in quads are for dot steps only (tfm-pack-weights sets them
      // so); any other case stays a loop nest, slow but right.
      if (linear->quads && linear->dot == mlir::tfm::IntDotIsa::None)
        return;
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
  /// or for an encoded weight its encoding's (body, out, x, components...,
  /// items, workPerItem), with integer dot products its DotEncoding's
  /// (body, out, xd, xq, components..., items, workPerItem).
  func::FuncOp scheduler(FunctionType bodyType, const PackedLinear &linear) {
    ModuleOp module = getOperation();
    StringRef name =
        linear.dot != mlir::tfm::IntDotIsa::None
            ? StringRef(mlir::tfm::dotEncoding(*linear.encoding)->scheduler)
        : linear.encoding
            ? mlir::tfm::weightEncodingInfo(*linear.encoding).scheduler
            : StringRef(kSchedulerName);
    if (auto fn = module.lookupSymbol<func::FuncOp>(name))
      return fn;
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    // The body's operands after begin and end.
    SmallVector<Type> operands = {bodyType};
    llvm::append_range(operands, bodyType.getInputs().drop_front(2));
    operands.append({b.getI64Type(), b.getI64Type()});
    auto fn = b.create<func::FuncOp>(module.getLoc(), name,
                                     b.getFunctionType(operands, {}));
    fn.setPrivate();
    fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    return fn;
  }

  /// The outlined body for (K, P, encoding, one row or not, accumulate or
  /// not).
  func::FuncOp body(int64_t k, int64_t p, bool oneRow, bool accumulate,
                    const PackedLinear &linear, Location loc) {
    std::optional<mlir::tfm::WeightEncoding> encoding = linear.encoding;
    bool isDot = linear.dot != mlir::tfm::IntDotIsa::None;
    const formats::EncodingInfo *info =
        encoding ? &mlir::tfm::formatInfo(*encoding) : nullptr;
    std::string name =
        ("tfm_linear_k" + Twine(k) + "_p" + Twine(p) +
         (info ? "_" + Twine(info->name) : Twine()) +
         (isDot ? (linear.bits == 16 ? "_dot16_" : "_dot_") +
                      mlir::tfm::intDotIsaName(linear.dot)
                : "") +
         (linear.quads ? "_quads" : "") + (oneRow ? "_row" : "_rows") +
         (accumulate ? "_acc" : ""))
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
    if (info) {
      for (const formats::EncodingComponent &comp : info->components)
        operands.push_back(
            anyStrided2D(ctx, mlir::tfm::componentType(ctx, comp.kind)));
    } else {
      operands.push_back(any);
    }
    auto fn =
        b.create<func::FuncOp>(loc, name, b.getFunctionType(operands, {}));
    fn.setPrivate();
    BodyEmitter emitter(b, loc, k, p, oneRow, accumulate,
                        isDot ? int64_t(intDotRows) : int64_t(rows), tiles,
                        encoding, linear.dot, linear.bits);
    emitter.decodeTiles = isDot ? intDotDecodeTiles : decodeTiles;
    emitter.decodeStreams = decodeStreams;
    // Integer bodies: one stream per component array and part, within the
    // budget.
    if (isDot) {
      int64_t arrays = info ? int64_t(info->components.size()) : 1;
      emitter.decodeStreams = std::max<int64_t>(
          intDotDecodeStreams, intDotDecodeStreamBudget / arrays);
    }
    emitter.quads = linear.quads;
    // An encoded weight's K blocks hold whole blocks.
    emitter.kBlock = info && kBlock > 0
                         ? int64_t(llvm::alignTo(kBlock, info->blockSize))
                         : int64_t(kBlock);
    // f32 prefill: column blocks of n-block columns, whole register tiles.
    if (!info && !isDot && nBlock > 0)
      emitter.nBlock = llvm::alignTo(llvm::divideCeil(nBlock, p), tiles);
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
    SmallVector<ReassociationIndices> tilesAsRows = {{0}, {1, 2}},
                                      quadsAsRows = {{0}, {1, 2, 3}};
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
    if (linear.dot != mlir::tfm::IntDotIsa::None) {
      // x as int8 (int16) blocks: values [M][K] ([M][2K] bytes); f32
      // scales [M][K/32], then the sums of values per kernel block B [M][K/B].
      Value numRowsIndex = b.create<memref::DimOp>(loc, x, 0);
      int64_t d = ShapedType::kDynamic;
      int64_t block = mlir::tfm::kernelBlock(*linear.encoding);
      Value xq = b.create<memref::AllocOp>(
          loc, MemRefType::get({d, k * linear.bits / 8}, b.getI8Type()),
          numRowsIndex);
      Value xd = b.create<memref::AllocOp>(
          loc, MemRefType::get({d, k / 32 + k / block}, b.getF32Type()),
          numRowsIndex);
      // int8 prefill bodies (keepWeights) and int16 bodies take the offset
      // in their int32 sums.
      const mlir::tfm::DotEncoding &de =
          *mlir::tfm::dotEncoding(*linear.encoding);
      mlir::tfm::emitQuantizeRows(
          b, loc, x, xq, xd, k, block,
          (!oneRow || linear.bits == 16) &&
                  mlir::tfm::intDotOffsetInSums(de, linear.dot, linear.bits)
              ? mlir::tfm::intDotOffset(de, linear.dot, linear.bits)
              : 0,
          linear.bits,
          linear.bits == 16 && mlir::tfm::intDotSplitWords(de, linear.dot));
      operands.append({anyView(xd), anyView(xq)});
      quantized = {xq, xd};
    } else {
      operands.push_back(anyView(x));
    }
    // The weight's tiles, or its components' (each as rows of tiles).
    SmallVector<Value> inputs = op.getDpsInputs();
    for (Value tiles : llvm::drop_begin(inputs))
      operands.push_back(anyView(b.create<memref::CollapseShapeOp>(
          loc, tiles,
          cast<MemRefType>(tiles.getType()).getRank() == 4 ? quadsAsRows
                                                           : tilesAsRows)));
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
