//===- WeightEncodings.cpp - The MLIR half of the encodings table ---------===//

#include "tfm/Dialect/Tfm/IR/WeightEncodings.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <cassert>

using namespace mlir;
using namespace mlir::tfm;

Type DequantBuilder::like(Type element) const {
  if (auto v = dyn_cast<VectorType>(f32))
    return VectorType::get(v.getShape(), element);
  return element;
}

Value DequantBuilder::constant(Type element, double value) const {
  Type type = like(element);
  TypedAttr attr =
      isa<FloatType>(element)
          ? TypedAttr(b.getFloatAttr(element, value))
          : TypedAttr(b.getIntegerAttr(element, static_cast<int64_t>(value)));
  if (auto v = dyn_cast<VectorType>(type))
    attr = DenseElementsAttr::get(v, attr);
  return b.create<arith::ConstantOp>(loc, type, attr);
}

namespace {

/// q8_0: w = d * q (d f16, q int8): exact in f32.
SmallVector<Value> q8Block(const DequantBuilder &d, ValueRange c) {
  return {d.b.create<arith::ExtFOp>(d.loc, d.f32, c[1])};
}
Value q8Element(const DequantBuilder &d, ValueRange c, ValueRange block, Value,
                Value) {
  Value q = d.b.create<arith::SIToFPOp>(d.loc, d.f32, c[0]);
  return d.b.create<arith::MulFOp>(d.loc, block[0], q);
}

/// One per case of WeightEncoding.
const WeightEncodingInfo kRows[] = {
    {WeightEncoding::Q8_0, 1, false, q8Block, q8Element,
     "tfmrt_parallel_for_q8"},
};

} // namespace

const WeightEncodingInfo &mlir::tfm::weightEncodingInfo(WeightEncoding e) {
  for (const WeightEncodingInfo &info : kRows)
    if (info.encoding == e)
      return info;
  llvm_unreachable("a WeightEncoding without a row");
}

const formats::EncodingInfo &mlir::tfm::formatInfo(WeightEncoding e) {
  return formats::encodingInfo(static_cast<formats::Encoding>(e));
}

Type mlir::tfm::componentType(MLIRContext *ctx, formats::ElementKind kind) {
  switch (kind) {
  case formats::ElementKind::I8:
    return IntegerType::get(ctx, 8);
  case formats::ElementKind::F16:
    return Float16Type::get(ctx);
  case formats::ElementKind::F32:
    return Float32Type::get(ctx);
  }
  return Type();
}

bool mlir::tfm::isPerStep(WeightEncoding e, unsigned c) {
  const formats::EncodingInfo &f = formatInfo(e);
  return f.components[c].perBlock == f.blockSize / weightEncodingInfo(e).parts;
}

AffineExpr mlir::tfm::componentIndex(WeightEncoding e, unsigned c,
                                     AffineExpr k) {
  const formats::EncodingInfo &f = formatInfo(e);
  int64_t per = f.components[c].perBlock, block = f.blockSize;
  if (per == block)
    return k;
  if (per == 1)
    return k.floorDiv(block);
  return k.floorDiv(block) * per + k % per;
}

Value mlir::tfm::componentIndexValue(OpBuilder &b, Location loc,
                                     WeightEncoding e, unsigned c, Value k) {
  const formats::EncodingInfo &f = formatInfo(e);
  int64_t per = f.components[c].perBlock, block = f.blockSize;
  auto cst = [&](int64_t v) {
    return b.create<arith::ConstantIndexOp>(loc, v);
  };
  if (per == block)
    return k;
  Value blockIndex = b.create<arith::DivUIOp>(loc, k, cst(block));
  if (per == 1)
    return blockIndex;
  return b.create<arith::AddIOp>(
      loc, b.create<arith::MulIOp>(loc, blockIndex, cst(per)),
      b.create<arith::RemUIOp>(loc, k, cst(per)));
}

Value mlir::tfm::dequantize(OpBuilder &b, Location loc, WeightEncoding e,
                            ValueRange components,
                            llvm::function_ref<Value()> k) {
  const WeightEncodingInfo &info = weightEncodingInfo(e);
  DequantBuilder d{b, loc, b.getF32Type()};
  SmallVector<Value> perBlock(components);
  for (unsigned c = 0; c < perBlock.size(); ++c)
    if (isPerStep(e, c))
      perBlock[c] = Value();
  SmallVector<Value> blockValues = info.block(d, perBlock);
  Value pos, part;
  if (info.usesPosition) {
    int64_t block = formatInfo(e).blockSize;
    pos = b.create<arith::RemUIOp>(
        loc, k(), b.create<arith::ConstantIndexOp>(loc, block));
    part = b.create<arith::DivUIOp>(
        loc, pos, b.create<arith::ConstantIndexOp>(loc, block / info.parts));
  }
  return info.element(d, components, blockValues, pos, part);
}

Value mlir::tfm::contractionStep(OpBuilder &b, Location loc,
                                 std::optional<WeightEncoding> e,
                                 ValueRange args,
                                 llvm::function_ref<Value()> k) {
  Value w = args[1];
  if (e)
    w = dequantize(b, loc, *e, args.slice(1, args.size() - 2), k);
  Value prod = b.create<arith::MulFOp>(loc, args[0], w);
  return b.create<arith::AddFOp>(loc, args.back(), prod);
}
