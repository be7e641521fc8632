//===- GenerateAttention.cpp - Vector code for fused attention ------------===//
//
// tfm-to-linalg lowers tfm.fused_attention to a call of the attention
// kernel's interface, `tfm_attention(out, q, k, v, pos, scale, causal,
// alibi)` on [T, H, hd] / [S, KV, hd] views that are transposes of the
// head-major buffers. This pass replaces each call by code specialised to
// H, KV, head_dim, the scale and the mask:
//
//   func.func private @tfm_attention_h8_kv2_d16_causal(%begin, %end,
//                                                   %out, %q, %k, %v, %pos)
//     scf.for %item = %begin to %end {     // (kv head, block of query rows)
//       qs[r] = q[h, t] * (scale * log2 e)  // every query head of the group
//       scf.for %s0 = 0 to %keys step B {  // online softmax over key blocks
//         scf.for %r ... {                 // each query of the item
//           sc[j] = reduce(fma(qs[r], k[kvh, s0 + j]))   (- alibi bias)
//           m' = max(m, max(sc)); p = exp2(sc - m'); l = l * exp2(m - m') + sum
//           p acc = acc * exp2(m - m') + sum_j broadcast(p[j]) * v[kvh, s0 + j]
//       } }
//       out[h, t] = acc / l
//     }
//   call @tfmrt_parallel_for4(%body, %out, %q, %k, %v, %pos, %items, %work)
//
// With one query row (decode) an item is a (kv head, key range) pair that
// writes its (acc, max, sum) state; the states are combined after the call
// (flash-decoding), so a long context spreads over the threads even when
// there are few heads.
//
//===----------------------------------------------------------------------===//

#include "tfm/Transforms/Passes.h"
#include "tfm/runtime/AlibiSlope.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>

namespace mlir::tfm {
#define GEN_PASS_DEF_TFMGENERATEATTENTIONPASS
#include "tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;

namespace {

constexpr StringLiteral kKernelName = "tfm_attention";
constexpr StringLiteral kSchedulerName = "tfmrt_parallel_for4";

/// memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>: the operands of the
/// scheduler and of the bodies.
MemRefType anyStrided3D(MLIRContext *ctx) {
  int64_t d = ShapedType::kDynamic;
  return MemRefType::get({d, d, d}, Float32Type::get(ctx),
                         StridedLayoutAttr::get(ctx, d, {d, d, d}));
}

/// The head-major buffer behind a kernel operand: the kernel's [dim1, dim0,
/// dim2] view is `cast(transpose(cast?(buffer)))`. Null unless the buffer has
/// static dims 0 and 2 and a unit inner stride.
Value headMajor(Value v) {
  if (auto cast = v.getDefiningOp<memref::CastOp>())
    v = cast.getSource();
  auto transpose = v.getDefiningOp<memref::TransposeOp>();
  if (!transpose || transpose.getPermutation() !=
                        AffineMap::getPermutationMap(
                            ArrayRef<unsigned>{1, 0, 2}, v.getContext()))
    return {};
  v = transpose.getIn();
  if (auto cast = v.getDefiningOp<memref::CastOp>())
    v = cast.getSource();
  auto type = dyn_cast<MemRefType>(v.getType());
  if (!type || type.getRank() != 3 || !type.getElementType().isF32() ||
      type.isDynamicDim(0) || type.isDynamicDim(2))
    return {};
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(getStridesAndOffset(type, strides, offset)) || strides[2] != 1)
    return {};
  return v;
}

/// One kernel call and what the code is specialised to.
struct Attention {
  mutable func::CallOp call;
  Value out, q, k, v, pos;
  int64_t heads, kvHeads, headDim;
  float scale;
  bool causal, alibi;
  bool oneRow; ///< T == 1 statically (decode).
};

std::optional<Attention> matchAttention(func::CallOp call) {
  if (call.getCallee() != kKernelName || call.getNumOperands() != 8)
    return std::nullopt;
  Attention a;
  a.call = call;
  a.out = headMajor(call.getOperand(0));
  a.q = headMajor(call.getOperand(1));
  a.k = headMajor(call.getOperand(2));
  a.v = headMajor(call.getOperand(3));
  a.pos = call.getOperand(4);
  FloatAttr scale;
  APInt causal, alibi;
  if (!a.out || !a.q || !a.k || !a.v ||
      !matchPattern(call.getOperand(5), m_Constant(&scale)) ||
      !matchPattern(call.getOperand(6), m_ConstantInt(&causal)) ||
      !matchPattern(call.getOperand(7), m_ConstantInt(&alibi)))
    return std::nullopt;
  auto qType = cast<MemRefType>(a.q.getType());
  auto kType = cast<MemRefType>(a.k.getType());
  auto vType = cast<MemRefType>(a.v.getType());
  auto oType = cast<MemRefType>(a.out.getType());
  a.heads = qType.getDimSize(0);
  a.headDim = qType.getDimSize(2);
  a.kvHeads = kType.getDimSize(0);
  if (a.kvHeads <= 0 || a.heads % a.kvHeads != 0 ||
      kType.getDimSize(2) != a.headDim || vType.getDimSize(0) != a.kvHeads ||
      vType.getDimSize(2) != a.headDim || oType.getDimSize(0) != a.heads ||
      oType.getDimSize(2) != a.headDim)
    return std::nullopt;
  a.scale = scale.getValueAsDouble();
  a.causal = !causal.isZero();
  a.alibi = !alibi.isZero();
  a.oneRow = qType.getDimSize(1) == 1;
  return a;
}

/// Emits the arithmetic both the caller and the bodies need, at `b`'s
/// insertion point.
class Emitter {
public:
  Emitter(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  Value idx(int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); }
  Value f32(float v) {
    return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(v));
  }
  Value splat(VectorType type, float v) {
    return b.create<arith::ConstantOp>(
        loc, type, DenseElementsAttr::get(type, b.getF32FloatAttr(v)));
  }
  Value add(Value x, Value y) { return b.create<arith::AddIOp>(loc, x, y); }
  Value sub(Value x, Value y) { return b.create<arith::SubIOp>(loc, x, y); }
  Value mul(Value x, Value y) { return b.create<arith::MulIOp>(loc, x, y); }
  Value divU(Value x, Value y) { return b.create<arith::DivUIOp>(loc, x, y); }
  Value remU(Value x, Value y) { return b.create<arith::RemUIOp>(loc, x, y); }
  Value minS(Value x, Value y) { return b.create<arith::MinSIOp>(loc, x, y); }
  Value maxS(Value x, Value y) { return b.create<arith::MaxSIOp>(loc, x, y); }
  /// (x + y - 1) / y: arith.ceildivui would need arith-expand.
  Value ceilDiv(Value x, Value y) { return divU(sub(add(x, y), idx(1)), y); }

