//===- Bufferize.cpp - One-shot bufferization as tfmc configures it -------===//
//
// tfm-bufferize: upstream's one-shot-bufferize with options that exist only
// in C++ (a copy function), behind a name of its own so the textual
// pipeline tfmc prints is the pipeline it runs.
//
//===----------------------------------------------------------------------===//

#include "tfm/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"

namespace mlir::tfm {
#define GEN_PASS_DEF_TFMBUFFERIZEPASS
#include "tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;

namespace {

bufferization::OneShotBufferizationOptions bufferizationOptions() {
  bufferization::OneShotBufferizationOptions options;
  options.bufferizeFunctionBoundaries = true;
  // Entry points take plain contiguous buffers (the runtime ABI).
  options.setFunctionBoundaryTypeConversion(
      bufferization::LayoutMapOption::IdentityLayoutMap);
  // Copies as linalg.copy, which become plain loops: memref.copy of strided
  // views (KV cache windows) would need MLIR's C runner library. A value
  // computed in place (empty-tensor elimination) needs no copy.
  options.memCpyFn = [](OpBuilder &b, Location loc, Value from, Value to) {
    if (from != to)
      b.create<linalg::CopyOp>(loc, from, to);
    return success();
  };
  return options;
}

struct TfmBufferizePass
    : mlir::tfm::impl::TfmBufferizePassBase<TfmBufferizePass> {
  void runOnOperation() override {
    // Upstream's pass itself, so its analysis and clean-ups stay exactly
    // upstream's; run as a dynamic pipeline on this module.
    OpPassManager pm(ModuleOp::getOperationName());
    pm.addPass(
        bufferization::createOneShotBufferizePass(bufferizationOptions()));
    if (failed(runPipeline(pm, getOperation())))
      signalPassFailure();
  }
};

} // namespace
