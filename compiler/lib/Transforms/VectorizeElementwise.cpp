//===- VectorizeElementwise.cpp - Tile and vectorize elementwise linalg ---===//
//
// Norms, activations, residual adds and transposes reach LLVM as scalar
// loops from convert-linalg-to-loops, and LLVM's loop vectorizer gives up on
// them (it cannot bound the memref descriptors' pointers for its alias
// checks, nor reorder float reductions). So they are vectorized here, on
// buffers (where bufferization has decided every in-place update): one row
// at a time (every outer loop tiled by 1, the dynamic token count included),
// the innermost, static loop in chunks, each tile handed to
// linalg::vectorize. See Passes.td for what is left alone.
//
//===----------------------------------------------------------------------===//

#include "tfm/Transforms/Passes.h"

#include "mlir/Dialect/Affine/Utils.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::tfm {
#define GEN_PASS_DEF_TFMVECTORIZEELEMENTWISEPASS
#include "tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;

namespace {

/// The largest innermost tile: 32 zmm registers' worth, so a chunk's
/// vectors stay in registers whatever the model's width.
constexpr int64_t kMaxChunk = 512;
/// Chunks are whole vectors of the widest target (AVX-512: 16 floats).
constexpr int64_t kLanes = 16;

/// The innermost loop's static size, if `op` is one this pass vectorizes:
/// a generic or transpose on buffers with projected-permutation maps,
/// reducing (if at all) one input over its innermost loop only.
/// Contractions (linear layers, attention matmuls) and fills stay.
std::optional<int64_t> innermostSize(linalg::LinalgOp op) {
  if (!isa<linalg::GenericOp, linalg::TransposeOp>(op.getOperation()) ||
      !op.hasPureBufferSemantics() || op.getNumLoops() == 0 ||
      !op.hasOnlyProjectedPermutations())
    return std::nullopt;
  for (OpOperand &operand : op->getOpOperands())
    if (!isa<MemRefType>(operand.get().getType()))
      return std::nullopt;
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  for (size_t i = 0; i + 1 < iters.size(); ++i)
    if (iters[i] != utils::IteratorType::parallel)
      return std::nullopt;
  if (iters.back() == utils::IteratorType::reduction &&
      op.getNumDpsInputs() != 1)
    return std::nullopt;
  int64_t size = op.getStaticLoopRanges().back();
  if (ShapedType::isDynamic(size))
    return std::nullopt;
  return size;
}

/// The innermost tile: the largest multiple of kLanes up to kMaxChunk that
/// divides `size`; `size` itself when it is small or has none.
int64_t chunkOf(int64_t size) {
  if (size <= kMaxChunk)
    return size;
  for (int64_t c = kMaxChunk; c >= kLanes; c -= kLanes)
    if (size % c == 0)
      return c;
  return size;
}

/// Replaces `op` by a loop nest over its tiles (every outer loop by 1, the
/// innermost by `chunk`) around a copy of it on static views of the tile;
/// returns the copy.
linalg::LinalgOp tile(RewriterBase &b, linalg::LinalgOp op, int64_t size,
                      int64_t chunk) {
  Location loc = op.getLoc();
  b.setInsertionPoint(op);
  SmallVector<Range> ranges = op.createLoopRanges(b, loc);
  int64_t n = op.getNumLoops();
  SmallVector<Value> lbs, ubs, steps;
  auto cst = [&](int64_t v) {
    return b.create<arith::ConstantIndexOp>(loc, v).getResult();
  };
  for (int64_t d = 0; d + 1 < n; ++d) {
    lbs.push_back(cst(0));
    ubs.push_back(getValueOrCreateConstantIndexOp(b, loc, ranges[d].size));
    steps.push_back(cst(1));
  }
  if (chunk != size) {
    lbs.push_back(cst(0));
    ubs.push_back(cst(size));
    steps.push_back(cst(chunk));
  }
  linalg::LinalgOp tiled;
  scf::buildLoopNest(
      b, loc, lbs, ubs, steps, [&](OpBuilder &nb, Location l, ValueRange ivs) {
        // Per loop: where the tile starts and how long it is.
        SmallVector<OpFoldResult> at(n, nb.getIndexAttr(0)),
            len(n, nb.getIndexAttr(1));
        for (int64_t d = 0; d < int64_t(ivs.size()); ++d)
          at[d] = ivs[d];
        len[n - 1] = nb.getIndexAttr(chunk);
        SmallVector<Value> operands;
        for (OpOperand &operand : op->getOpOperands()) {
          AffineMap map = op.getMatchingIndexingMap(&operand);
          SmallVector<OpFoldResult> offsets, sizes, strides;
          for (AffineExpr e : map.getResults()) {
            unsigned d = cast<AffineDimExpr>(e).getPosition();
            offsets.push_back(at[d]);
            sizes.push_back(len[d]);
            strides.push_back(nb.getIndexAttr(1));
          }
          operands.push_back(nb.create<memref::SubViewOp>(
              l, operand.get(), offsets, sizes, strides));
        }
        tiled = cast<linalg::LinalgOp>(
            mlir::clone(nb, op.getOperation(), TypeRange{}, operands));
        linalg::offsetIndices(nb, tiled, at);
      });
  b.eraseOp(op);
  return tiled;
}

/// What a value of a tile's body is across the tile's `chunk` lanes (the
/// innermost loop).
struct Lanes {
  enum Kind { Uniform, Index, Bool, Vector } kind = Uniform;
  /// Uniform: the scalar; Vector: the vector; Index: the base (null = 0).
  Value value;
  /// Index: lane l is base + offsets[l]; Bool: lane l is offsets[l] != 0.
  SmallVector<int64_t> offsets;
};

/// Vectorizes a tile whose body loads by computed index, which
/// linalg::vectorize refuses (rotary embeddings' partner element and
/// tables, the embedding gather). The indices are tracked per lane: a
/// value of the outer loops is uniform (stays scalar), one derived from
/// the innermost index by adds, constant multiplies, divisions and
/// remainders is base + a constant per lane, known at compile time. A load
/// whose last index is such a value and whose other indices are uniform
/// reads the span of the lanes' offsets with one vector.load and a
/// vector.shuffle (rotary: the pair partner and the half-width tables;
/// gather: the token's row). Everything else is elementwise on vectors.
/// Fails (leaving the tile scalar) on anything else.
class LaneVectorizer {
public:
  LaneVectorizer(RewriterBase &b, linalg::GenericOp op, int64_t chunk)
      : b(b), op(op), loc(op.getLoc()), chunk(chunk) {}