  /// `m` viewed with a unit inner stride.
  Value view(Value m) {
    auto meta = b.create<memref::ExtractStridedMetadataOp>(loc, m);
    int64_t d = ShapedType::kDynamic;
    auto type =
        MemRefType::get({d, d, d}, b.getF32Type(),
                        StridedLayoutAttr::get(b.getContext(), d, {d, d, 1}));
    return b.create<memref::ReinterpretCastOp>(
        loc, type, m, OpFoldResult(meta.getOffset()),
        ArrayRef<OpFoldResult>{meta.getSizes()[0], meta.getSizes()[1],
                               meta.getSizes()[2]},
        ArrayRef<OpFoldResult>{meta.getStrides()[0], meta.getStrides()[1],
                               b.getIndexAttr(1)});
  }

  /// Key ranges of one-row attention over `keys` keys: ceil(keys / (2B)),
  /// between 1 and `maxSplits`.
  Value numSplits(Value keys, int64_t block, int64_t maxSplits) {
    return minS(idx(maxSplits), maxS(idx(1), ceilDiv(keys, idx(2 * block))));
  }

  OpBuilder &b;
  Location loc;
};

/// An Emitter of an outlined body: binds the body's operands (begin, end,
/// out, q, k, v, pos) and the row and key counts they imply.
class OperandEmitter : public Emitter {
public:
  using Emitter::Emitter;

  /// Adds `fn`'s entry block, sets the insertion point in it, binds the
  /// operands and returns the item range [begin, end).
  std::pair<Value, Value> bindOperands(func::FuncOp fn) {
    Block *entry = fn.addEntryBlock();
    b.setInsertionPointToStart(entry);
    out = view(entry->getArgument(2));
    q = view(entry->getArgument(3));
    k = view(entry->getArgument(4));
    v = view(entry->getArgument(5));
    pos = b.create<arith::IndexCastOp>(loc, b.getIndexType(),
                                       entry->getArgument(6));
    numRows = b.create<memref::DimOp>(loc, q, 1);
    numKeys = b.create<memref::DimOp>(loc, k, 1);
    return {entry->getArgument(0), entry->getArgument(1)};
  }

  /// The body's loop over its items [begin, end), then its return.
  void emitItems(Value begin, Value end, function_ref<void(Value)> item) {
    auto loop = b.create<scf::ForOp>(loc, begin, end, idx(1));
    b.setInsertionPointToStart(loop.getBody());
    item(loop.getInductionVar());
    b.setInsertionPointAfter(loop);
    b.create<func::ReturnOp>(loc);
  }

  Value out, q, k, v, pos, numRows, numKeys;
};

/// The outlined body of one attention shape (see the file comment).
class BodyEmitter : public OperandEmitter {
public:
  BodyEmitter(OpBuilder &b, Location loc, const Attention &a, int64_t width,
              int64_t block, int64_t rows, int64_t splits,
              FlatSymbolRefAttr slopes)
      : OperandEmitter(b, loc), a(a), block(block), splits(splits),
        slopes(slopes) {
    group = a.heads / a.kvHeads;
    rowsPerItem = a.oneRow ? 1 : rows;
    // Vectors over head_dim: the widest power of two <= width dividing it.
    hdWidth = 1;
    while (hdWidth * 2 <= width && a.headDim % (hdWidth * 2) == 0)
      hdWidth *= 2;
    scoreWidth = std::min(width, block);
    hdType = VectorType::get({hdWidth}, b.getF32Type());
    scType = VectorType::get({scoreWidth}, b.getF32Type());
  }

