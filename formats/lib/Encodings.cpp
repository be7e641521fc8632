//===- Encodings.cpp - The table of weight encodings ----------------------===//

#include "tfm/Formats/Encodings.h"
#include "tfm/Formats/Checkpoint.h"
#include "tfm/Formats/Quants.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

namespace tfm::formats {

namespace {

using llvm::support::endian::read16le;
using llvm::support::endian::read32le;
using llvm::support::endian::write16le;

/// Each array of an encoded weight starts at a multiple of this many bytes
/// (Weights.h's kWeightAlignment).
constexpr uint64_t kComponentAlignment = 64;

/// f32 to IEEE half, round to nearest even (ggml's GGML_FP32_TO_FP16).
uint16_t floatToHalf(float x) {
  llvm::APFloat half(x);
  bool losesInfo = false;
  half.convert(llvm::APFloat::IEEEhalf(), llvm::APFloat::rmNearestTiesToEven,
               &losesInfo);
  return static_cast<uint16_t>(half.bitcastToAPInt().getZExtValue());
}

float half(const uint8_t *p) { return halfToFloat(read16le(p)); }

// ggml's 4-bit blocks: byte j of qs holds element j (low nibble) and
// element j + 16 (high nibble); q5 adds bit j of the 32-bit qh to element
// j as its fifth bit.
int nibble(const uint8_t *qs, int j) {
  return j < 16 ? qs[j] & 0x0F : qs[j - 16] >> 4;
}
int fifth(const uint8_t *qh, int j) {
  return static_cast<int>((read32le(qh) >> j) & 1) << 4;
}

void dequantizeF32(const uint8_t *b, float *out) {
  *out = llvm::bit_cast<float>(read32le(b));
}
void dequantizeF16(const uint8_t *b, float *out) { *out = half(b); }
void dequantizeBF16(const uint8_t *b, float *out) {
  *out = bf16ToFloat(read16le(b));
}
// block_q8_0 { f16 d; int8 qs[32]; }: x = d * q.
void dequantizeQ8_0(const uint8_t *b, float *out) {
  float d = half(b);
  for (int j = 0; j < 32; ++j)
    out[j] = d * static_cast<float>(static_cast<int8_t>(b[2 + j]));
}
// block_q4_0 { f16 d; u8 qs[16]; }: x = d * (q - 8).
void dequantizeQ4_0(const uint8_t *b, float *out) {
  float d = half(b);
  for (int j = 0; j < 32; ++j)
    out[j] = d * static_cast<float>(nibble(b + 2, j) - 8);
}
// block_q4_1 { f16 d, m; u8 qs[16]; }: x = d * q + m.
void dequantizeQ4_1(const uint8_t *b, float *out) {
  float d = half(b), m = half(b + 2);
  for (int j = 0; j < 32; ++j)
    out[j] = d * static_cast<float>(nibble(b + 4, j)) + m;
}
// block_q5_0 { f16 d; u8 qh[4]; u8 qs[16]; }: x = d * (q - 16).
void dequantizeQ5_0(const uint8_t *b, float *out) {
  float d = half(b);
  for (int j = 0; j < 32; ++j)
    out[j] = d * static_cast<float>((nibble(b + 6, j) | fifth(b + 2, j)) - 16);
}
// block_q5_1 { f16 d, m; u8 qh[4]; u8 qs[16]; }: x = d * q + m.
void dequantizeQ5_1(const uint8_t *b, float *out) {
  float d = half(b), m = half(b + 2);
  for (int j = 0; j < 32; ++j)
    out[j] = d * static_cast<float>(nibble(b + 8, j) | fifth(b + 4, j)) + m;
}

void quantizeF16(const float *x, uint8_t *b) { write16le(b, floatToHalf(*x)); }
// ggml_compute_fp32_to_bf16: round to nearest even, NaN kept quiet.
void quantizeBF16(const float *x, uint8_t *b) {
  uint32_t u = llvm::bit_cast<uint32_t>(*x);
  uint16_t h =
      (u & 0x7fffffffu) > 0x7f800000u
          ? static_cast<uint16_t>((u >> 16) | 64)
          : static_cast<uint16_t>((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
  write16le(b, h);
}
// quantize_row_q8_0_ref: d = max|x| / 127, q = round(x / d).
void quantizeQ8_0(const float *x, uint8_t *b) {
  float amax = 0;
  for (int j = 0; j < 32; ++j)
    amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  write16le(b, floatToHalf(d));
  for (int j = 0; j < 32; ++j)
    b[2 + j] = static_cast<uint8_t>(
        static_cast<int8_t>(static_cast<int>(std::round(x[j] * id))));
}
// quantize_row_q4_0_ref: d = (the x of largest |x|) / -8,
// q = min(15, (int8)(x / d + 8.5)).
void quantizeQ4_0(const float *x, uint8_t *b) {
  float amax = 0, max = 0;
  for (int j = 0; j < 32; ++j)
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  const float d = max / -8;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  write16le(b, floatToHalf(d));
  for (int j = 0; j < 16; ++j) {
    int lo =
        std::min(15, static_cast<int>(static_cast<int8_t>(x[j] * id + 8.5f)));
    int hi = std::min(
        15, static_cast<int>(static_cast<int8_t>(x[16 + j] * id + 8.5f)));
    b[2 + j] = static_cast<uint8_t>(lo | (hi << 4));
  }
}

// Components: name, element, byte offset in the block, per block, check.
using C = EncodingComponent;
constexpr C kF16[] = {{"value", ElementKind::F16, 0, 1, C::F16Value}};
constexpr C kBF16[] = {{"value", ElementKind::I16, 0, 1, C::BF16Value}};
constexpr C kQ8_0[] = {{"value", ElementKind::I8, 2, 32, C::None},
                       {"scale", ElementKind::F16, 0, 1, C::Scale}};
constexpr C kQ4_0[] = {{"value", ElementKind::I8, 2, 16, C::None},
                       {"scale", ElementKind::F16, 0, 1, C::Scale}};
constexpr C kQ4_1[] = {{"value", ElementKind::I8, 4, 16, C::None},
                       {"scale", ElementKind::F16, 0, 1, C::Scale},
                       {"min", ElementKind::F16, 2, 1, C::Scale}};
constexpr C kQ5_0[] = {{"value", ElementKind::I8, 6, 16, C::None},
                       {"scale", ElementKind::F16, 0, 1, C::Scale},
                       {"fifth bits", ElementKind::I32, 2, 1, C::None}};
constexpr C kQ5_1[] = {{"value", ElementKind::I8, 8, 16, C::None},
                       {"scale", ElementKind::F16, 0, 1, C::Scale},
                       {"min", ElementKind::F16, 2, 1, C::Scale},
                       {"fifth bits", ElementKind::I32, 4, 1, C::None}};
// The K-quants' repacked blocks (Quants.h), per 256 values: the values
// (nibbles of 32-value sub-blocks as q4_0's, q6_K: of 16-value ones; q2_K,
// q3_K: 2-bit levels of 16-value ones), the sub-block scales and mins, the
// super-block's d and dmin.
constexpr C kQ2_K[] = {
    {"value", ElementKind::I8, 0, 64, C::None},
    {"sub-block scale and min", ElementKind::I8, 64, 16, C::None},
    {"d", ElementKind::F16, 80, 1, C::Scale},
    {"dmin", ElementKind::F16, 82, 1, C::Scale}};
constexpr C kQ3_K[] = {{"value", ElementKind::I8, 0, 64, C::None},
                       {"third bits", ElementKind::I16, 64, 16, C::None},
                       {"sub-block scale", ElementKind::I8, 110, 16, C::None},
                       {"d", ElementKind::F16, 108, 1, C::Scale}};
constexpr C kQ4_K[] = {{"value", ElementKind::I8, 20, 128, C::None},
                       {"sub-block scale", ElementKind::I8, 4, 8, C::None},
                       {"sub-block min", ElementKind::I8, 12, 8, C::None},
                       {"d", ElementKind::F16, 0, 1, C::Scale},
                       {"dmin", ElementKind::F16, 2, 1, C::Scale}};
constexpr C kQ5_K[] = {{"value", ElementKind::I8, 52, 128, C::None},
                       {"sub-block scale", ElementKind::I8, 4, 8, C::None},
                       {"sub-block min", ElementKind::I8, 12, 8, C::None},
                       {"d", ElementKind::F16, 0, 1, C::Scale},
                       {"dmin", ElementKind::F16, 2, 1, C::Scale},
                       {"fifth bits", ElementKind::I32, 20, 8, C::None}};
constexpr C kQ6_K[] = {{"value", ElementKind::I8, 0, 128, C::None},
                       {"high bits", ElementKind::I32, 128, 16, C::None},
                       {"sub-block scale", ElementKind::I8, 192, 16, C::None},
                       {"d", ElementKind::F16, 208, 1, C::Scale}};

constexpr EncodingInfo kEncodings[] = {
    {Encoding::F32, "f32", 0, 1, 4, {}, dequantizeF32, nullptr},
    {Encoding::F16, "f16", 1, 1, 2, kF16, dequantizeF16, quantizeF16},
    {Encoding::BF16, "bf16", 30, 1, 2, kBF16, dequantizeBF16, quantizeBF16},
    {Encoding::Q8_0, "q8_0", 8, 32, 34, kQ8_0, dequantizeQ8_0, quantizeQ8_0},
    {Encoding::Q4_0, "q4_0", 2, 32, 18, kQ4_0, dequantizeQ4_0, quantizeQ4_0},
    {Encoding::Q4_1, "q4_1", 3, 32, 20, kQ4_1, dequantizeQ4_1, nullptr},
    {Encoding::Q5_0, "q5_0", 6, 32, 22, kQ5_0, dequantizeQ5_0, nullptr},
    {Encoding::Q5_1, "q5_1", 7, 32, 24, kQ5_1, dequantizeQ5_1, nullptr},
    // K-quants (Quants.h): repacked.
    {Encoding::Q2_K, "q2_K", 10, 256, 84, kQ2_K, dequantizeQ2_K, nullptr,
     repackQ2_K, 84},
    {Encoding::Q3_K, "q3_K", 11, 256, 110, kQ3_K, dequantizeQ3_K, nullptr,
     repackQ3_K, 126},
    {Encoding::Q4_K, "q4_K", 12, 256, 144, kQ4_K, dequantizeQ4_K, quantizeQ4_K,
     repackQ4_K, 148},
    {Encoding::Q5_K, "q5_K", 13, 256, 176, kQ5_K, dequantizeQ5_K, nullptr,
     repackQ5_K, 180},
    {Encoding::Q6_K, "q6_K", 14, 256, 210, kQ6_K, dequantizeQ6_K, quantizeQ6_K,
     repackQ6_K, 210},
};

} // namespace

unsigned elementBytes(ElementKind kind) {
  switch (kind) {
  case ElementKind::I8:
    return 1;
  case ElementKind::I16:
  case ElementKind::F16:
    return 2;
  case ElementKind::I32:
  case ElementKind::F32:
    return 4;
  }
  return 1;
}

llvm::ArrayRef<EncodingInfo> weightEncodings() { return kEncodings; }

const EncodingInfo &encodingInfo(Encoding e) {
  const EncodingInfo &info = kEncodings[static_cast<size_t>(e)];
  assert(info.encoding == e && "rows out of order");
  return info;
}

std::optional<Encoding> encodingNamed(llvm::StringRef name) {
  for (const EncodingInfo &info : kEncodings)
    if (name == info.name)
      return info.encoding;
  return std::nullopt;
}

const EncodingInfo *encodingOfGgmlType(uint32_t type) {
  for (const EncodingInfo &info : kEncodings)
    if (info.ggmlType == type)
      return &info;
  return nullptr;
}
llvm::SmallVector<unsigned, 4> blobOrder(const EncodingInfo &info) {
  llvm::SmallVector<unsigned, 4> order;
  for (unsigned c = 1; c < info.components.size(); ++c)
    order.push_back(c);
  if (!info.components.empty())
    order.push_back(0);
  return order;
}

uint64_t componentOffset(const EncodingInfo &info, unsigned c, int64_t rows,
                         int64_t cols) {
  uint64_t offset = 0;
  for (unsigned k : blobOrder(info)) {
    if (k == c)
      return offset;
    const EncodingComponent &comp = info.components[k];
    offset = llvm::alignTo(
        offset + static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols) /
                     info.blockSize * comp.perBlock * elementBytes(comp.kind),
        kComponentAlignment);
  }
  return offset;
}

uint64_t encodedBytes(const EncodingInfo &info, int64_t rows, int64_t cols) {
  if (info.components.empty())
    return static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols) * 4;
  const EncodingComponent &values = info.components[0];
  return componentOffset(info, 0, rows, cols) +
         static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols) /
             info.blockSize * values.perBlock * elementBytes(values.kind);
}

} // namespace tfm::formats
