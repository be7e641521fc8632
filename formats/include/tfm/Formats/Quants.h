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