  /// On failure the ops made so far go and the tile stays as it was
  /// (offsetIndices' affine.apply now arith).
  LogicalResult run() {
    Operation *before = op->getPrevNode();
    if (succeeded(tryRun()))
      return success();
    SmallVector<Operation *> made;
    for (Operation *o = before ? before->getNextNode()
                               : &op->getBlock()->front();
         o != op.getOperation(); o = o->getNextNode())
      made.push_back(o);
    for (Operation *o : llvm::reverse(made))
      b.eraseOp(o);
    return failure();
  }

private:
  LogicalResult tryRun() {
    if (op.getNumDpsInits() != 1 || op.getNumReductionLoops() != 0 ||
        !op.getRegion().hasOneBlock())
      return failure();
    // offsetIndices' affine.apply of the tile's position, as arith.
    SmallVector<affine::AffineApplyOp> applies;
    op.getBody()->walk([&](affine::AffineApplyOp a) { applies.push_back(a); });
    for (affine::AffineApplyOp a : applies) {
      b.setInsertionPoint(a);
      std::optional<SmallVector<Value>> expanded = affine::expandAffineMap(
          b, a.getLoc(), a.getAffineMap(), llvm::to_vector(a.getOperands()));
      if (!expanded)
        return failure();
      b.replaceOp(a, *expanded);
    }
    b.setInsertionPoint(op);
    int64_t n = op.getNumLoops();
    Block *body = op.getBody();
    for (OpOperand &operand : op->getOpOperands()) {
      BlockArgument arg = body->getArgument(operand.getOperandNumber());
      if (arg.use_empty())
        continue;
      std::optional<Lanes> x = read(operand, n);
      if (!x)
        return failure();
      values[arg] = *x;
    }
    for (Operation &inner : body->without_terminator())
      if (failed(visit(inner, n)))
        return failure();
    auto yield = cast<linalg::YieldOp>(body->getTerminator());
    Value result = asVector(yield.getOperand(0));
    if (!result)
      return failure();
    OpOperand *init = op.getDpsInitOperand(0);
    AffineMap map = op.getMatchingIndexingMap(init);
    if (map.getNumResults() == 0 ||
        map.getResults().back() != getAffineDimExpr(n - 1, op.getContext()))
      return failure();
    auto type = cast<MemRefType>(init->get().getType());
    SmallVector<Value> zeros(type.getRank(), cst(0));
    b.create<vector::TransferWriteOp>(
        loc, result, init->get(), zeros,
        AffineMap::getMinorIdentityMap(type.getRank(), 1, op.getContext()),
        ArrayRef<bool>{true});
    b.eraseOp(op);
    return success();
  }

