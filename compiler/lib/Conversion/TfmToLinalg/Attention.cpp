//===- Attention.cpp - tfm.fused_attention -> the attention kernel call ---===//
//
// The fused op becomes a call to `tfm_attention`, the interface of an
// online-softmax kernel over key/value blocks that never materialises the
// T x S scores. tfm-generate-attention replaces each call by code
// specialised to its shapes (no library defines the symbol). The kernel
// reads [T, H, hd] and [S, KV, hd] views; ours are head-major, so transposed
// views (strides only, no copies) are passed.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"
#include "tfm/Conversion/Passes.h"
#include "tfm/Dialect/Tfm/IR/TfmOps.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace mlir::tfm {
namespace {

/// memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>: what the kernel takes.
MemRefType anyStrided3D(MLIRContext *ctx) {
  int64_t d = ShapedType::kDynamic;
  return MemRefType::get({d, d, d}, Float32Type::get(ctx),
                         StridedLayoutAttr::get(ctx, d, {d, d, d}));
}

/// Declares `tfm_attention` once per module.
func::FuncOp kernelDecl(PatternRewriter &b, ModuleOp module) {
  constexpr StringLiteral name = "tfm_attention";
  if (auto fn = module.lookupSymbol<func::FuncOp>(name))
    return fn;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  MemRefType m = anyStrided3D(b.getContext());
  auto type = b.getFunctionType({m, m, m, m, b.getI64Type(), b.getF32Type(),
                                 b.getI64Type(), b.getI64Type()},
                                {});
  auto fn = b.create<func::FuncOp>(module.getLoc(), name, type);
  fn.setPrivate();
  fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  return fn;
}

LogicalResult lowerFusedAttention(tfm::FusedAttentionOp op,
                                  PatternRewriter &b) {
  Location loc = op.getLoc();
  func::FuncOp kernel = kernelDecl(b, op->getParentOfType<ModuleOp>());
  MemRefType anyType = anyStrided3D(b.getContext());
  AffineMap swap01 =
      AffineMap::getPermutationMap(ArrayRef<unsigned>{1, 0, 2}, b.getContext());
  // A read-only buffer of `t`, as the kernel's [dim1, dim0, dim2] view.
  auto view = [&](Value t) -> Value {
    auto tt = cast<RankedTensorType>(t.getType());
    Value m = b.create<bufferization::ToMemrefOp>(
        loc,
        MemRefType::get(tt.getShape(), tt.getElementType(),
                        StridedLayoutAttr::get(
                            b.getContext(), ShapedType::kDynamic,
                            SmallVector<int64_t>(3, ShapedType::kDynamic))),
        t, /*read_only=*/true);
    Value tr =
        b.create<memref::TransposeOp>(loc, m, AffineMapAttr::get(swap01));
    return b.create<memref::CastOp>(loc, anyType, tr);
  };
  auto type = cast<RankedTensorType>(op.getType());
  SmallVector<Value> sizes;
  if (type.isDynamicDim(1))
    sizes.push_back(b.create<tensor::DimOp>(loc, op.getQuery(), 1));
  Value out = b.create<memref::AllocOp>(
      loc, MemRefType::get(type.getShape(), type.getElementType()), sizes);
  Value outView = b.create<memref::CastOp>(
      loc, anyType,
      b.create<memref::TransposeOp>(loc, out, AffineMapAttr::get(swap01)));
  Value pos = b.create<arith::IndexCastOp>(loc, b.getI64Type(), op.getPos());
  auto flag = [&](bool v) {
    return b.create<arith::ConstantIntOp>(loc, v ? 1 : 0, 64).getResult();
  };
  b.create<func::CallOp>(loc, kernel,
                         ValueRange{outView, view(op.getQuery()),
                                    view(op.getKey()), view(op.getValue()), pos,
                                    f32(b, loc, op.getScale().convertToFloat()),
                                    flag(op.getCausal()), flag(op.getAlibi())});
  b.replaceOpWithNewOp<bufferization::ToTensorOp>(op, type, out,
                                                  /*restrict=*/true,
                                                  /*writable=*/true);
  return success();
}

} // namespace

void populateTfmAttentionToKernelPatterns(RewritePatternSet &patterns) {
  patterns.add(lowerFusedAttention);
}

} // namespace mlir::tfm
