//===- Encodings.h - The table of weight encodings --------------*- C++ -*-===//
//
// How a weight's values may be stored: in a checkpoint (GGUF's block types)
// and in the weights blob a compiled model reads (tfm.weight's `encoding`,
// Weights.h). One row per encoding; everything that depends on an encoding
// (the blob's layout and writer, the dialect attribute, the dequantized
// contraction of tfm-to-linalg, the vector body of tfm-generate-kernels)
// reads it from here, and the MLIR half of a row (its dequantization
// emitter) is in tfm/Dialect/Tfm/IR/WeightEncodings.h.
//
// An encoded [N, K] weight is K/B blocks of B values per row, each block
// `blockBytes` bytes of the GGUF tensor. The blob stores it as one array
// per component (a byte range of the block, or of its repacked form:
// scales, values, ...), each in
// the tile order of tfm-pack-weights with K/B * perBlock for K ([N/P]
// tiles [K/B * perBlock][P], then a [K/B * perBlock][R] tail; P = 1 when not
// packed: row-major). The components are listed in the order the generated
// code takes them (values first); the blob stores the others first, in
// table order, then the values, each array at a multiple of 64 bytes
// (componentOffset).
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FORMATS_ENCODINGS_H
#define TFM_FORMATS_ENCODINGS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>

namespace tfm::formats {

/// The encodings; each is the index of its row in weightEncodings(). The
/// dialect's WeightEncoding (TfmAttrs.td) has the same values for the rows
/// the blob can store (those with components).
enum class Encoding : uint8_t {
  F32 = 0,
  F16 = 1,
  BF16 = 2,
  Q8_0 = 3,
  Q4_0 = 4,
  Q4_1 = 5,
  Q5_0 = 6,
  Q5_1 = 7,
  // The K-quants (Quants.h).
  Q2_K = 8,
  Q3_K = 9,
  Q4_K = 10,
  Q5_K = 11,
  Q6_K = 12,
};

/// The element type of a component array (BF16: the bit patterns, as i16;
/// I32: little-endian 32-bit words).
enum class ElementKind : uint8_t { I8, I16, I32, F16, F32 };

/// Bytes of one element of `kind`.
unsigned elementBytes(ElementKind kind);

/// One array of an encoded weight: `perBlock` elements of `kind` per block
/// and row, bytes [byteOffset, + perBlock * elementBytes) of each block.
struct EncodingComponent {
  const char *name;
  ElementKind kind;
  unsigned byteOffset;
  unsigned perBlock;
  /// What must be finite: nothing, a scale (a NaN or infinity is an error
  /// naming the tensor, the block and its byte offset), or an f16 / bf16
  /// value (an error like an f32 weight's, unless --allow-nonfinite).
  enum Check : uint8_t { None, Scale, F16Value, BF16Value } check;
};

struct EncodingInfo {
  Encoding encoding;
  const char *name;   ///< As in `--emit=tfm` and descriptions ("q8_0").
  uint32_t ggmlType;  ///< GGUF's tensor type id.
  unsigned blockSize; ///< Values per block (B).
  unsigned blockBytes;
  /// Values first. Empty when the blob does not store the encoding (f32,
  /// which it stores as it is).
  llvm::ArrayRef<EncodingComponent> components;
  /// Block `block` (blockBytes) as its blockSize f32 values: GGUF's
  /// dequantization, exact (d * q [+ m] in f32).
  void (*dequantize)(const uint8_t *block, float *out);
  /// GGUF's reference quantizer for blockSize values (ggml's
  /// quantize_row_*_ref, which llama-quantize uses), or null.
  void (*quantize)(const float *values, uint8_t *block);
  /// Null when the components are byte ranges of the GGUF block itself;
  /// else they are ranges of the `packedBytes` bytes `repack` makes of it
  /// (the K-quants: 6-bit scales unpacked, values reordered per sub-block).
  void (*repack)(const uint8_t *block, uint8_t *out) = nullptr;
  unsigned packedBytes = 0;
};

/// Every row, indexed by Encoding.
llvm::ArrayRef<EncodingInfo> weightEncodings();
const EncodingInfo &encodingInfo(Encoding e);
/// The row of GGUF tensor type `type`, or null.
const EncodingInfo *encodingOfGgmlType(uint32_t type);
/// The row named `name`, or none.
std::optional<Encoding> encodingNamed(llvm::StringRef name);

/// Components in blob order (the values last), as indices into components.
llvm::SmallVector<unsigned, 4> blobOrder(const EncodingInfo &info);

/// The byte offset of component `c`'s array in an encoded [rows, cols]
/// weight (see the file comment), and the weight's bytes in all.
uint64_t componentOffset(const EncodingInfo &info, unsigned c, int64_t rows,
                         int64_t cols);
uint64_t encodedBytes(const EncodingInfo &info, int64_t rows, int64_t cols);

} // namespace tfm::formats

#endif // TFM_FORMATS_ENCODINGS_H
