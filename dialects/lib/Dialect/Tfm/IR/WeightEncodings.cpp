//===- WeightEncodings.cpp - The MLIR half of the encodings table ---------===//

#include "tfm/Dialect/Tfm/IR/WeightEncodings.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/TypeUtilities.h"

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

/// f16: w = extf(value).
SmallVector<Value> noBlock(const DequantBuilder &, ValueRange) { return {}; }
Value f16Element(const DequantBuilder &d, ValueRange c, ValueRange, Value,
                 Value) {
  return d.b.create<arith::ExtFOp>(d.loc, d.f32, c[0]);
}

/// bf16 (its bits as i16): w = bitcast(extui(bits) << 16), exact.
Value bf16Element(const DequantBuilder &d, ValueRange c, ValueRange, Value,
                  Value) {
  Type i32 = d.b.getI32Type();
  Value wide = d.b.create<arith::ExtUIOp>(d.loc, d.like(i32), c[0]);
  Value bits = d.b.create<arith::ShLIOp>(d.loc, wide, d.constant(i32, 16));
  return d.b.create<arith::BitcastOp>(d.loc, d.f32, bits);
}

/// The scale (and the minimum) as f32, per block.
SmallVector<Value> scaleBlock(const DequantBuilder &d, ValueRange c) {
  return {d.b.create<arith::ExtFOp>(d.loc, d.f32, c[1])};
}
SmallVector<Value> scaleMinBlock(const DequantBuilder &d, ValueRange c) {
  return {d.b.create<arith::ExtFOp>(d.loc, d.f32, c[1]),
          d.b.create<arith::ExtFOp>(d.loc, d.f32, c[2])};
}

/// The `bits`-bit value of element `part` of a byte of packed values, bits
/// `bits` part and up, as i32: 4-bit pairs (ggml: element j and j + 16
/// share byte j) or q2_K / q3_K's 2-bit levels (Quants.h).
Value packedLevel(const DequantBuilder &d, Value byte, Value part,
                  int64_t bits) {
  Type i8 = d.b.getI8Type(), i32 = d.b.getI32Type();
  Value shift = d.b.create<arith::MulIOp>(
      d.loc, d.b.create<arith::IndexCastOp>(d.loc, i8, part),
      d.b.create<arith::ConstantIntOp>(d.loc, bits, 8));
  if (isa<VectorType>(d.f32))
    shift = d.b.create<vector::BroadcastOp>(d.loc, d.like(i8), shift);
  Value q = d.b.create<arith::AndIOp>(
      d.loc, d.b.create<arith::ShRUIOp>(d.loc, byte, shift),
      d.constant(i8, (1 << bits) - 1));
  return d.b.create<arith::ExtUIOp>(d.loc, d.like(i32), q);
}
Value nibble(const DequantBuilder &d, Value byte, Value part) {
  return packedLevel(d, byte, part, 4);
}

/// The high bit of element `pos`: bit pos of the block's word (q5's 32-bit
/// fifth bits, q3_K's 16-bit third bits), as 0 or 1 << at (i32).
Value highBit(const DequantBuilder &d, Value high, Value pos, int64_t at) {
  Type i32 = d.b.getI32Type();
  if (getElementTypeOrSelf(high.getType()) != i32)
    high = d.b.create<arith::ExtUIOp>(d.loc, d.like(i32), high);
  Value shift = d.b.create<arith::IndexCastOp>(d.loc, i32, pos);
  if (isa<VectorType>(d.f32))
    shift = d.b.create<vector::BroadcastOp>(d.loc, d.like(i32), shift);
  Value bit = d.b.create<arith::AndIOp>(
      d.loc, d.b.create<arith::ShRUIOp>(d.loc, high, shift),
      d.constant(i32, 1));
  return d.b.create<arith::ShLIOp>(d.loc, bit, d.constant(i32, at));
}
Value fifthBit(const DequantBuilder &d, Value high, Value pos) {
  return highBit(d, high, pos, 4);
}

