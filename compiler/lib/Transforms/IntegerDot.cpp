//===- IntegerDot.cpp - Integer dot products of 32-value blocks -----------===//

#include "IntegerDot.h"

#include "tfm/Dialect/Tfm/IR/WeightEncodings.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace mlir::tfm {

namespace {

struct IsaInfo {
  IntDotIsa isa;
  StringLiteral name;
  int64_t lanes;
  /// vpmaddubsw and vpmaddwd, or VNNI's vpdpbusd (then both empty and
  /// `dot` set); psignb when the sign is not a masked select. The int16
  /// step: pmaddwd, or VNNI's vpdpwssd (`wordDot`).
  StringLiteral maddubs, maddwd, dot, psign, wordMadd, wordDot;
};

// clang-format off
constexpr IsaInfo kIsas[] = {
    {IntDotIsa::None, "none", 0, "", "", "", "", "", ""},
    {IntDotIsa::Ssse3, "ssse3", 4, "llvm.x86.ssse3.pmadd.ub.sw.128",
     "llvm.x86.sse2.pmadd.wd", "", "llvm.x86.ssse3.psign.b.128",
     "llvm.x86.sse2.pmadd.wd", ""},
    {IntDotIsa::Avx2, "avx2", 8, "llvm.x86.avx2.pmadd.ub.sw",
     "llvm.x86.avx2.pmadd.wd", "", "llvm.x86.avx2.psign.b",
     "llvm.x86.avx2.pmadd.wd", ""},
    {IntDotIsa::Avx512Bw, "avx512bw", 16, "llvm.x86.avx512.pmaddubs.w.512",
     "llvm.x86.avx512.pmaddw.d.512", "", "", "llvm.x86.avx512.pmaddw.d.512",
     ""},
    {IntDotIsa::AvxVnni, "avxvnni", 8, "", "", "llvm.x86.avx512.vpdpbusd.256",
     "llvm.x86.avx2.psign.b", "", "llvm.x86.avx512.vpdpwssd.256"},
    {IntDotIsa::Avx512Vnni, "avx512vnni", 16, "", "",
     "llvm.x86.avx512.vpdpbusd.512", "", "", "llvm.x86.avx512.vpdpwssd.512"},
};
// clang-format on

// clang-format off
constexpr DotEncoding kDotEncodings[] = {
    // encoding            bits offset min high  scheduler
    {WeightEncoding::Q8_0, 8,    0,     0,  0, -1, "tfmrt_parallel_for_q8_dot"},
    {WeightEncoding::Q4_0, 4,    8,     0,  0, -1, "tfmrt_parallel_for_q4_0_dot"},
    {WeightEncoding::Q4_1, 4,    0,     1,  0, -1, "tfmrt_parallel_for_q4_1_dot"},
    {WeightEncoding::Q5_0, 4,    16,    0,  1,  2, "tfmrt_parallel_for_q5_0_dot"},
    {WeightEncoding::Q5_1, 4,    0,     1,  1,  3, "tfmrt_parallel_for_q5_1_dot"},
    {WeightEncoding::Q2_K, 2,    0,    -1,  0, -1, "tfmrt_parallel_for_q2_K_dot"},
    {WeightEncoding::Q3_K, 2,    4,     0,  1,  1, "tfmrt_parallel_for_q3_K_dot"},
    {WeightEncoding::Q4_K, 4,    0,    -1,  0, -1, "tfmrt_parallel_for_q4_K_dot"},
    {WeightEncoding::Q5_K, 4,    0,    -1,  1,  5, "tfmrt_parallel_for_q5_K_dot"},
    {WeightEncoding::Q6_K, 4,    32,    0,  2,  1, "tfmrt_parallel_for_q6_K_dot"},
};
// clang-format on

const IsaInfo &info(IntDotIsa isa) {
  for (const IsaInfo &i : kIsas)
    if (i.isa == isa)
      return i;
  llvm_unreachable("unknown IntDotIsa");
}

VectorType vec(int64_t n, Type t) { return VectorType::get({n}, t); }

Value intrinsic(OpBuilder &b, Location loc, StringRef name, Type result,
                ValueRange args) {
  return b.create<LLVM::CallIntrinsicOp>(loc, result, name, args).getResult(0);
}

} // namespace

