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
  // Named ops stay: tfm-linalg-to-kernels pattern-matches fill + matmul after
  // bufferization, and a transpose is a copy the kernels rely on.
  if (!producer || !isa<linalg::GenericOp>(operand->getOwner()))
    return false;
  // With another user (a second consumer, or a tensor.extract inside a body
  // such as rotary embeddings) the intermediate stays written: fusing would
  // only recompute it.
  return producer->hasOneUse();
}

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
    linalg::populateElementwiseOpsFusionPatterns(patterns, shouldFuse);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // Each fusion of a single-use producer removes exactly one generic.
    unsigned after = countGenerics(getOperation());
    numFused += before > after ? before - after : 0;
  }
};

} // namespace