/// d * (q - offset) or, with a minimum, d * q + m: the integer q (exact in
/// f32) converted, then one product (and one sum), as GGUF dequantizes.
Value scaled(const DequantBuilder &d, Value q, ValueRange block,
             int64_t offset) {
  Type i32 = d.b.getI32Type();
  if (offset)
    q = d.b.create<arith::SubIOp>(d.loc, q, d.constant(i32, offset));
  Value w = d.b.create<arith::MulFOp>(
      d.loc, block[0], d.b.create<arith::SIToFPOp>(d.loc, d.f32, q));
  if (block.size() > 1)
    w = d.b.create<arith::AddFOp>(d.loc, w, block[1]);
  return w;
}

/// q4_0: d * (nibble - 8); q4_1: d * nibble + m.
Value q4_0Element(const DequantBuilder &d, ValueRange c, ValueRange block,
                  Value, Value part) {
  return scaled(d, nibble(d, c[0], part), block, 8);
}
Value q4_1Element(const DequantBuilder &d, ValueRange c, ValueRange block,
                  Value, Value part) {
  return scaled(d, nibble(d, c[0], part), block, 0);
}
/// q5_0: d * ((nibble | fifth bit) - 16); q5_1: d * (nibble | fifth) + m.
Value q5_0Element(const DequantBuilder &d, ValueRange c, ValueRange block,
                  Value pos, Value part) {
  Value q = d.b.create<arith::OrIOp>(d.loc, nibble(d, c[0], part),
                                     fifthBit(d, c[2], pos));
  return scaled(d, q, block, 16);
}
Value q5_1Element(const DequantBuilder &d, ValueRange c, ValueRange block,
                  Value pos, Value part) {
  Value q = d.b.create<arith::OrIOp>(d.loc, nibble(d, c[0], part),
                                     fifthBit(d, c[3], pos));
  return scaled(d, q, block, 0);
}

/// q8_0: w = d * q (d f16, q int8): exact in f32.
SmallVector<Value> q8Block(const DequantBuilder &d, ValueRange c) {
  return {d.b.create<arith::ExtFOp>(d.loc, d.f32, c[1])};
}
Value q8Element(const DequantBuilder &d, ValueRange c, ValueRange block, Value,
                Value) {
  Value q = d.b.create<arith::SIToFPOp>(d.loc, d.f32, c[0]);
  return d.b.create<arith::MulFOp>(d.loc, block[0], q);
}

/// The K-quants: per sub-block d * scale (and dmin * min), each product
/// exact in f32 (11 x 8 bits at most), as ggml's d1, m1.
Value extU8(const DequantBuilder &d, Value v) {
  return d.b.create<arith::UIToFPOp>(
      d.loc, d.f32,
      d.b.create<arith::ExtUIOp>(d.loc, d.like(d.b.getI32Type()), v));
}
SmallVector<Value> q45KBlock(const DequantBuilder &d, ValueRange c) {
  auto times = [&](Value half, Value u8) {
    return d.b.create<arith::MulFOp>(
        d.loc, d.b.create<arith::ExtFOp>(d.loc, d.f32, half), extU8(d, u8));
  };
  return {times(c[3], c[1]), times(c[4], c[2])};
}
/// q4_K: d1 * nibble - m1 (d1 * q is exact: ggml's value whatever the
/// contraction); q5_K: with the fifth bit.
Value kMinus(const DequantBuilder &d, Value q, ValueRange block) {
  return d.b.create<arith::SubFOp>(
      d.loc,
      d.b.create<arith::MulFOp>(d.loc, block[0],
                                d.b.create<arith::SIToFPOp>(d.loc, d.f32, q)),
      block[1]);
}
Value q4KElement(const DequantBuilder &d, ValueRange c, ValueRange block, Value,
                 Value part) {
  return kMinus(d, nibble(d, c[0], part), block);
}
Value q5KElement(const DequantBuilder &d, ValueRange c, ValueRange block,
                 Value pos, Value part) {
  Value q = d.b.create<arith::OrIOp>(d.loc, nibble(d, c[0], part),
                                     fifthBit(d, c[5], pos));
  return kMinus(d, q, block);
}
/// q2_K: per sub-block d * (byte & 15) and dmin * (byte >> 4), then as
/// q4_K's: d1 * level - m1.
SmallVector<Value> q2KBlock(const DequantBuilder &d, ValueRange c) {
  Type i8 = d.b.getI8Type();
  auto times = [&](Value half, Value u8) {
    return d.b.create<arith::MulFOp>(
        d.loc, d.b.create<arith::ExtFOp>(d.loc, d.f32, half), extU8(d, u8));
  };
  Value scale = d.b.create<arith::AndIOp>(d.loc, c[1], d.constant(i8, 15));
  Value min = d.b.create<arith::ShRUIOp>(d.loc, c[1], d.constant(i8, 4));
  return {times(c[2], scale), times(c[3], min)};
}
Value q2KElement(const DequantBuilder &d, ValueRange c, ValueRange block, Value,
                 Value part) {
  return kMinus(d, packedLevel(d, c[0], part, 2), block);
}
/// q3_K: (d * scale) * (q - 4), q the level and its third bit (bit pos of
/// the sub-block's word); the block values as q6_K's.
Value q3KElement(const DequantBuilder &d, ValueRange c, ValueRange block,
                 Value pos, Value part) {
  Value q = d.b.create<arith::OrIOp>(d.loc, packedLevel(d, c[0], part, 2),
                                     highBit(d, c[1], pos, 2));
  return scaled(d, q, block, 4);
}