const DotEncoding *dotEncoding(WeightEncoding e) {
  for (const DotEncoding &d : kDotEncodings)
    if (d.encoding == e)
      return &d;
  return nullptr;
}

std::optional<IntDotIsa> parseIntDotIsa(StringRef name) {
  for (const IsaInfo &i : kIsas)
    if (i.name == name)
      return i.isa;
  return std::nullopt;
}

StringRef intDotIsaName(IntDotIsa isa) { return info(isa).name; }

int64_t intDotLanes(IntDotIsa isa) { return info(isa).lanes; }

bool intDotBiased(IntDotIsa isa) { return !info(isa).dot.empty(); }

/// Lane c of the result holds the 4 k of column c. LLVM picks the shuffle
/// (vpermb, vpermd + vpshufb, ...).
Value transposeQuads(OpBuilder &b, Location loc, Value raw, int64_t p) {
  SmallVector<int64_t> mask;
  for (int64_t c = 0; c < p; ++c)
    for (int64_t t = 0; t < 4; ++t)
      mask.push_back(t * p + c);
  return b.create<vector::ShuffleOp>(loc, raw, raw, mask);
}

namespace {

Value splat(OpBuilder &b, Location loc, Type type, int64_t v) {
  auto vt = cast<VectorType>(type);
  return b.create<arith::ConstantOp>(
      loc, vt,
      DenseElementsAttr::get(vt, b.getIntegerAttr(vt.getElementType(), v)));
}

} // namespace

DotWeights emitPackedWeights(OpBuilder &b, Location loc, const DotEncoding &de,
                             Value quads, int64_t part, Value high, Value j) {
  Value w = quads;
  Type bytes = w.getType();
  if (part)
    w = b.create<arith::ShRUIOp>(loc, w,
                                 splat(b, loc, bytes, de.valueBits * part));
  Value q = b.create<arith::AndIOp>(
      loc, w, splat(b, loc, bytes, (1 << de.valueBits) - 1));
  if (!high)
    return {q, Value(), Value()};
  Type words =
      vec(cast<VectorType>(high.getType()).getNumElements(), b.getI32Type());
  if (high.getType() != words)
    high = b.create<arith::ExtUIOp>(loc, words, high);
  Value j32 = b.create<arith::IndexCastOp>(loc, b.getI32Type(), j);
  auto shifted = [&](Value shift) {
    return b.create<arith::ShRUIOp>(
        loc, high, b.create<vector::BroadcastOp>(loc, words, shift));
  };
  Value h;
  if (de.highBits == 1) {
    // Bits j + B / parts part .. + 3 of each column's word to bit valueBits
    // of its 4 bytes: (bits & 15) times the sum of 1 << (valueBits + 7 t)
    // puts bit t at valueBits + 8 t (and copies elsewhere that the mask
    // drops; no two overlap, so nothing carries).
    int64_t spread = 0;
    for (int64_t t = 0; t < 4; ++t)
      spread |= int64_t(1) << (de.valueBits + 7 * t);
    h = shifted(b.create<arith::AddIOp>(
        loc, j32,
        b.create<arith::ConstantIntOp>(
            loc, kernelBlock(de.encoding) / de.parts() * part, 32)));
    h = b.create<arith::AndIOp>(loc, h, splat(b, loc, words, 15));
    h = b.create<arith::MulIOp>(loc, h, splat(b, loc, words, spread));
    h = b.create<arith::AndIOp>(
        loc, h, splat(b, loc, words, int64_t(0x01010101) << de.valueBits));
  } else {
    // q6_K: element j + t + 8 part's two bits are bits 2 (j / 4 + 2 part)
    // of byte t: one shift, the mask, then up to bits 4, 5.
    h = shifted(b.create<arith::AddIOp>(
        loc,
        b.create<arith::ShRUIOp>(loc, j32,
                                 b.create<arith::ConstantIntOp>(loc, 1, 32)),
        b.create<arith::ConstantIntOp>(loc, 4 * part, 32)));
    h = b.create<arith::AndIOp>(loc, h, splat(b, loc, words, 0x03030303));
    h = b.create<arith::ShLIOp>(loc, h, splat(b, loc, words, 4));
  }
  q = b.create<arith::OrIOp>(loc, q,
                             b.create<vector::BitCastOp>(loc, bytes, h));
  return {q, Value(), Value()};
}

