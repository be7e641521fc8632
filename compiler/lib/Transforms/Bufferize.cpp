//===- Bufferize.cpp - One-shot bufferization as tfmc configures it -------===//
//
// tfm-bufferize: upstream's one-shot-bufferize with options that exist only
// in C++ (a copy function), behind a name of its own so the textual
// pipeline tfmc prints is the pipeline it runs.
//
//===----------------------------------------------------------------------===//

#include "tfm/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/PassManager.h"

namespace mlir::tfm {
#define GEN_PASS_DEF_TFMBUFFERIZEPASS
#include "tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;

namespace {

/// Copies `from` into `to` (same shape), the copies bufferization inserts
/// (KV-cache appends). When the last dimension is static and contiguous on
/// both sides, each row is one memref.copy (llvm.memcpy) under loops over the
/// other dimensions: as one scalar loop nest, a static window would be
/// unrolled by LLVM into thousands of moves (decode), which the instruction
/// scheduler then takes seconds over. Otherwise a linalg.copy (plain loops):
/// memref.copy of a non-contiguous view would need MLIR's C runner library.
void copyBuffer(OpBuilder &b, Location loc, Value from, Value to) {
  auto fromType = cast<MemRefType>(from.getType());
  auto toType = cast<MemRefType>(to.getType());
  int64_t rank = fromType.getRank();
  auto unitInnerStride = [](MemRefType type) {
    SmallVector<int64_t> strides;
    int64_t offset;
    return succeeded(getStridesAndOffset(type, strides, offset)) &&
           strides.back() == 1;
  };
  if (rank < 2 || ShapedType::isDynamic(fromType.getShape().back()) ||
      !unitInnerStride(fromType) || !unitInnerStride(toType)) {
    b.create<linalg::CopyOp>(loc, from, to);
    return;
  }
  int64_t width = fromType.getShape().back();
  SmallVector<Value> lbs, ubs, steps;
  for (int64_t d = 0; d + 1 < rank; ++d) {
    lbs.push_back(b.create<arith::ConstantIndexOp>(loc, 0));
    ubs.push_back(b.create<memref::DimOp>(loc, from, d));
    steps.push_back(b.create<arith::ConstantIndexOp>(loc, 1));
  }
  scf::buildLoopNest(
      b, loc, lbs, ubs, steps, [&](OpBuilder &nb, Location l, ValueRange ivs) {
        auto row = [&](Value buffer) -> Value {
          auto type = cast<MemRefType>(buffer.getType());
          SmallVector<OpFoldResult> offsets(ivs.begin(), ivs.end());
          offsets.push_back(nb.getIndexAttr(0));
          SmallVector<OpFoldResult> sizes(rank - 1, nb.getIndexAttr(1));
          sizes.push_back(nb.getIndexAttr(width));
          SmallVector<OpFoldResult> strides(rank, nb.getIndexAttr(1));
          auto rowType =
              cast<MemRefType>(memref::SubViewOp::inferRankReducedResultType(
                  {width}, type, offsets, sizes, strides));
          return nb.create<memref::SubViewOp>(l, rowType, buffer, offsets,
                                              sizes, strides);
        };
        nb.create<memref::CopyOp>(l, row(from), row(to));
      });
}

bufferization::OneShotBufferizationOptions bufferizationOptions() {
  bufferization::OneShotBufferizationOptions options;
  options.bufferizeFunctionBoundaries = true;
  // Entry points take plain contiguous buffers (the runtime ABI).
  options.setFunctionBoundaryTypeConversion(
      bufferization::LayoutMapOption::IdentityLayoutMap);
  // A value computed in place (empty-tensor elimination) needs no copy.
  options.memCpyFn = [](OpBuilder &b, Location loc, Value from, Value to) {
    if (from != to)
      copyBuffer(b, loc, from, to);
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