/// q6_K: (d * scale) * (q - 32), q the nibble and bits 8 (pos % 4) + 2
/// (pos / 4), + 1 of the sub-block's high bits (Quants.h); the product
/// rounds as ggml's does.
SmallVector<Value> q6KBlock(const DequantBuilder &d, ValueRange c) {
  Value sc = d.b.create<arith::SIToFPOp>(
      d.loc, d.f32,
      d.b.create<arith::ExtSIOp>(d.loc, d.like(d.b.getI32Type()), c[2]));
  return {d.b.create<arith::MulFOp>(
      d.loc, d.b.create<arith::ExtFOp>(d.loc, d.f32, c[3]), sc)};
}
Value q6KElement(const DequantBuilder &d, ValueRange c, ValueRange block,
                 Value pos, Value part) {
  Type i32 = d.b.getI32Type();
  Value p = d.b.create<arith::IndexCastOp>(d.loc, i32, pos);
  auto c32 = [&](int64_t v) {
    return d.b.create<arith::ConstantIntOp>(d.loc, v, 32);
  };
  Value shift = d.b.create<arith::AddIOp>(
      d.loc,
      d.b.create<arith::ShLIOp>(
          d.loc, d.b.create<arith::AndIOp>(d.loc, p, c32(3)), c32(3)),
      d.b.create<arith::ShLIOp>(
          d.loc, d.b.create<arith::ShRUIOp>(d.loc, p, c32(2)), c32(1)));
  if (isa<VectorType>(d.f32))
    shift = d.b.create<vector::BroadcastOp>(d.loc, d.like(i32), shift);
  Value high = d.b.create<arith::AndIOp>(
      d.loc, d.b.create<arith::ShRUIOp>(d.loc, c[1], shift),
      d.constant(i32, 3));
  Value q = d.b.create<arith::OrIOp>(
      d.loc, nibble(d, c[0], part),
      d.b.create<arith::ShLIOp>(d.loc, high, d.constant(i32, 4)));
  return scaled(d, q, block, 32);
}

/// One per case of WeightEncoding.
const WeightEncodingInfo kRows[] = {
    {WeightEncoding::F16, 1, false, noBlock, f16Element,
     "tfmrt_parallel_for_f16"},
    {WeightEncoding::BF16, 1, false, noBlock, bf16Element,
     "tfmrt_parallel_for_bf16"},
    {WeightEncoding::Q8_0, 1, false, q8Block, q8Element,
     "tfmrt_parallel_for_q8"},
    {WeightEncoding::Q4_0, 2, true, scaleBlock, q4_0Element,
     "tfmrt_parallel_for_q4_0"},
    {WeightEncoding::Q4_1, 2, true, scaleMinBlock, q4_1Element,
     "tfmrt_parallel_for_q4_1"},
    {WeightEncoding::Q5_0, 2, true, scaleBlock, q5_0Element,
     "tfmrt_parallel_for_q5_0"},
    {WeightEncoding::Q5_1, 2, true, scaleMinBlock, q5_1Element,
     "tfmrt_parallel_for_q5_1"},
    {WeightEncoding::Q2_K, 4, true, q2KBlock, q2KElement,
     "tfmrt_parallel_for_q2_K", 16},
    {WeightEncoding::Q3_K, 4, true, q6KBlock, q3KElement,
     "tfmrt_parallel_for_q3_K", 16},
    {WeightEncoding::Q4_K, 2, true, q45KBlock, q4KElement,
     "tfmrt_parallel_for_q4_K", 32},
    {WeightEncoding::Q5_K, 2, true, q45KBlock, q5KElement,
     "tfmrt_parallel_for_q5_K", 32},
    {WeightEncoding::Q6_K, 2, true, q6KBlock, q6KElement,
     "tfmrt_parallel_for_q6_K", 16},
};

} // namespace