Value emitKeptWeights(OpBuilder &b, Location loc, IntDotIsa isa, Value w) {
  if (info(isa).dot.empty())
    return w;
  // vpdpbusd: w + 128 as u8 (the sign bit flipped) times x as s8; the
  // 128 * sum(x) this adds is taken off per block.
  auto type = cast<VectorType>(w.getType());
  Value bias = b.create<arith::ConstantOp>(
      loc, type, DenseElementsAttr::get(type, b.getI8IntegerAttr(-128)));
  return b.create<arith::XOrIOp>(loc, w, bias);
}

DotWeights emitSignedWeights(OpBuilder &b, Location loc, IntDotIsa isa,
                             Value kept) {
  if (!info(isa).dot.empty())
    return {kept, Value(), kept};
  auto type = cast<VectorType>(kept.getType());
  Value zero = b.create<arith::ConstantOp>(
      loc, type, DenseElementsAttr::get(type, b.getI8IntegerAttr(0)));
  // max(w, -w): vpabsb (-128 stays 0x80, 128 as u8).
  Value magnitude = b.create<arith::MaxSIOp>(
      loc, kept, b.create<arith::SubIOp>(loc, zero, kept));
  Value negative =
      info(isa).psign.empty()
          ? b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, kept, zero)
                .getResult()
          : Value();
  return {magnitude, negative, kept};
}

DotWeights emitDotWeights(OpBuilder &b, Location loc, IntDotIsa isa,
                          Value quads) {
  return emitSignedWeights(b, loc, isa, emitKeptWeights(b, loc, isa, quads));
}

namespace {

/// `quad` (vector<4xi8>) repeated over P 32-bit lanes.
Value broadcastQuad(OpBuilder &b, Location loc, Value quad, int64_t p) {
  Value word = b.create<vector::BitCastOp>(loc, vec(1, b.getI32Type()), quad);
  Value lanes =
      b.create<vector::BroadcastOp>(loc, vec(p, b.getI32Type()), word);
  return b.create<vector::BitCastOp>(loc, vec(4 * p, b.getI8Type()), lanes);
}

/// acc + per 32-bit lane the sum of the i16 `pairs` times `factor`
/// (vpmaddwd).
Value addPairs(OpBuilder &b, Location loc, const IsaInfo &i, Value acc,
               Value pairs, int64_t factor, int64_t p) {
  Value sums = intrinsic(b, loc, i.maddwd, vec(p, b.getI32Type()),
                         {pairs, splat(b, loc, pairs.getType(), factor)});
  return b.create<arith::AddIOp>(loc, acc, sums);
}

} // namespace

DotActivations emitDotActivations(OpBuilder &b, Location loc, IntDotIsa isa,
                                  Value quad, int64_t p) {
  Value x = broadcastQuad(b, loc, quad, p);
  if (!info(isa).psign.empty() || !info(isa).dot.empty())
    return {x, Value()};
  auto type = cast<VectorType>(x.getType());
  Value zero = b.create<arith::ConstantOp>(
      loc, type, DenseElementsAttr::get(type, b.getI8IntegerAttr(0)));
  return {x, b.create<arith::SubIOp>(loc, zero, x)};
}