  Value cst(int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); }

  /// The operand's element at the tile's start: a vector along the
  /// innermost loop if its map has it (last), else a scalar.
  std::optional<Lanes> read(OpOperand &operand, int64_t n) {
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type)
      return std::nullopt;
    AffineMap map = op.getMatchingIndexingMap(&operand);
    SmallVector<Value> zeros(type.getRank(), cst(0));
    Lanes x;
    if (!map.isFunctionOfDim(n - 1)) {
      x.value = b.create<memref::LoadOp>(loc, operand.get(), zeros);
      return x;
    }
    if (map.getResults().back() != getAffineDimExpr(n - 1, op.getContext()))
      return std::nullopt;
    x.kind = Lanes::Vector;
    x.value = b.create<vector::TransferReadOp>(
        loc, VectorType::get({chunk}, type.getElementType()), operand.get(),
        zeros,
        AffineMap::getMinorIdentityMap(type.getRank(), 1, op.getContext()),
        ArrayRef<bool>{true});
    return x;
  }

  /// `v` as a vector of `chunk` lanes (uniforms broadcast, bools as a
  /// constant mask); null for lane indices.
  Value asVector(Value v) {
    auto it = values.find(v);
    if (it == values.end())
      return {};
    const Lanes &x = it->second;
    switch (x.kind) {
    case Lanes::Vector:
      return x.value;
    case Lanes::Uniform:
      return b.create<vector::BroadcastOp>(
          loc, VectorType::get({chunk}, x.value.getType()), x.value);
    case Lanes::Bool: {
      auto type = VectorType::get({chunk}, b.getI1Type());
      SmallVector<bool> bits;
      for (int64_t o : x.offsets)
        bits.push_back(o != 0);
      return b.create<arith::ConstantOp>(
          loc, type, DenseElementsAttr::get(type, llvm::ArrayRef(bits)));
    }
    case Lanes::Index:
      return {};
    }
    return {};
  }

  /// The lane offsets of an index value (a uniform constant: all equal).
  std::optional<Lanes> asIndex(Value v) {
    auto it = values.find(v);
    if (it == values.end())
      return std::nullopt;
    if (it->second.kind == Lanes::Index)
      return it->second;
    if (it->second.kind != Lanes::Uniform)
      return std::nullopt;
    Lanes x;
    x.kind = Lanes::Index;
    x.offsets.assign(chunk, 0);
    if (std::optional<int64_t> c = getConstantIntValue(it->second.value))
      x.offsets.assign(chunk, *c);
    else
      x.value = it->second.value;
    return x;
  }

  Value addBase(Value x, Value y, bool subtract) {
    if (!y)
      return x;
    if (!x)
      return subtract ? b.create<arith::SubIOp>(loc, cst(0), y).getResult() : y;
    return subtract ? b.create<arith::SubIOp>(loc, x, y).getResult()
                    : b.create<arith::AddIOp>(loc, x, y).getResult();
  }

  /// Index arithmetic with at least one lane-dependent operand.
  LogicalResult visitIndex(Operation &inner) {
    if (auto select = dyn_cast<arith::SelectOp>(inner)) {
      auto cond = values.find(select.getCondition());
      auto x = asIndex(select.getTrueValue());
      auto y = asIndex(select.getFalseValue());
      if (cond == values.end() || cond->second.kind != Lanes::Bool || !x ||
          !y || x->value || y->value)
        return failure();
      Lanes r = *x;
      for (int64_t l = 0; l < chunk; ++l)
        if (!cond->second.offsets[l])
          r.offsets[l] = y->offsets[l];
      values[select.getResult()] = r;
      return success();
    }
    auto lhs = asIndex(inner.getOperand(0));
    auto rhs = inner.getNumOperands() > 1 ? asIndex(inner.getOperand(1))
                                          : std::nullopt;
    if (!lhs || !rhs)
      return failure();
    Lanes r;
    r.kind = Lanes::Index;
    r.offsets.resize(chunk);
    auto each = [&](auto f) {
      for (int64_t l = 0; l < chunk; ++l)
        r.offsets[l] = f(lhs->offsets[l], rhs->offsets[l]);
    };
    // A constant right operand (divisions, multiplies, compares).
    bool rhsConst =
        !rhs->value && llvm::all_equal(rhs->offsets) && rhs->offsets[0] != 0;
    if (isa<arith::AddIOp>(inner)) {
      r.value = addBase(lhs->value, rhs->value, false);
      each([](int64_t x, int64_t y) { return x + y; });
    } else if (isa<arith::SubIOp>(inner)) {
      r.value = addBase(lhs->value, rhs->value, true);
      each([](int64_t x, int64_t y) { return x - y; });
    } else if (isa<arith::MulIOp>(inner) && rhsConst) {
      if (lhs->value)
        r.value =
            b.create<arith::MulIOp>(loc, lhs->value, cst(rhs->offsets[0]));
      each([](int64_t x, int64_t y) { return x * y; });
    } else if (isa<arith::DivUIOp, arith::RemUIOp>(inner) && rhsConst &&
               !lhs->value && rhs->offsets[0] > 0 &&
               llvm::all_of(lhs->offsets, [](int64_t x) { return x >= 0; })) {
      if (isa<arith::DivUIOp>(inner))
        each([](int64_t x, int64_t y) { return x / y; });
      else
        each([](int64_t x, int64_t y) { return x % y; });
    } else if (auto cmp = dyn_cast<arith::CmpIOp>(inner)) {
      if (lhs->value || rhs->value)
        return failure();
      r.kind = Lanes::Bool;
      for (int64_t l = 0; l < chunk; ++l) {
        int64_t x = lhs->offsets[l], y = rhs->offsets[l];
        bool v;
        switch (cmp.getPredicate()) {
        case arith::CmpIPredicate::eq:
          v = x == y;
          break;
        case arith::CmpIPredicate::ne:
          v = x != y;
          break;
        case arith::CmpIPredicate::slt:
        case arith::CmpIPredicate::ult:
          v = x < y;
          break;
        case arith::CmpIPredicate::sle:
        case arith::CmpIPredicate::ule:
          v = x <= y;
          break;
        case arith::CmpIPredicate::sgt:
        case arith::CmpIPredicate::ugt:
          v = x > y;
          break;
        case arith::CmpIPredicate::sge:
        case arith::CmpIPredicate::uge:
          v = x >= y;
          break;
        }
        r.offsets[l] = v;
      }
    } else {
      return failure();
    }
    values[inner.getResult(0)] = r;
    return success();
  }

  /// A load whose last index varies over the lanes by constant offsets.
  LogicalResult visitLoad(memref::LoadOp load) {
    auto type = load.getMemRefType();
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(getStridesAndOffset(type, strides, offset)) ||
        strides.back() != 1)
      return failure();
    SmallVector<Value> at;
    for (Value i : load.getIndices().drop_back()) {
      auto it = values.find(i);
      if (it == values.end() || it->second.kind != Lanes::Uniform)
        return failure();
      at.push_back(it->second.value);
    }
    std::optional<Lanes> last = asIndex(load.getIndices().back());
    if (!last)
      return failure();
    int64_t lo = *llvm::min_element(last->offsets),
            hi = *llvm::max_element(last->offsets), span = hi - lo + 1;
    // Each lane's scalar load was in bounds, hence so is every element
    // between the lowest and the highest of them.
    if (span > 4 * chunk)
      return failure();
    at.push_back(addBase(last->value, cst(lo), false));
    Value v = b.create<vector::LoadOp>(
        loc, VectorType::get({span}, type.getElementType()), load.getMemRef(),
        at);
    SmallVector<int64_t> mask;
    for (int64_t o : last->offsets)
      mask.push_back(o - lo);
    if (span != chunk || !llvm::equal(mask, llvm::seq<int64_t>(0, chunk)))
      v = b.create<vector::ShuffleOp>(loc, v, v, mask);
    Lanes r;
    r.kind = Lanes::Vector;
    r.value = v;
    values[load.getResult()] = r;
    return success();
  }

  LogicalResult visit(Operation &inner, int64_t n) {
    if (inner.getNumResults() != 1 || inner.getNumRegions() != 0)
      return failure();
    if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
      Lanes r;
      if (int64_t(index.getDim()) == n - 1) {
        r.kind = Lanes::Index;
        r.offsets = llvm::to_vector(llvm::seq<int64_t>(0, chunk));
      } else {
        r.value = cst(0); // a unit loop of the tile
      }
      values[index.getResult()] = r;
      return success();
    }
    // Operands from outside the body are uniform.
    bool allUniform = true;
    for (Value v : inner.getOperands()) {
      auto it = values.find(v);
      if (it == values.end()) {
        Operation *owner = v.getParentRegion()->getParentOp();
        if (owner == op || op->isProperAncestor(owner))
          return failure();
        Lanes u;
        u.value = v;
        values[v] = u;
      } else if (it->second.kind != Lanes::Uniform) {
        allUniform = false;
      }
    }
    if (allUniform) {
      if (!isMemoryEffectFree(&inner) && !isa<memref::LoadOp>(inner))
        return failure();
      IRMapping map;
      for (Value v : inner.getOperands())
        map.map(v, values[v].value);
      Lanes r;
      r.value = b.clone(inner, map)->getResult(0);
      values[inner.getResult(0)] = r;
      return success();
    }
    if (auto load = dyn_cast<memref::LoadOp>(inner))
      return visitLoad(load);
    if (inner.getResult(0).getType().isIndex() || isa<arith::CmpIOp>(inner))
      return visitIndex(inner);
    // Elementwise arithmetic on vectors.
    if (!OpTrait::hasElementwiseMappableTraits(&inner) ||
        !isMemoryEffectFree(&inner))
      return failure();
    SmallVector<Value> operands;
    for (Value v : inner.getOperands()) {
      // A select's scalar uniform condition stays scalar.
      if (isa<arith::SelectOp>(inner) && v == inner.getOperand(0) &&
          values[v].kind == Lanes::Uniform) {
        operands.push_back(values[v].value);
        continue;
      }
      Value x = asVector(v);
      if (!x)
        return failure();
      operands.push_back(x);
    }
    OperationState state(loc, inner.getName());
    state.addOperands(operands);
    state.addTypes(VectorType::get({chunk}, inner.getResult(0).getType()));
    state.addAttributes(inner.getAttrs());
    Lanes r;
    r.kind = Lanes::Vector;
    r.value = b.create(state)->getResult(0);
    values[inner.getResult(0)] = r;
    return success();
  }

  RewriterBase &b;
  linalg::GenericOp op;
  Location loc;
  int64_t chunk;
  llvm::DenseMap<Value, Lanes> values;
};

