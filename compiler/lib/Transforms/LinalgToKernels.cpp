//===- LinalgToKernels.cpp - Buffer-level matmuls -> runtime kernels ------===//

#include "StridedViews.h"
#include "mlir/IR/Matchers.h"
#include "tfm/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::tfm {
#define GEN_PASS_DEF_TFMLINALGTOKERNELSPASS
#include "tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using mlir::tfm::anyStrided2D;

namespace {

/// True when `v` is a zero float constant.
bool isZero(Value v) { return matchPattern(v, m_AnyZeroFloat()); }

struct MatmulToKernel : OpRewritePattern<linalg::MatmulTransposeBOp> {
  MatmulToKernel(MLIRContext *ctx, llvm::Statistic &count)
      : OpRewritePattern(ctx), count(count) {}

  LogicalResult matchAndRewrite(linalg::MatmulTransposeBOp op,
                                PatternRewriter &b) const override {
    if (!op.hasPureBufferSemantics())
      return b.notifyMatchFailure(op, "runs after bufferization only");
    Value out = op.getDpsInits()[0];
    // linalg accumulates into `out`. When `out` was zero-filled right before,
    // the kernel overwrites it and the fill goes; otherwise (bufferization
    // may copy a shared zero tensor in between) the kernel accumulates.
    auto fill = dyn_cast_or_null<linalg::FillOp>(op->getPrevNode());
    bool freshZeros =
        fill && fill.getDpsInits()[0] == out && isZero(fill.getInputs()[0]);

    auto module = op->getParentOfType<ModuleOp>();
    constexpr StringLiteral name = "tfmrt_linear";
    MemRefType any = anyStrided2D(b.getContext());
    auto kernel = module.lookupSymbol<func::FuncOp>(name);
    if (!kernel) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(module.getBody());
      kernel = b.create<func::FuncOp>(
          module.getLoc(), name,
          b.getFunctionType({any, any, any, b.getI64Type()}, {}));
      kernel.setPrivate();
      kernel->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    }
    Location loc = op.getLoc();
    auto cast = [&](Value v) { return b.create<memref::CastOp>(loc, any, v); };
    Value accumulate =
        b.create<arith::ConstantIntOp>(loc, freshZeros ? 0 : 1, 64);
    b.create<func::CallOp>(loc, kernel,
                           ValueRange{cast(out), cast(op.getDpsInputs()[0]),
                                      cast(op.getDpsInputs()[1]), accumulate});
    if (freshZeros)
      b.eraseOp(fill);
    b.eraseOp(op);
    ++count;
    return success();
  }
  llvm::Statistic &count;
};

struct TfmLinalgToKernelsPass
    : mlir::tfm::impl::TfmLinalgToKernelsPassBase<TfmLinalgToKernelsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<MatmulToKernel>(&getContext(), numKernels);
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