  void emit(func::FuncOp fn) {
    auto [begin, end] = bindOperands(fn);
    int64_t r = group * rowsPerItem, hd = a.headDim;
    Type f = b.getF32Type();
    qs = b.create<memref::AllocaOp>(loc, MemRefType::get({r, hd}, f));
    acc = b.create<memref::AllocaOp>(loc, MemRefType::get({r, hd}, f));
    runMax = b.create<memref::AllocaOp>(loc, MemRefType::get({r}, f));
    runSum = b.create<memref::AllocaOp>(loc, MemRefType::get({r}, f));
    scores = b.create<memref::AllocaOp>(loc, MemRefType::get({block}, f));
    if (slopes)
      slopeTable = b.create<memref::GetGlobalOp>(
          loc, MemRefType::get({a.heads}, f), slopes.getValue());
    emitItems(begin, end, [&](Value i) { item(i); });
  }

private:
  /// for g in [0, group), t in [0, tn): body(r, h, t), r = g * rows + t.
  void forQueries(Value kvh, Value tn,
                  llvm::function_ref<void(Value, Value, Value)> body) {
    auto gLoop = b.create<scf::ForOp>(loc, idx(0), idx(group), idx(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(gLoop.getBody());
    Value g = gLoop.getInductionVar();
    auto tLoop = b.create<scf::ForOp>(loc, idx(0), tn, idx(1));
    b.setInsertionPointToStart(tLoop.getBody());
    Value t = tLoop.getInductionVar();
    body(add(mul(g, idx(rowsPerItem)), t), add(mul(kvh, idx(group)), g), t);
  }

  Value load(Value m, ValueRange at, VectorType type) {
    return b.create<vector::LoadOp>(loc, type, m, at);
  }
  void store(Value x, Value m, ValueRange at) {
    b.create<vector::StoreOp>(loc, x, m, at);
  }
  Value reduce(vector::CombiningKind kind, Value x) {
    return b.create<vector::ReductionOp>(loc, kind, x,
                                         arith::FastMathFlags::reassoc);
  }

  void item(Value itemIdx) {
    Value kvh, t0, tn, keysLo, keysHi, split;
    if (a.oneRow) {
      // (kv head, key range): ranges of ceil(keys / splits) keys.
      Value keys = numKeys;
      Value ns = numSplits(keys, block, splits);
      kvh = divU(itemIdx, ns);
      split = remU(itemIdx, ns);
      Value len = ceilDiv(keys, ns);
      keysLo = mul(split, len);
      keysHi = minS(keys, add(keysLo, len));
      t0 = idx(0);
      tn = idx(1);
    } else {
      Value numBlocks = ceilDiv(numRows, idx(rowsPerItem));
      kvh = divU(itemIdx, numBlocks);
      t0 = mul(remU(itemIdx, numBlocks), idx(rowsPerItem));
      tn = minS(idx(rowsPerItem), sub(numRows, t0));
      keysLo = idx(0);
      // Causal: the last row of the block sees keys up to pos + t0 + tn - 1;
      // otherwise every key.
      keysHi = a.causal ? add(pos, add(t0, tn)) : numKeys;
    }
    int64_t hd = a.headDim;
    // Scaled queries, empty states.
    float qScale = a.scale * float(M_LOG2E);
    forQueries(kvh, tn, [&](Value r, Value h, Value t) {
      Value s = b.create<vector::BroadcastOp>(loc, hdType, f32(qScale));
      Value zero = splat(hdType, 0.0f);
      for (int64_t i = 0; i < hd; i += hdWidth) {
        Value x = load(q, {h, add(t0, t), idx(i)}, hdType);
        store(b.create<arith::MulFOp>(loc, x, s), qs, {r, idx(i)});
        store(zero, acc, {r, idx(i)});
      }
      b.create<memref::StoreOp>(loc, f32(-INFINITY), runMax, r);
      b.create<memref::StoreOp>(loc, f32(0.0f), runSum, r);
    });
    // Key blocks.
    auto blocks = b.create<scf::ForOp>(loc, keysLo, keysHi, idx(block));
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(blocks.getBody());
      Value s0 = blocks.getInductionVar();
      Value len = minS(idx(block), sub(keysHi, s0));
      forQueries(kvh, tn, [&](Value r, Value h, Value t) {
        Value qPos = add(pos, add(t0, t));
        Value lenR = len;
        if (a.causal)
          lenR = maxS(idx(0), minS(len, sub(add(qPos, idx(1)), s0)));
        Value any = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sgt,
                                            lenR, idx(0));
        auto ifOp = b.create<scf::IfOp>(loc, any, /*withElse=*/false);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(&ifOp.getThenRegion().front());
        update(r, h, kvh, qPos, s0, lenR);
      });
    }
    // Results.
    forQueries(kvh, tn, [&](Value r, Value h, Value t) {
      if (a.oneRow) {
        // The partial state: acc, then max and sum.
        for (int64_t i = 0; i < hd; i += hdWidth)
          store(load(acc, {r, idx(i)}, hdType), out, {split, h, idx(i)});
        Value m = b.create<memref::LoadOp>(loc, runMax, r);
        Value l = b.create<memref::LoadOp>(loc, runSum, r);
        b.create<memref::StoreOp>(loc, m, out, ValueRange{split, h, idx(hd)});
        b.create<memref::StoreOp>(loc, l, out,
                                  ValueRange{split, h, idx(hd + 1)});
        return;
      }
      Value l = b.create<memref::LoadOp>(loc, runSum, r);
      Value inv = b.create<vector::BroadcastOp>(
          loc, hdType, b.create<arith::DivFOp>(loc, f32(1.0f), l));
      for (int64_t i = 0; i < hd; i += hdWidth)
        store(b.create<arith::MulFOp>(loc, load(acc, {r, idx(i)}, hdType), inv),
              out, {h, add(t0, t), idx(i)});
    });
  }

