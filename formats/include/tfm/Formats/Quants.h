//===- Quants.h - GGUF's K-quant blocks: decode, check, quantize -*- C++ -*-=//
//
// ggml's K-quant block types (q2_K to q6_K, 256 values per super-block),
// the encodings table's dequantizers and quantizers for them
// (Encodings.h). The dequantizers do ggml's dequantize_row_* f32
// operations in ggml's order, so the values are ggml's bit for bit. The
// quantizers (q4_K, q6_K) are ggml's reference ones (quantize_row_*_ref,
// which llama-quantize runs when it has no importance matrix), for tfmc
// --quantize.
//
// Block layouts (ggml-common.h; f16 fields little-endian):
//   q2_K  84 B / 256: scales[16] (4-bit scale | 4-bit min) | qs[64] | d | dmin
//   q3_K 110 B / 256: hmask[32] | qs[64] | scales[12] (16 x 6 bit) | d
//   q4_K 144 B / 256: d | dmin | scales[12] (8 x 6-bit scale, min) | qs[128]
//   q5_K 176 B / 256: d | dmin | scales[12] | qh[32] | qs[128]
//   q6_K 210 B / 256: ql[128] | qh[64] | scales[16] (int8) | d
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FORMATS_QUANTS_H
#define TFM_FORMATS_QUANTS_H

#include "tfm/Formats/Encodings.h"

#include <cstdint>
#include <optional>

namespace tfm::formats {

/// One block's 256 values.
void dequantizeQ2_K(const uint8_t *block, float *out);
void dequantizeQ3_K(const uint8_t *block, float *out);
void dequantizeQ4_K(const uint8_t *block, float *out);
void dequantizeQ5_K(const uint8_t *block, float *out);
void dequantizeQ6_K(const uint8_t *block, float *out);
/// One block of 256 values.
void quantizeQ4_K(const float *values, uint8_t *block);
void quantizeQ6_K(const float *values, uint8_t *block);

/// The block as the blob stores it (Encodings.h's K-quant components):
///   q2_K  84 B: qs[64] | scale | min << 4 [16] | d | dmin
///   q3_K 126 B: qs[64] | qh[16] (u16) | 12 unused | d | scale[16] (int8,
///               - 32 done)
///   q4_K 148 B: d | dmin | scale[8] | min[8] (u8) | qs[128]
///   q5_K 180 B: d | dmin | scale[8] | min[8] | qh[8] (u32) | qs[128]
///   q6_K 210 B: qs[128] | qh[16] (u32) | scale[16] (int8) | d
/// Sub-block t (32 values; q6_K: 16) of qs is bytes [16 t, + 16) ([8 t,
/// + 8)) holding its element j in the low nibble of byte j and element
/// j + 16 (j + 8) in the high one, as q4_0's; bit j of qh[t] is its element
/// j's fifth bit (q6_K: bits 8 (j % 4) + 2 (j / 4), + 1 its two high bits,
/// so byte t of the word holds elements t, t + 4, t + 8, t + 12: the 4 k of
/// an integer dot step, IntegerDot.h). d and dmin stay where they are in the
/// GGUF block (error messages name their bytes there). q2_K and q3_K hold 2-bit
/// levels: sub-block t's (16 values) are bytes [4 t, + 4), element 4 c + j at
/// bits 2 c of byte j (so byte j holds elements j, j + 4, j + 8, j + 12 as
/// q6_K's words), and bit j of q3_K's qh[t] is element j's third bit.
void repackQ2_K(const uint8_t *block, uint8_t *out);
void repackQ3_K(const uint8_t *block, uint8_t *out);
void repackQ4_K(const uint8_t *block, uint8_t *out);
void repackQ5_K(const uint8_t *block, uint8_t *out);
void repackQ6_K(const uint8_t *block, uint8_t *out);

/// A block of a tensor whose f16 super-block scale is NaN or infinite.
struct BadScale {
  uint64_t block;    ///< Index of the block in the tensor.
  const char *field; ///< "d" or "dmin".
  float value;
};

/// The first of blocks [first, first + count) of `data` (blocks of K-quant
/// `e`) whose d or dmin is not finite; none for other encodings.
std::optional<BadScale> findBadScale(Encoding e, const uint8_t *data,
                                     uint64_t first, uint64_t count);

} // namespace tfm::formats

#endif // TFM_FORMATS_QUANTS_H