struct VectorizeElementwisePass
    : mlir::tfm::impl::TfmVectorizeElementwisePassBase<
          VectorizeElementwisePass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<std::pair<linalg::LinalgOp, int64_t>> ops;
    func.walk([&](linalg::LinalgOp op) {
      if (std::optional<int64_t> size = innermostSize(op))
        ops.push_back({op, *size});
    });
    // Reductions of the kernel passes' bodies keep their flags.
    llvm::DenseSet<Operation *> earlier;
    func.walk([&](vector::ReductionOp r) { earlier.insert(r); });
    IRRewriter rewriter(ctx);
    for (auto [op, size] : ops) {
      linalg::LinalgOp tiled = tile(rewriter, op, size, chunkOf(size));
      rewriter.setInsertionPoint(tiled);
      if (succeeded(linalg::vectorize(rewriter, tiled)))
        ++numVectorized;
      else if (auto generic = dyn_cast<linalg::GenericOp>(*tiled);
               generic &&
               succeeded(
                   LaneVectorizer(rewriter, generic, chunkOf(size)).run()))
        ++numVectorized;
      else
        ++numScalar;
    }

    // 1-D vectors (the tiles are 1 x ... x 1 x chunk), reductions as
    // vector.reduction, transfers as plain loads and stores.
    RewritePatternSet patterns(ctx);
    vector::populateCastAwayVectorLeadingOneDimPatterns(patterns);
    vector::populateVectorMultiReductionLoweringPatterns(
        patterns, vector::VectorMultiReductionLowering::InnerReduction);
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::TransferReadOp::getCanonicalizationPatterns(patterns, ctx);
    vector::TransferWriteOp::getCanonicalizationPatterns(patterns, ctx);
    if (failed(applyPatternsAndFoldGreedily(func, std::move(patterns))))
      return signalPassFailure();
    // A row's sum (RMSNorm, softmax) as a tree of vector adds: the order
    // changes, as in every vectorized reduction; the scalar loop added the
    // elements one after the other.
    func.walk([&](vector::ReductionOp r) {
      if (!earlier.contains(r))
        r.setFastmath(r.getFastmath() | arith::FastMathFlags::reassoc);
    });
  }
};

} // namespace