  /// Query r (head h, at qPos) against keys [s0, s0 + len), len > 0.
  void update(Value r, Value h, Value kvh, Value qPos, Value s0, Value len) {
    int64_t hd = a.headDim;
    Value negInf = splat(scType, -INFINITY);
    for (int64_t c = 0; c < block; c += scoreWidth)
      store(negInf, scores, {idx(c)});
    SmallVector<Value> qv;
    for (int64_t i = 0; i < hd; i += hdWidth)
      qv.push_back(load(qs, {r, idx(i)}, hdType));
    Value slope;
    if (slopeTable)
      slope = b.create<memref::LoadOp>(loc, slopeTable, h);
    // Scores (log2 domain): one FMA chain and one reduction per key.
    auto scoreLoop = b.create<scf::ForOp>(loc, idx(0), len, idx(1));
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(scoreLoop.getBody());
      Value j = scoreLoop.getInductionVar();
      Value s = add(s0, j);
      Value d = splat(hdType, 0.0f);
      for (int64_t i = 0; i < hd; i += hdWidth)
        d = b.create<vector::FMAOp>(loc, qv[i / hdWidth],
                                    load(k, {kvh, s, idx(i)}, hdType), d);
      Value x = reduce(vector::CombiningKind::ADD, d);
      if (slope) {
        Value dist = b.create<arith::SIToFPOp>(
            loc, b.getF32Type(),
            b.create<arith::IndexCastOp>(loc, b.getI64Type(), sub(qPos, s)));
        x = b.create<arith::SubFOp>(loc, x,
                                    b.create<arith::MulFOp>(loc, slope, dist));
      }
      b.create<memref::StoreOp>(loc, x, scores, j);
    }
    // Block max, probabilities, sum.
    Value bm = negInf;
    for (int64_t c = 0; c < block; c += scoreWidth)
      bm = b.create<arith::MaximumFOp>(loc, bm, load(scores, {idx(c)}, scType));
    Value mOld = b.create<memref::LoadOp>(loc, runMax, r);
    Value mNew = b.create<arith::MaximumFOp>(
        loc, mOld, reduce(vector::CombiningKind::MAXIMUMF, bm));
    Value corr =
        b.create<math::Exp2Op>(loc, b.create<arith::SubFOp>(loc, mOld, mNew));
    Value mNewV = b.create<vector::BroadcastOp>(loc, scType, mNew);
    Value sum = splat(scType, 0.0f);
    for (int64_t c = 0; c < block; c += scoreWidth) {
      Value p = b.create<math::Exp2Op>(
          loc,
          b.create<arith::SubFOp>(loc, load(scores, {idx(c)}, scType), mNewV));
      store(p, scores, {idx(c)});
      sum = b.create<arith::AddFOp>(loc, sum, p);
    }
    Value lOld = b.create<memref::LoadOp>(loc, runSum, r);
    Value lNew =
        b.create<arith::AddFOp>(loc, b.create<arith::MulFOp>(loc, lOld, corr),
                                reduce(vector::CombiningKind::ADD, sum));
    b.create<memref::StoreOp>(loc, lNew, runSum, r);
    b.create<memref::StoreOp>(loc, mNew, runMax, r);
    // acc = acc * corr + sum_j p[j] * v[s0 + j].
    Value corrV = b.create<vector::BroadcastOp>(loc, hdType, corr);
    SmallVector<Value> init;
    for (int64_t i = 0; i < hd; i += hdWidth)
      init.push_back(
          b.create<arith::MulFOp>(loc, load(acc, {r, idx(i)}, hdType), corrV));
    auto pv = b.create<scf::ForOp>(
        loc, idx(0), len, idx(1), init,
        [&](OpBuilder &nb, Location l, Value j, ValueRange accs) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          Value p = b.create<vector::BroadcastOp>(
              loc, hdType, b.create<memref::LoadOp>(loc, scores, j));
          Value s = add(s0, j);
          SmallVector<Value> next;
          for (int64_t i = 0; i < hd; i += hdWidth)
            next.push_back(b.create<vector::FMAOp>(
                loc, p, load(v, {kvh, s, idx(i)}, hdType), accs[i / hdWidth]));
          b.create<scf::YieldOp>(loc, next);
        });
    for (int64_t i = 0; i < hd; i += hdWidth)
      store(pv.getResult(i / hdWidth), acc, {r, idx(i)});
  }

  const Attention &a;
  int64_t block, splits;
  FlatSymbolRefAttr slopes;
  int64_t group, rowsPerItem, hdWidth, scoreWidth;
  VectorType hdType, scType;
  Value qs, acc, runMax, runSum, scores, slopeTable;
};

/// Prefill without ALiBi, the lanes of one vector over query rows: an item
/// is a key/value head and `lanes` (query head of the group, row) pairs, so
/// the group's queries share every key and value load. Per key the scores of
/// all lanes are head_dim FMAs of a column of the transposed, scaled queries
/// by a broadcast key element, with no horizontal sum; the running max and
/// sum are vectors; each value element is broadcast once and FMAed into the
/// lanes' accumulators. Keys go `kKeyGroup` at a time (independent FMA
/// chains) and values `kValueGroup` head_dim elements at a time.
class LanesEmitter : public OperandEmitter {
public:
  static constexpr int64_t kKeyGroup = 8;
  static constexpr int64_t kValueGroup = 8;