const WeightEncodingInfo &mlir::tfm::weightEncodingInfo(WeightEncoding e) {
  for (const WeightEncodingInfo &info : kRows)
    if (info.encoding == e)
      return info;
  llvm_unreachable("a WeightEncoding without a row");
}

int64_t mlir::tfm::kernelBlock(WeightEncoding e) {
  int64_t sub = weightEncodingInfo(e).subBlock;
  return sub ? sub : formatInfo(e).blockSize;
}

const formats::EncodingInfo &mlir::tfm::formatInfo(WeightEncoding e) {
  return formats::encodingInfo(static_cast<formats::Encoding>(e));
}

Type mlir::tfm::componentType(MLIRContext *ctx, formats::ElementKind kind) {
  switch (kind) {
  case formats::ElementKind::I8:
    return IntegerType::get(ctx, 8);
  case formats::ElementKind::I16:
    return IntegerType::get(ctx, 16);
  case formats::ElementKind::I32:
    return IntegerType::get(ctx, 32);
  case formats::ElementKind::F16:
    return Float16Type::get(ctx);
  case formats::ElementKind::F32:
    return Float32Type::get(ctx);
  }
  return Type();
}

namespace {
/// Component c's elements per kernel block B (0: fewer than one; it is
/// then shared by `share` values, a multiple of B).
struct PerKernelBlock {
  int64_t per, share;
};
PerKernelBlock perKernelBlock(WeightEncoding e, unsigned c) {
  const formats::EncodingInfo &f = formatInfo(e);
  int64_t per = f.components[c].perBlock, block = kernelBlock(e);
  int64_t scaled = per * block / f.blockSize;
  return {scaled, scaled ? 0 : int64_t(f.blockSize) / per};
}
} // namespace

bool mlir::tfm::isPerStep(WeightEncoding e, unsigned c) {
  return perKernelBlock(e, c).per ==
         kernelBlock(e) / weightEncodingInfo(e).parts;
}

AffineExpr mlir::tfm::componentIndex(WeightEncoding e, unsigned c,
                                     AffineExpr k) {
  auto [per, share] = perKernelBlock(e, c);
  int64_t block = kernelBlock(e);
  if (per == block)
    return k;
  if (per <= 1)
    return k.floorDiv(per ? block : share);
  return k.floorDiv(block) * per + k % per;
}

SmallVector<AffineExpr, 4>
mlir::tfm::tileIndices(std::optional<WeightEncoding> e, unsigned c, bool quads,
                       AffineExpr n1, AffineExpr k, AffineExpr n0) {
  AffineExpr at = e ? componentIndex(*e, c, k) : k;
  if (quads && c == 0)
    return {n1, at.floorDiv(4), n0, at % 4};
  return {n1, at, n0};
}

Value mlir::tfm::componentIndexValue(OpBuilder &b, Location loc,
                                     WeightEncoding e, unsigned c, Value k) {
  auto [per, share] = perKernelBlock(e, c);
  int64_t block = kernelBlock(e);
  auto cst = [&](int64_t v) {
    return b.create<arith::ConstantIndexOp>(loc, v);
  };
  if (per == block)
    return k;
  Value blockIndex = b.create<arith::DivUIOp>(loc, k, cst(per ? block : share));
  if (per <= 1)
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
    int64_t block = kernelBlock(e);
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
