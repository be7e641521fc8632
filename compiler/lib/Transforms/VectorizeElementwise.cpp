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