  /// Whether this body fits `a`: prefill, no ALiBi, the group's query heads
  /// a divisor of the lanes.
  static bool fits(const Attention &a, int64_t lanes) {
    int64_t group = a.heads / a.kvHeads;
    return !a.oneRow && !a.alibi && lanes >= 2 && lanes % group == 0;
  }

  /// Query rows per item.
  static int64_t rowsPerItem(const Attention &a, int64_t lanes) {
    return lanes / (a.heads / a.kvHeads);
  }

  LanesEmitter(OpBuilder &b, Location loc, const Attention &a, int64_t lanes,
               int64_t block)
      : OperandEmitter(b, loc), a(a), lanes(lanes), block(block) {
    group = a.heads / a.kvHeads;
    rows = rowsPerItem(a, lanes);
    vType = VectorType::get({lanes}, b.getF32Type());
    valueGroup = kValueGroup;
    while (a.headDim % valueGroup != 0)
      valueGroup /= 2;
  }

  void emit(func::FuncOp fn) {
    auto [begin, end] = bindOperands(fn);
    Type f = b.getF32Type();
    int64_t hd = a.headDim;
    // [head_dim][lanes]: queries transposed, then the accumulators.
    qs = b.create<memref::AllocaOp>(loc, MemRefType::get({hd, lanes}, f));
    acc = b.create<memref::AllocaOp>(loc, MemRefType::get({hd, lanes}, f));
    int64_t padded = (block + kKeyGroup - 1) / kKeyGroup * kKeyGroup;
    scores =
        b.create<memref::AllocaOp>(loc, MemRefType::get({padded, lanes}, f));
    emitItems(begin, end, [&](Value i) { item(i); });
  }

private:
  /// scf.for over [lo, hi) by `step` with `init`; body returns the yields.
  scf::ForOp
  loop(Value lo, Value hi, Value step, ValueRange init,
       llvm::function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto forOp = b.create<scf::ForOp>(loc, lo, hi, step, init);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forOp.getBody());
    SmallVector<Value> next =
        body(forOp.getInductionVar(), forOp.getRegionIterArgs());
    if (init.empty() && next.empty())
      return forOp; // the builder added the empty yield
    b.create<scf::YieldOp>(loc, next);
    return forOp;
  }

  /// for g in [0, group), t in [0, tn): body(lane, h, t).
  void forLanes(Value kvh, Value tn,
                llvm::function_ref<void(Value, Value, Value)> body) {
    loop(idx(0), idx(group), idx(1), {}, [&](Value g, ValueRange) {
      loop(idx(0), tn, idx(1), {}, [&](Value t, ValueRange) {
        body(add(mul(g, idx(rows)), t), add(mul(kvh, idx(group)), g), t);
        return SmallVector<Value>{};
      });
      return SmallVector<Value>{};
    });
  }

  Value vload(Value m, ValueRange at) {
    return b.create<vector::LoadOp>(loc, vType, m, at);
  }
  void vstore(Value x, Value m, ValueRange at) {
    b.create<vector::StoreOp>(loc, x, m, at);
  }
  Value bcast(Value m, ValueRange at) {
    return b.create<vector::BroadcastOp>(loc, vType,
                                         b.create<memref::LoadOp>(loc, m, at));
  }

  void item(Value itemIdx) {
    int64_t hd = a.headDim;
    Value numBlocks = ceilDiv(numRows, idx(rows));
    Value kvh = divU(itemIdx, numBlocks);
    Value t0 = mul(remU(itemIdx, numBlocks), idx(rows));
    Value tn = minS(idx(rows), sub(numRows, t0));
    // Causal: the item's last row sees keys up to pos + t0 + tn - 1.
    Value keysHi = a.causal ? add(pos, add(t0, tn)) : numKeys;
    Value zero = splat(vType, 0.0f), negInf = splat(vType, -INFINITY);
    loop(idx(0), idx(hd), idx(1), {}, [&](Value d, ValueRange) {
      vstore(zero, qs, {d, idx(0)});
      vstore(zero, acc, {d, idx(0)});
      return SmallVector<Value>{};
    });
    Value qScale = f32(a.scale * float(M_LOG2E));
    forLanes(kvh, tn, [&](Value lane, Value h, Value t) {
      loop(idx(0), idx(hd), idx(1), {}, [&](Value d, ValueRange) {
        Value x =
            b.create<memref::LoadOp>(loc, q, ValueRange{h, add(t0, t), d});
        b.create<memref::StoreOp>(loc, b.create<arith::MulFOp>(loc, x, qScale),
                                  qs, ValueRange{d, lane});
        return SmallVector<Value>{};
      });
    });
    // Lane l's position pos + t0 + l % rows (causal masks).
    Value qPos;
    if (a.causal) {
      auto iType = VectorType::get({lanes}, b.getI32Type());
      SmallVector<int32_t> laneRows;
      for (int64_t l = 0; l < lanes; ++l)
        laneRows.push_back(int32_t(l % rows));
      Value base = b.create<vector::BroadcastOp>(
          loc, iType,
          b.create<arith::IndexCastOp>(loc, b.getI32Type(), add(pos, t0)));
      qPos = b.create<arith::AddIOp>(
          loc, base,
          b.create<arith::ConstantOp>(
              loc, iType,
              DenseElementsAttr::get(iType, llvm::ArrayRef(laneRows))));
    }
    auto blocks = loop(
        idx(0), keysHi, idx(block), {negInf, zero},
        [&](Value s0, ValueRange state) {
          Value len = minS(idx(block), sub(keysHi, s0));
          Value m = scoreBlock(kvh, s0, len, keysHi, qPos, state[0]);
          Value corr = b.create<math::Exp2Op>(
              loc, b.create<arith::SubFOp>(loc, state[0], m));
          // Probabilities in place, and their sum.
          Value sum =
              loop(idx(0), len, idx(1), {zero}, [&](Value j, ValueRange s) {
                Value p = b.create<math::Exp2Op>(
                    loc, b.create<arith::SubFOp>(
                             loc, vload(scores, {j, idx(0)}), m));
                vstore(p, scores, {j, idx(0)});
                return SmallVector<Value>{
                    b.create<arith::AddFOp>(loc, s[0], p)};
              }).getResult(0);
          Value l = b.create<vector::FMAOp>(loc, state[1], corr, sum);
          accumulate(kvh, s0, len, corr);
          return SmallVector<Value>{m, l};
        });
    Value inv =
        b.create<arith::DivFOp>(loc, splat(vType, 1.0f), blocks.getResult(1));
    loop(idx(0), idx(hd), idx(1), {}, [&](Value d, ValueRange) {
      vstore(b.create<arith::MulFOp>(loc, vload(acc, {d, idx(0)}), inv), acc,
             {d, idx(0)});
      return SmallVector<Value>{};
    });
    forLanes(kvh, tn, [&](Value lane, Value h, Value t) {
      loop(idx(0), idx(hd), idx(1), {}, [&](Value d, ValueRange) {
        b.create<memref::StoreOp>(
            loc, b.create<memref::LoadOp>(loc, acc, ValueRange{d, lane}), out,
            ValueRange{h, add(t0, t), d});
        return SmallVector<Value>{};
      });
    });
  }

  /// Scores of keys [s0, s0 + len) into `scores` (masked ones -inf); returns
  /// max(mOld, their max). Keys past the block in the last group of
  /// kKeyGroup read the block's last key and are masked.
  Value scoreBlock(Value kvh, Value s0, Value len, Value keysHi, Value qPos,
                   Value mOld) {
    int64_t hd = a.headDim;
    Value zero = splat(vType, 0.0f), negInf = splat(vType, -INFINITY);
    Value last = sub(keysHi, idx(1));
    return loop(idx(0), len, idx(kKeyGroup), {mOld},
                [&](Value j0, ValueRange bm) {
                  SmallVector<Value> keys, init(kKeyGroup, zero);
                  for (int64_t i = 0; i < kKeyGroup; ++i)
                    keys.push_back(minS(add(s0, add(j0, idx(i))), last));
                  auto dots = loop(
                      idx(0), idx(hd), idx(1), init,
                      [&](Value d, ValueRange sums) {
                        Value qd = vload(qs, {d, idx(0)});
                        SmallVector<Value> next;
                        for (int64_t i = 0; i < kKeyGroup; ++i)
                          next.push_back(b.create<vector::FMAOp>(
                              loc, qd, bcast(k, {kvh, keys[i], d}), sums[i]));
                        return next;
                      });
                  Value m = bm[0];
                  for (int64_t i = 0; i < kKeyGroup; ++i) {
                    Value j = add(j0, idx(i));
                    Value x = b.create<arith::SelectOp>(
                        loc,
                        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult,
                                                j, len),
                        dots.getResult(i), negInf);
                    if (qPos) {
                      auto iType = cast<VectorType>(qPos.getType());
                      Value s = b.create<vector::BroadcastOp>(
                          loc, iType,
                          b.create<arith::IndexCastOp>(loc, b.getI32Type(),
                                                       add(s0, j)));
                      x = b.create<arith::SelectOp>(
                          loc,
                          b.create<arith::CmpIOp>(
                              loc, arith::CmpIPredicate::sle, s, qPos),
                          x, negInf);
                    }
                    vstore(x, scores, {j, idx(0)});
                    m = b.create<arith::MaximumFOp>(loc, m, x);
                  }
                  return SmallVector<Value>{m};
                })
        .getResult(0);
  }

  /// acc = acc * corr + sum_j p[j] * v[s0 + j], valueGroup elements of
  /// head_dim at a time.
  void accumulate(Value kvh, Value s0, Value len, Value corr) {
    loop(idx(0), idx(a.headDim), idx(valueGroup), {},
         [&](Value d0, ValueRange) {
           SmallVector<Value> init, at;
           for (int64_t i = 0; i < valueGroup; ++i) {
             at.push_back(add(d0, idx(i)));
             init.push_back(b.create<arith::MulFOp>(
                 loc, vload(acc, {at.back(), idx(0)}), corr));
           }
           auto pv =
               loop(idx(0), len, idx(1), init, [&](Value j, ValueRange accs) {
                 Value p = vload(scores, {j, idx(0)});
                 Value s = add(s0, j);
                 SmallVector<Value> next;
                 for (int64_t i = 0; i < valueGroup; ++i)
                   next.push_back(b.create<vector::FMAOp>(
                       loc, bcast(v, {kvh, s, at[i]}), p, accs[i]));
                 return next;
               });
           for (int64_t i = 0; i < valueGroup; ++i)
             vstore(pv.getResult(i), acc, {at[i], idx(0)});
           return SmallVector<Value>{};
         });
  }

  const Attention &a;
  int64_t lanes, block, group, rows, valueGroup;
  VectorType vType;
  Value qs, acc, scores;
};

