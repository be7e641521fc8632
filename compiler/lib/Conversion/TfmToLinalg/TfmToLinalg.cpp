//===- TfmToLinalg.cpp - The tfm-to-linalg pass ---------------------------===//

#include "tfm/Conversion/Passes.h"
#include "tfm/Dialect/Tfm/IR/TfmOps.h"

#include "mlir/Transforms/DialectConversion.h"

namespace mlir::tfm {
#define GEN_PASS_DEF_CONVERTTFMTOLINALGPASS
#include "tfm/Conversion/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;

namespace {
struct ConvertTfmToLinalgPass
    : mlir::tfm::impl::ConvertTfmToLinalgPassBase<ConvertTfmToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    // Every tfm op has a lowering; anything left over is a bug to report.
    target.addIllegalDialect<tfm::TfmDialect>();
    // The lowerings produce only these (upstream) dialects.
    target.addLegalDialect<
        arith::ArithDialect, bufferization::BufferizationDialect,
        func::FuncDialect, linalg::LinalgDialect, math::MathDialect,
        memref::MemRefDialect, tensor::TensorDialect>();
    RewritePatternSet patterns(ctx);
    mlir::tfm::populateTfmElementwiseToLinalgPatterns(patterns);
    mlir::tfm::populateTfmNormsToLinalgPatterns(patterns);
    mlir::tfm::populateTfmMatmulToLinalgPatterns(patterns);
    mlir::tfm::populateTfmDataMovementToLinalgPatterns(patterns);
    mlir::tfm::populateTfmAttentionToKernelPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
