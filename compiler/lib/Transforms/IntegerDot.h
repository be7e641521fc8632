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
/// of one column, then its magnitude (u8 for vpmaddubsw/vpdpbusd) and its
/// sign mask. Shared by every row of a register tile.
struct DotWeights {
  Value magnitude; ///< |w| as vector<4P x i8> (|-128| = 128 as u8).
  Value negative;  ///< w < 0, vector<4P x i1>.
  Value raw;       ///< The transposed w (psignb takes its sign).
};
DotWeights emitDotWeights(OpBuilder &b, Location loc, IntDotIsa isa, Value raw,
                          int64_t p);

/// The activation side: 4 int8s of x (`quad`, vector<4xi8>) repeated over
/// the P lanes, and its negation (for AVX-512's masked select).
struct DotActivations {
  Value x, negX;
};
DotActivations emitDotActivations(OpBuilder &b, Location loc, IntDotIsa isa,
                                  Value quad, int64_t p);

/// acc (vector<P x i32>) + per lane c: sum over t < 4 of w[c][t] * x[t].
/// x is sign(x, w) and w is |w| so vpmaddubsw's i16 pair sums stay below
/// 2 * 128 * 127 (no saturation; x is in [-127, 127]).
Value emitDotStep(OpBuilder &b, Location loc, IntDotIsa isa, Value acc,
                  const DotWeights &w, const DotActivations &x, int64_t p);

/// Quantizes the rows of `x` (memref<M x K x f32>) per block of 32 as
/// llama.cpp's quantize_row_q8_0 does: d = max|x| / 127, q = round(x / d),
/// storing q in `xq` (memref<M x K x i8>) and d in `xd` (memref<M x K/32 x
/// f32>, kept in f32).
void emitQuantizeRows(OpBuilder &b, Location loc, Value x, Value xq, Value xd,
                      int64_t k);

} // namespace mlir::tfm

#endif // TFM_LIB_TRANSFORMS_INTEGERDOT_H