struct TfmGenerateAttentionPass
    : mlir::tfm::impl::TfmGenerateAttentionPassBase<TfmGenerateAttentionPass> {
  using TfmGenerateAttentionPassBase::TfmGenerateAttentionPassBase;

  void runOnOperation() override {
    if (vectorWidth < 1 || block < 1 || rows < 1 || splits < 1 ||
        block % std::min<int64_t>(vectorWidth, block) != 0) {
      getOperation().emitError(
          "tfm-generate-attention: vector-width, block, rows and splits must "
          "be >= 1 and block a multiple of vector-width");
      return signalPassFailure();
    }
    SmallVector<Attention> work;
    WalkResult walk = getOperation().walk([&](func::CallOp call) {
      if (call.getCallee() != kKernelName)
        return WalkResult::advance();
      std::optional<Attention> a = matchAttention(call);
      if (!a) {
        // No library defines the kernel: a call left would not link.
        call.emitError("tfm-generate-attention: cannot generate this "
                       "attention (head-major buffers with static heads and "
                       "head_dim, unit inner stride, constant scale and "
                       "flags expected)");
        return WalkResult::interrupt();
      }
      work.push_back(*a);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();
    for (const Attention &a : work)
      generate(a);
    // The kernel's declaration goes with its last call.
    ModuleOp module = getOperation();
    if (auto decl = module.lookupSymbol<func::FuncOp>(kKernelName))
      if (decl.isDeclaration() &&
          SymbolTable::symbolKnownUseEmpty(decl, module.getOperation()))
        decl.erase();
  }

  /// tfmrt_parallel_for4(body, a, b, c, d, scalar, items, workPerItem).
  func::FuncOp scheduler(FunctionType bodyType) {
    ModuleOp module = getOperation();
    if (auto fn = module.lookupSymbol<func::FuncOp>(kSchedulerName))
      return fn;
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    MemRefType any = anyStrided3D(&getContext());
    Type i64 = b.getI64Type();
    auto fn = b.create<func::FuncOp>(
        module.getLoc(), kSchedulerName,
        b.getFunctionType({bodyType, any, any, any, any, i64, i64, i64}, {}));
    fn.setPrivate();
    fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    return fn;
  }

  /// ALiBi slopes times log2(e), one per query head, as a constant global.
  FlatSymbolRefAttr slopeGlobal(int64_t heads, Location loc) {
    std::string name = ("__tfm_alibi_log2_slopes_h" + Twine(heads)).str();
    ModuleOp module = getOperation();
    if (!module.lookupSymbol(name)) {
      OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
      SmallVector<float> values;
      for (int64_t h = 0; h < heads; ++h)
        values.push_back(static_cast<float>(
            static_cast<double>(::tfm::rt::alibiSlope(h, heads)) * M_LOG2E));
      auto type = MemRefType::get({heads}, b.getF32Type());
      auto init =
          DenseElementsAttr::get(RankedTensorType::get({heads}, b.getF32Type()),
                                 llvm::ArrayRef(values));
      b.create<memref::GlobalOp>(loc, name, b.getStringAttr("private"), type,
                                 init, /*constant=*/true,
                                 /*alignment=*/IntegerAttr());
    }
    return FlatSymbolRefAttr::get(&getContext(), name);
  }

  func::FuncOp body(const Attention &a, Location loc) {
    std::string name = ("tfm_attention_h" + Twine(a.heads) + "_kv" +
                        Twine(a.kvHeads) + "_d" + Twine(a.headDim) +
                        (a.oneRow                             ? "_row"
                         : LanesEmitter::fits(a, vectorWidth) ? "_lanes"
                                                              : "_rows") +
                        (a.causal ? "_causal" : "") + (a.alibi ? "_alibi" : ""))
                           .str();
    // The scale is part of the code: a second scale gets its own body.
    ModuleOp module = getOperation();
    for (int n = 0;; ++n) {
      std::string candidate = n ? name + "_" + std::to_string(n) : name;
      auto fn = module.lookupSymbol<func::FuncOp>(candidate);
      if (!fn) {
        name = candidate;
        break;
      }
      auto scale = fn->getAttrOfType<FloatAttr>("tfm.scale");
      if (scale && scale.getValueAsDouble() == double(a.scale))
        return fn;
    }
    OpBuilder b(&getContext());
    b.setInsertionPointToEnd(module.getBody());
    MemRefType any = anyStrided3D(&getContext());
    Type index = b.getIndexType();
    auto fn = b.create<func::FuncOp>(
        loc, name,
        b.getFunctionType({index, index, any, any, any, any, b.getI64Type()},
                          {}));
    fn.setPrivate();
    fn->setAttr("tfm.scale", b.getF32FloatAttr(a.scale));
    FlatSymbolRefAttr slopes;
    if (a.alibi)
      slopes = slopeGlobal(a.heads, loc);
    if (LanesEmitter::fits(a, vectorWidth)) {
      LanesEmitter(b, loc, a, vectorWidth, block).emit(fn);
      return fn;
    }
    BodyEmitter emitter(b, loc, a, vectorWidth, block, rows, splits, slopes);
    emitter.emit(fn);
    return fn;
  }

  void generate(const Attention &a) {
    Location loc = a.call.getLoc();
    func::FuncOp fn = body(a, loc);
    OpBuilder b(a.call);
    Emitter e(b, loc);
    MemRefType any = anyStrided3D(&getContext());
    auto cast = [&](Value v) { return b.create<memref::CastOp>(loc, any, v); };
    Type i64 = b.getI64Type();
    auto toI64 = [&](Value v) {
      return b.create<arith::IndexCastOp>(loc, i64, v);
    };
    Value fnRef = b.create<func::ConstantOp>(loc, fn.getFunctionType(),
                                             SymbolRefAttr::get(fn));
    int64_t group = a.heads / a.kvHeads, hd = a.headDim;
    if (!a.oneRow) {
      Value numRows = b.create<memref::DimOp>(loc, a.q, 1);
      Value keys = b.create<memref::DimOp>(loc, a.k, 1);
      int64_t itemRows = LanesEmitter::fits(a, vectorWidth)
                             ? LanesEmitter::rowsPerItem(a, vectorWidth)
                             : int64_t(rows);
      Value items =
          e.mul(e.idx(a.kvHeads), e.ceilDiv(numRows, e.idx(itemRows)));
      // Multiply-adds per item: rows * group * 2 * keys * hd (at most).
      Value work = e.mul(keys, e.idx(2 * itemRows * group * hd));
      b.create<func::CallOp>(loc, scheduler(fn.getFunctionType()),
                             ValueRange{fnRef, cast(a.out), cast(a.q),
                                        cast(a.k), cast(a.v), a.pos,
                                        toI64(items), toI64(work)});
      a.call.erase();
      ++numGenerated;
      return;
    }
    // Decode: partial states [split][head][acc | max | sum], then combine.
    auto partType = MemRefType::get({splits, a.heads, hd + 2}, b.getF32Type());
    Value part = b.create<memref::AllocOp>(loc, partType);
    Value keys = b.create<memref::DimOp>(loc, a.k, 1);
    Value ns = e.numSplits(keys, block, splits);
    Value items = e.mul(e.idx(a.kvHeads), ns);
    Value work = e.mul(e.ceilDiv(keys, ns), e.idx(2 * group * hd));
    b.create<func::CallOp>(loc, scheduler(fn.getFunctionType()),
                           ValueRange{fnRef, cast(part), cast(a.q), cast(a.k),
                                      cast(a.v), a.pos, toI64(items),
                                      toI64(work)});
    combine(b, e, a, part, ns);
    b.create<memref::DeallocOp>(loc, part);
    a.call.erase();
    ++numGenerated;
  }

  /// out[h, 0] = sum_j acc_j * 2^(m_j - M) / sum_j l_j * 2^(m_j - M).
  void combine(OpBuilder &b, Emitter &e, const Attention &a, Value part,
               Value ns) {
    Location loc = e.loc;
    int64_t hd = a.headDim, width = 1;
    while (width * 2 <= vectorWidth && hd % (width * 2) == 0)
      width *= 2;
    auto vType = VectorType::get({width}, b.getF32Type());
    auto heads = b.create<scf::ForOp>(loc, e.idx(0), e.idx(a.heads), e.idx(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(heads.getBody());
    Value h = heads.getInductionVar();
    auto maxLoop = b.create<scf::ForOp>(
        loc, e.idx(0), ns, e.idx(1), ValueRange{e.f32(-INFINITY)},
        [&](OpBuilder &nb, Location l, Value j, ValueRange m) {
          Value mj =
              nb.create<memref::LoadOp>(l, part, ValueRange{j, h, e.idx(hd)});
          nb.create<scf::YieldOp>(
              l, ValueRange{nb.create<arith::MaximumFOp>(l, m[0], mj)});
        });
    Value mMax = maxLoop.getResult(0);
    SmallVector<Value> init(hd / width + 1, e.splat(vType, 0.0f));
    init.back() = e.f32(0.0f);
    auto sumLoop = b.create<scf::ForOp>(
        loc, e.idx(0), ns, e.idx(1), init,
        [&](OpBuilder &nb, Location l, Value j, ValueRange accs) {
          OpBuilder::InsertionGuard g2(b);
          b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          Value mj =
              b.create<memref::LoadOp>(l, part, ValueRange{j, h, e.idx(hd)});
          Value lj = b.create<memref::LoadOp>(l, part,
                                              ValueRange{j, h, e.idx(hd + 1)});
          Value w =
              b.create<math::Exp2Op>(l, b.create<arith::SubFOp>(l, mj, mMax));
          Value wv = b.create<vector::BroadcastOp>(l, vType, w);
          SmallVector<Value> next;
          for (int64_t i = 0; i < hd; i += width)
            next.push_back(b.create<vector::FMAOp>(
                l, wv,
                b.create<vector::LoadOp>(l, vType, part,
                                         ValueRange{j, h, e.idx(i)}),
                accs[i / width]));
          next.push_back(b.create<arith::AddFOp>(
              l, accs.back(), b.create<arith::MulFOp>(l, lj, w)));
          b.create<scf::YieldOp>(l, next);
        });
    Value inv = b.create<vector::BroadcastOp>(
        loc, vType,
        b.create<arith::DivFOp>(loc, e.f32(1.0f), sumLoop.getResults().back()));
    for (int64_t i = 0; i < hd; i += width)
      b.create<vector::StoreOp>(
          loc, b.create<arith::MulFOp>(loc, sumLoop.getResult(i / width), inv),
          a.out, ValueRange{h, e.idx(0), e.idx(i)});
  }
};

} // namespace