Value emitDotPairs(OpBuilder &b, Location loc, IntDotIsa isa,
                   const DotWeights &w, const DotActivations &x, int64_t p) {
  const IsaInfo &i = info(isa);
  Type i8 = b.getI8Type();
  // sign(x, w): psignb, or -x where w < 0 (AVX-512 has no vpsignb); x
  // itself for unsigned weights.
  Value sx =
      !w.raw ? x.x
      : i.psign.empty()
          ? b.create<arith::SelectOp>(loc, w.negative, x.negX, x.x).getResult()
          : intrinsic(b, loc, i.psign, vec(4 * p, i8), {x.x, w.raw});
  return intrinsic(b, loc, i.maddubs, vec(2 * p, b.getI16Type()),
                   {w.magnitude, sx});
}

Value emitPairSums(OpBuilder &b, Location loc, IntDotIsa isa, Value acc,
                   Value pairs, int64_t p) {
  return addPairs(b, loc, info(isa), acc, pairs, 1, p);
}

int64_t intDotPairSteps(const DotEncoding &de, IntDotIsa isa) {
  if (!de.packed() || intDotBiased(isa))
    return 1;
  // |pair| <= 2 * qmax * 127 per step (q < 2^(valueBits + highBits)).
  const int64_t qmax = (int64_t(1) << (de.valueBits + de.highBits)) - 1;
  return std::max<int64_t>(1, 32767 / (2 * qmax * 127));
}

Value emitDotStep(OpBuilder &b, Location loc, IntDotIsa isa, Value acc,
                  const DotWeights &w, const DotActivations &x, int64_t p) {
  const IsaInfo &i = info(isa);
  if (!i.dot.empty()) {
    Type words = vec(p, b.getI32Type());
    return intrinsic(b, loc, i.dot, words,
                     {acc, b.create<vector::BitCastOp>(loc, words, w.magnitude),
                      b.create<vector::BitCastOp>(loc, words, x.x)});
  }
  return emitPairSums(b, loc, isa, acc, emitDotPairs(b, loc, isa, w, x, p), p);
}

bool intDotSplitWords(const DotEncoding &de, IntDotIsa isa) {
  return de.packed() && info(isa).wordDot.empty();
}

Value emitSplitWordDotStep(OpBuilder &b, Location loc, IntDotIsa isa, Value acc,
                           Value q, Value xl, Value xh, int64_t p) {
  const IsaInfo &i = info(isa);
  auto pairType = vec(2 * p, b.getI16Type());
  // u8 xl times s8 q (q <= 63): |pair| <= 2 * 255 * 63 = 32130; u8 q times
  // s8 xh: <= 2 * 63 * 128. Neither saturates.
  Value low = intrinsic(b, loc, i.maddubs, pairType, {xl, q});
  Value high = intrinsic(b, loc, i.maddubs, pairType, {q, xh});
  return addPairs(b, loc, i, addPairs(b, loc, i, acc, high, 256, p), low, 1, p);
}

Value emitWordWeights(OpBuilder &b, Location loc, const DotEncoding &de,
                      Value quads) {
  auto type = cast<VectorType>(quads.getType());
  auto words = vec(type.getNumElements(), b.getI16Type());
  if (de.packed())
    return b.create<arith::ExtUIOp>(loc, words, quads);
  return b.create<arith::ExtSIOp>(loc, words, quads);
}

Value emitWordActivations(OpBuilder &b, Location loc, Value quad, int64_t p) {
  Type i64 = b.getI64Type();
  Value word = b.create<vector::BitCastOp>(loc, vec(1, i64), quad);
  Value lanes = b.create<vector::BroadcastOp>(loc, vec(p / 2, i64), word);
  return b.create<vector::BitCastOp>(loc, vec(2 * p, b.getI16Type()), lanes);
}

