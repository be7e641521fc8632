//===- StridedViews.h - The f32 view type of kernel calls -------*- C++ -*-===//
//
// The operand type of the generated bodies and of their schedulers in the
// runtime (tfm-generate-kernels): one signature for every shape.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_LIB_TRANSFORMS_STRIDEDVIEWS_H
#define TFM_LIB_TRANSFORMS_STRIDEDVIEWS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"

namespace mlir::tfm {

/// Any 2-D view of `element` (default f32): dynamic sizes, strides and
/// offset.
inline MemRefType anyStrided2D(MLIRContext *ctx, Type element = {}) {
  int64_t d = ShapedType::kDynamic;
  return MemRefType::get({d, d}, element ? element : Float32Type::get(ctx),
                         StridedLayoutAttr::get(ctx, d, {d, d}));
}

} // namespace mlir::tfm

#endif // TFM_LIB_TRANSFORMS_STRIDEDVIEWS_H
