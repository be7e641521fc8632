//===- ApproximateMath.cpp - Polynomials instead of libm calls ------------===//
//
// tfm-approximate-math applies upstream's polynomial approximations of the
// math dialect (exp, tanh, erf, log, ...): each becomes arithmetic that LLVM
// can vectorize, instead of a scalar libm call per element.
//
//===----------------------------------------------------------------------===//

#include "tfm/Transforms/Passes.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::tfm {
#define GEN_PASS_DEF_TFMAPPROXIMATEMATHPASS
#include "tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;

namespace {

struct TfmApproximateMathPass
    : mlir::tfm::impl::TfmApproximateMathPassBase<TfmApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // exp2(x) = exp(x ln 2), whose polynomial follows.
    populateExpandExp2FPattern(patterns);
    populateMathPolynomialApproximationPatterns(patterns);
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
