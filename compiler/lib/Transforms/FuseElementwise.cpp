//===- FuseElementwise.cpp - Elementwise fusion on linalg tensors ---------===//
//
// tfm-fuse-elementwise works one level below the tfm dialect, on the
// linalg-on-tensors output of tfm-to-linalg. There every elementwise tfm op
// (add, mul, silu, gelu, bias add, norm scaling) is already one
// linalg.generic with explicit indexing maps, so upstream's producer-consumer
// fusion of generics does the index bookkeeping for us; doing it on tfm ops
// would need a fused-elementwise op and a second lowering of every op body.
// Our contribution is the control function: what is safe and useful to fuse.
//
// The pattern calls upstream's fuseElementwiseOps itself rather than taking
// populateElementwiseOpsFusionPatterns, whose RemoveOutsDependency would
// replace every destination the body does not read by a tensor.empty: that
// would undo the destinations tfm-to-linalg chose so that the residual
// stream is updated in place (tfm.add, the norms).
//
//===----------------------------------------------------------------------===//

#include "tfm/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::tfm {
#define GEN_PASS_DEF_TFMFUSEELEMENTWISEPASS
#include "tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;

namespace {

/// Fuses `operand` (a consumer's input) with the op producing it only when
/// both are linalg.generic and the producer has no other use.
bool shouldFuse(OpOperand *operand) {
  auto producer = operand->get().getDefiningOp<linalg::GenericOp>();
  // Named ops stay: tfm-generate-kernels finds the zero fill in front of a
  // linear layer after bufferization (and drops it).
  if (!producer || !isa<linalg::GenericOp>(operand->getOwner()))
    return false;
  // Nor into a contraction (reduction loops over two or more inputs: a
  // linear layer on packed weights, an unfused attention matmul): the
  // producer would be recomputed for every output column, and
  // tfm-generate-kernels matches the plain contraction.
  auto consumer = cast<linalg::GenericOp>(operand->getOwner());
  if (consumer.getNumReductionLoops() > 0 && consumer.getNumDpsInputs() >= 2)
    return false;
  // With another user (a second consumer, or a tensor.extract inside a body
  // such as rotary embeddings) the intermediate stays written: fusing would
  // only recompute it.
  return producer->hasOneUse();
}

/// Fuses the producer of the first input `shouldFuse` accepts into the
/// consumer generic (upstream's FuseElementwiseOps, without the other
/// patterns of its pattern set).
struct FuseWithProducer : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp consumer,
                                PatternRewriter &rewriter) const override {
    for (OpOperand &operand : consumer->getOpOperands()) {
      if (!linalg::areElementwiseOpsFusable(&operand) || !shouldFuse(&operand))
        continue;
      Operation *producer = operand.get().getDefiningOp();
      FailureOr<linalg::ElementwiseOpFusionResult> fused =
          linalg::fuseElementwiseOps(rewriter, &operand);
      if (failed(fused))
        return rewriter.notifyMatchFailure(consumer, "fusion failed");
      // The consumer's results; the producer's stay for its other users.
      for (auto [original, replacement] : fused->replacements)
        rewriter.replaceUsesWithIf(original, replacement, [&](OpOperand &use) {
          return use.get().getDefiningOp() != producer;
        });
      rewriter.eraseOp(consumer);
      return success();
    }
    return failure();
  }
};

unsigned countGenerics(Operation *root) {
  unsigned n = 0;
  root->walk([&](linalg::GenericOp) { ++n; });
  return n;
}

struct TfmFuseElementwisePass
    : mlir::tfm::impl::TfmFuseElementwisePassBase<TfmFuseElementwisePass> {
  void runOnOperation() override {
    unsigned before = countGenerics(getOperation());
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseWithProducer>(&getContext());
    // Fusion can leave an input twice (x read by producer and consumer).
    linalg::populateEraseUnusedOperandsAndResultsPatterns(patterns);
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // Each fusion of a single-use producer removes exactly one generic.
    unsigned after = countGenerics(getOperation());
    numFused += before > after ? before - after : 0;
  }
};

} // namespace
