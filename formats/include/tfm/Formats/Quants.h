//===- Quants.h - GGUF's block encodings: decode, check, quantize -*- C++ -*-=//
//
// The block-quantized tensor types tfmc reads (q8_0 and the K-quants q2_K to
// q6_K): per type its block (values and bytes), where its f16 super-block
// scales lie (each must be finite), and ggml's dequantization of one block.
// The dequantizers do ggml's dequantize_row_* f32 operations in ggml's
// order, so the values are ggml's bit for bit. The quantizers (q4_K, q6_K)
// are ggml's reference ones (quantize_row_*_ref, which llama-quantize runs
// when it has no importance matrix), for tfmc --quantize.
//
// Block layouts (ggml-common.h; f16 fields little-endian):
//   q8_0  34 B / 32:  d | qs[32] (int8)
//   q2_K  84 B / 256: scales[16] (4-bit scale | 4-bit min) | qs[64] | d | dmin
//   q3_K 110 B / 256: hmask[32] | qs[64] | scales[12] (16 x 6 bit) | d
//   q4_K 144 B / 256: d | dmin | scales[12] (8 x 6-bit scale, min) | qs[128]
//   q5_K 176 B / 256: d | dmin | scales[12] | qh[32] | qs[128]
//   q6_K 210 B / 256: ql[128] | qh[64] | scales[16] (int8) | d
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FORMATS_QUANTS_H
#define TFM_FORMATS_QUANTS_H

#include "tfm/Formats/Checkpoint.h"

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <optional>

namespace tfm::formats {

/// ggml's super-block size (QK_K).
constexpr uint64_t kSuperBlock = 256;

/// A block-quantized DType.
struct BlockEncoding {
  DType type;
  /// Values and bytes per block (the encodings table's).
  uint32_t elems() const { return encodingInfo(type).blockSize; }
  uint32_t bytes() const { return encodingInfo(type).blockBytes; }
  /// Byte offsets in a block of its f16 scales (d, then dmin), -1 for none.
  int16_t scaleAt[2];
  /// Writes the block's `elems` values to `out`.
  void (*dequantize)(const uint8_t *block, float *out);
  /// ggml's reference quantizer of one block (null where tfmc has none).
  void (*quantize)(const float *values, uint8_t *block);
};

/// The encoding of `t`, or nullptr for f32, f16 and bf16.
const BlockEncoding *blockEncoding(DType t);

/// A block of a tensor whose f16 scale is NaN or infinite.
struct BadScale {
  uint64_t block;    ///< Index of the block in the tensor.
  const char *field; ///< "d" or "dmin".
  float value;
};

/// The first of blocks [first, first + count) of `data` (blocks of `enc`)
/// whose d or dmin is not finite.
std::optional<BadScale> findBadScale(const BlockEncoding &enc,
                                     const uint8_t *data, uint64_t first,
                                     uint64_t count);

/// enc.quantize on each block: `values` holds whole blocks, `out` the
/// bytes of as many.
void quantizeBlocks(const BlockEncoding &enc, llvm::ArrayRef<float> values,
                    llvm::MutableArrayRef<uint8_t> out);

} // namespace tfm::formats

#endif // TFM_FORMATS_QUANTS_H