Value emitWordDotStep(OpBuilder &b, Location loc, IntDotIsa isa, Value acc,
                      Value w, Value x, int64_t p) {
  const IsaInfo &i = info(isa);
  Type i32 = b.getI32Type();
  auto words = vec(p, i32);
  // Half h of w (vector<4P x i16>) holds columns h P/2 .. (h + 1) P/2 - 1,
  // 4 k each: its 32-bit lanes, 2 per column, are the pairs vpmaddwd sums.
  Value next = acc;
  for (int64_t h = 0; h < 2; ++h) {
    Value wh = b.create<vector::ExtractStridedSliceOp>(
        loc, w, ArrayRef<int64_t>{h * 2 * p}, ArrayRef<int64_t>{2 * p},
        ArrayRef<int64_t>{1});
    Value ah = b.create<vector::ExtractStridedSliceOp>(
        loc, acc, ArrayRef<int64_t>{h * p}, ArrayRef<int64_t>{p},
        ArrayRef<int64_t>{1});
    Value sum =
        i.wordDot.empty()
            ? b.create<arith::AddIOp>(
                   loc, ah, intrinsic(b, loc, i.wordMadd, words, {wh, x}))
                  .getResult()
            : intrinsic(b, loc, i.wordDot, words,
                        {ah, b.create<vector::BitCastOp>(loc, words, wh),
                         b.create<vector::BitCastOp>(loc, words, x)});
    next = b.create<vector::InsertStridedSliceOp>(
        loc, sum, next, ArrayRef<int64_t>{h * p}, ArrayRef<int64_t>{1});
  }
  return next;
}

Value emitWordPairSums(OpBuilder &b, Location loc, Value acc, int64_t p) {
  SmallVector<int64_t> even, odd;
  for (int64_t c = 0; c < p; ++c) {
    even.push_back(2 * c);
    odd.push_back(2 * c + 1);
  }
  return b.create<arith::AddIOp>(
      loc, b.create<vector::ShuffleOp>(loc, acc, acc, even),
      b.create<vector::ShuffleOp>(loc, acc, acc, odd));
}

int64_t intDotOffset(const DotEncoding &de, IntDotIsa isa, int64_t bits) {
  return de.packed() || bits == 16 || !intDotBiased(isa) ? de.offset : 128;
}

bool intDotOffsetInSums(const DotEncoding &de, IntDotIsa isa, int64_t bits) {
  return intDotOffset(de, isa, bits) != 0 && de.minSign == 0;
}

