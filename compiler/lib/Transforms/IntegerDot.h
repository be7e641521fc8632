//===- IntegerDot.h - int8 dot products of q8_0 blocks ----------*- C++ -*-===//
//
// The integer arithmetic of tfm-generate-kernels' q8_0 bodies: activations
// quantized per block of 32 to int8 (llama.cpp's quantize_row_q8_0), then
// per 4 k and column one 32-bit lane of int8 products summed by x86's
// vpmaddubsw + vpmaddwd or VNNI's vpdpbusd (LLVM intrinsics: MLIR 19's
// x86vector dialect has no integer dot product).
//
//===----------------------------------------------------------------------===//

#ifndef TFM_LIB_TRANSFORMS_INTEGERDOT_H
#define TFM_LIB_TRANSFORMS_INTEGERDOT_H

#include "mlir/IR/Builders.h"
#include <optional>

namespace mlir::tfm {

/// The instructions of one dot step, by target (`int-dot` pass option).
enum class IntDotIsa {
  None,       ///< f32 arithmetic only.
  Ssse3,      ///< xmm pmaddubsw + pmaddwd, psignb (x86-64-v2).
  Avx2,       ///< ymm vpmaddubsw + vpmaddwd, vpsignb (x86-64-v3).
  Avx512Bw,   ///< zmm vpmaddubsw + vpmaddwd, a masked negation (v4).
  AvxVnni,    ///< ymm {vex} vpdpbusd.
  Avx512Vnni, ///< zmm vpdpbusd.
};

std::optional<IntDotIsa> parseIntDotIsa(StringRef name);
StringRef intDotIsaName(IntDotIsa isa);
/// The 32-bit lanes of the isa's vectors: the column tile P it serves.
int64_t intDotLanes(IntDotIsa isa);

/// The weight side of a dot step: `raw` (vector<4P x i8>, the rows k .. k+3
/// of a [K][P] tile as stored) transposed so each 32-bit lane holds the 4 k
/// of one column, then its u8 operand and sign mask. Shared by every row of
/// a register tile.
struct DotWeights {
  /// |w| for vpmaddubsw (|-128| = 128 as u8); w + 128 for vpdpbusd.
  Value magnitude;
  Value negative; ///< w < 0, vector<4P x i1> (AVX-512BW's select).
  Value raw;      ///< The transposed w (psignb takes its sign).
};

/// True when the isa's dot step computes sum (w + 128) * x, which the
/// body corrects per block by 128 * sum(x) (emitQuantizeRows).
bool intDotBiased(IntDotIsa isa);
DotWeights emitDotWeights(OpBuilder &b, Location loc, IntDotIsa isa, Value raw,
                          int64_t p);

/// The activation side: 4 int8s of x (`quad`, vector<4xi8>) repeated over
/// the P lanes, and its negation (for AVX-512's masked select).
struct DotActivations {
  Value x, negX;
};
DotActivations emitDotActivations(OpBuilder &b, Location loc, IntDotIsa isa,
                                  Value quad, int64_t p);

/// acc (vector<P x i32>) + per lane c: sum over t < 4 of w[c][t] * x[t]
/// (plus 128 * x[t] when intDotBiased). vpmaddubsw gets |w| and sign(x, w)
/// so its i16 pair sums stay below 2 * 128 * 127 (no saturation; x is in
/// [-127, 127]); vpdpbusd has no i16 step, so w + 128 and x.
Value emitDotStep(OpBuilder &b, Location loc, IntDotIsa isa, Value acc,
                  const DotWeights &w, const DotActivations &x, int64_t p);

/// Quantizes the rows of `x` (memref<M x K x f32>) per block of 32 as
/// llama.cpp's quantize_row_q8_0 does: d = max|x| / 127, q = round(x / d),
/// storing q in `xq` (memref<M x K x i8>) and in `xd` (memref<M x 2K/32 x
/// f32>) the K/32 scales d (kept in f32), then each block's 128 * sum(q).
void emitQuantizeRows(OpBuilder &b, Location loc, Value x, Value xq, Value xd,
                      int64_t k);

} // namespace mlir::tfm

#endif // TFM_LIB_TRANSFORMS_INTEGERDOT_H
