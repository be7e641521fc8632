//===- Passes.h - Conversions out of the tfm dialect ------------*- C++ -*-===//

#ifndef TFM_CONVERSION_PASSES_H
#define TFM_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
class TypeConverter;
} // namespace mlir

namespace mlir::tfm {

#define GEN_PASS_DECL
#include "tfm/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "tfm/Conversion/Passes.h.inc"

/// Patterns of tfm-to-linalg, by op family.
void populateTfmElementwiseToLinalgPatterns(mlir::RewritePatternSet &patterns);
void populateTfmNormsToLinalgPatterns(mlir::RewritePatternSet &patterns);
void populateTfmMatmulToLinalgPatterns(mlir::RewritePatternSet &patterns);
void populateTfmDataMovementToLinalgPatterns(mlir::RewritePatternSet &patterns);
void populateTfmAttentionToKernelPatterns(mlir::RewritePatternSet &patterns);

} // namespace mlir::tfm

#endif // TFM_CONVERSION_PASSES_H