void emitQuantizeRows(OpBuilder &b, Location loc, Value x, Value xq, Value xd,
                      int64_t k, int64_t sumBlock, int64_t sumOffset,
                      int64_t bits, bool splitWords) {
  // int8: llama.cpp's 127 levels; int16: 32767.
  const float levels = bits == 16 ? 32767.0f : 127.0f;
  auto cst = [&](int64_t v) {
    return b.create<arith::ConstantIndexOp>(loc, v).getResult();
  };
  Type f32 = b.getF32Type();
  Value rows = b.create<memref::DimOp>(loc, x, 0);
  b.create<scf::ForOp>(
      loc, cst(0), rows, cst(1), ValueRange{},
      [&](OpBuilder &rb, Location l, Value m, ValueRange) {
        rb.create<scf::ForOp>(
            l, cst(0), cst(k / 32), cst(1), ValueRange{},
            [&](OpBuilder &bb, Location bl, Value blk, ValueRange) {
              Value k0 = bb.create<arith::MulIOp>(bl, blk, cst(32));
              Value v = bb.create<vector::LoadOp>(bl, vec(32, f32), x,
                                                  ValueRange{m, k0});
              // max|x| as the largest bit pattern of |x| (ordered as the
              // floats; a NaN wins): an integer reduction is a shuffle tree,
              // a float one a serial chain of scalar maxss.
              Type i32 = bb.getI32Type();
              Value amax = bb.create<arith::BitcastOp>(
                  bl, f32,
                  bb.create<vector::ReductionOp>(
                      bl, vector::CombiningKind::MAXSI,
                      bb.create<vector::BitCastOp>(
                          bl, vec(32, i32), bb.create<math::AbsFOp>(bl, v))));
              auto f = [&](float c) {
                return bb.create<arith::ConstantOp>(bl, bb.getF32FloatAttr(c))
                    .getResult();
              };
              Value d = bb.create<arith::DivFOp>(bl, amax, f(levels));
              // llama.cpp: id = d ? 1/d : 0 (an all-zero block stays zero).
              Value isZero = bb.create<arith::CmpFOp>(
                  bl, arith::CmpFPredicate::OEQ, amax, f(0.0f));
              Value id = bb.create<arith::SelectOp>(
                  bl, isZero, f(0.0f),
                  bb.create<arith::DivFOp>(bl, f(levels), amax));
              Value scaled = bb.create<arith::MulFOp>(
                  bl, v, bb.create<vector::BroadcastOp>(bl, vec(32, f32), id));
              Value q = bb.create<arith::FPToSIOp>(
                  bl, vec(32, bb.getIntegerType(bits)),
                  bb.create<math::RoundEvenOp>(bl, scaled));
              // int16 values go to xq's bytes 2k, 2k + 1 (little-endian);
              // split, per 4 k their 4 low bytes, then their 4 high ones.
              Value stored = q;
              if (bits == 16) {
                stored = bb.create<vector::BitCastOp>(
                    bl, vec(64, bb.getI8Type()), q);
                if (splitWords) {
                  SmallVector<int64_t> mask;
                  for (int64_t g = 0; g < 64; g += 8)
                    for (int64_t h = 0; h < 2; ++h)
                      for (int64_t t = 0; t < 4; ++t)
                        mask.push_back(g + 2 * t + h);
                  stored =
                      bb.create<vector::ShuffleOp>(bl, stored, stored, mask);
                }
              }
              bb.create<vector::StoreOp>(
                  bl, stored, xq,
                  ValueRange{
                      m,
                      bits == 16
                          ? bb.create<arith::MulIOp>(bl, k0, cst(2)).getResult()
                          : k0});
              bb.create<memref::StoreOp>(bl, d, xd, ValueRange{m, blk});
              // sum(q) per sumBlock in i32 (a shuffle tree; exact in f32
              // too, |sum| <= 32 * 32767).
              Value wide = bb.create<arith::ExtSIOp>(bl, vec(32, i32), q);
              const int64_t parts = 32 / sumBlock;
              for (int64_t h = 0; h < parts; ++h) {
                Value part =
                    parts == 1 ? wide
                               : bb.create<vector::ExtractStridedSliceOp>(
                                     bl, wide, ArrayRef<int64_t>{h * sumBlock},
                                     ArrayRef<int64_t>{sumBlock},
                                     ArrayRef<int64_t>{1});
                Value sum = bb.create<vector::ReductionOp>(
                    bl, vector::CombiningKind::ADD, part);
                sum =
                    sumOffset
                        ? bb.create<arith::BitcastOp>(
                                bl, f32,
                                bb.create<arith::MulIOp>(
                                    bl, sum,
                                    bb.create<arith::ConstantIntOp>(
                                        bl, -sumOffset, 32)))
                              .getResult()
                        : bb.create<arith::SIToFPOp>(bl, f32, sum).getResult();
                Value at = bb.create<arith::AddIOp>(
                    bl, bb.create<arith::MulIOp>(bl, blk, cst(parts)),
                    cst(k / 32 + h));
                bb.create<memref::StoreOp>(bl, sum, xd, ValueRange{m, at});
              }
              bb.create<scf::YieldOp>(bl);
            });
        rb.create<scf::YieldOp>(l);
      });
}

} // namespace mlir::tfm
