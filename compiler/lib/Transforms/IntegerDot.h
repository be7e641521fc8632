//===- IntegerDot.h - Integer dot products of 32-value blocks ---*- C++ -*-===//
//
// The integer arithmetic of tfm-generate-kernels' q8_0, q4_0, q4_1, q5_0,
// q5_1 and K-quant (q2_K to q6_K) bodies: activations quantized per block of 32
// to int8 (llama.cpp's quantize_row_q8_0), then per 4 k and column one 32-bit
// lane of products of the weights' integers and x's summed by x86's
// vpmaddubsw + vpmaddwd or VNNI's vpdpbusd (LLVM intrinsics: MLIR 19's
// x86vector dialect has no integer dot product). A block (a K-quant's
// sub-block) of w = d * (q - offset) (+- m) contributes d * xd * (sum q * xq
// - offset * sum xq) (+- m * xd * sum xq). Without VNNI, unsigned q's
// vpmaddubsw pair sums of a block's packed steps (as many as stay exact:
// intDotPairSteps) are added in i16 before one vpmaddwd (emitDotPairs). The LM
// head's may take int16 activations instead (emitWord*: pmaddwd or VNNI's
// vpdpwssd on q widened to i16; for unsigned q without VNNI x split into bytes,
// two vpmaddubsw: emitSplitWordDotStep).
//
//===----------------------------------------------------------------------===//

#ifndef TFM_LIB_TRANSFORMS_INTEGERDOT_H
#define TFM_LIB_TRANSFORMS_INTEGERDOT_H

#include "tfm/Dialect/Tfm/IR/TfmOps.h"

#include "mlir/IR/Builders.h"
#include <optional>

namespace mlir::tfm {

/// How an encoding's blocks (of its kernelBlock: 32, q6_K's 16) enter
/// integer dot products (one row per encoding that has them). The block's
/// weight scale and minimum are its WeightEncodingInfo::block values.
struct DotEncoding {
  WeightEncoding encoding;
  /// Bits per value in the values array: 4 (two per byte: byte j holds
  /// element j low, j + B/2 high) or 2 (q2_K, q3_K: four per byte, element
  /// j + B/4 c at bits 2 c), read unsigned; 8: q8_0's signed int8s.
  int valueBits;
  /// Values below 8 bits (unsigned q).
  bool packed() const { return valueBits < 8; }
  /// Dot steps from one load of values: one per value of a byte.
  int64_t parts() const { return 8 / valueBits; }
  /// Rows of the values array (P bytes each) per block of `block` values.
  int64_t blockRows(int64_t block) const { return block * valueBits / 8; }
  /// w = d * (q - offset) (+ m): the block subtracts offset * sum(xq).
  int64_t offset;
  /// w = d * q + m (1: q4_1, q5_1), d * q - m (-1: the K-quants' dmin *
  /// min), or no minimum (0).
  int minSign;
  /// Bits above the packed value and the component of words per block
  /// holding them (-1: none): q5's fifth bit (bit j: element j's; 32-bit),
  /// q3_K's third (16-bit), q6_K's two (bits 8 (j % 4) + 2 (j / 4):
  /// element j's, Quants.h's repacking).
  int highBits, highComponent;
  /// The runtime's scheduler of the bodies (Kernels.h): out, xd, xq, then
  /// the components, each with its element type.
  StringLiteral scheduler;
};

/// The row of `e`, or null when its layers keep f32 arithmetic.
const DotEncoding *dotEncoding(WeightEncoding e);

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

/// The weight side of a dot step: from `quads` (vector<4P x i8>, the rows
/// k .. k+3 of a [K][P] tile in lanes of 4 k: stored so, or transposeQuads)
/// its u8 operand and sign mask. Shared by every row of a register tile.
struct DotWeights {
  /// |w| for vpmaddubsw (|-128| = 128 as u8); w + 128 for vpdpbusd; an
  /// unsigned q (2-6-bit) as it is.
  Value magnitude;
  Value negative; ///< w < 0, vector<4P x i1> (AVX-512BW's select).
  Value raw;      ///< The transposed w (psignb takes its sign); null when
                  ///< `magnitude` is unsigned q (x then enters as it is).
};

/// True when the isa's dot step computes sum (w + 128) * x, which the
/// body corrects per block by 128 * sum(x) (emitQuantizeRows).
bool intDotBiased(IntDotIsa isa);
DotWeights emitDotWeights(OpBuilder &b, Location loc, IntDotIsa isa,
                          Value quads);
/// emitDotWeights in two halves, so that a prefill body can keep the first's
/// bytes of a q8_0 tile (transposed: lanes of 4 k) for all its rows: w + 128
/// for vpdpbusd, else w; then the DotWeights of those bytes.
Value emitKeptWeights(OpBuilder &b, Location loc, IntDotIsa isa, Value w);
DotWeights emitSignedWeights(OpBuilder &b, Location loc, IntDotIsa isa,
                             Value kept);

/// `raw` (vector<4P x i8>, rows k .. k+3 of a [K][P] tile as stored)
/// transposed so each 32-bit lane holds the 4 k of one column (the layout
/// of weights stored in quads, tfm.weight's `quads`: no shuffle).
Value transposeQuads(OpBuilder &b, Location loc, Value raw, int64_t p);

/// The weight side of a 2-6-bit dot step: from `quads` (transposeQuads
/// of 4 rows j .. j+3 of a block's bytes) the values of part `part` (bits
/// valueBits part and up: elements j + B / parts part .. + 3), with the
/// high bits of `de` from `high` (vector<P x i32> or <P x i16>, the block's
/// words per column; null without) above them: q in [0, 63], unsigned.
DotWeights emitPackedWeights(OpBuilder &b, Location loc, const DotEncoding &de,
                             Value quads, int64_t part, Value high, Value j);

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
/// emitDotStep in two halves (no VNNI): the vpmaddubsw i16 pair sums
/// (vector<2P x i16>), which steps on unsigned q may add up with vpaddw
/// (intDotPairSteps of them), then acc + their sums per lane (vpmaddwd by
/// ones).
Value emitDotPairs(OpBuilder &b, Location loc, IntDotIsa isa,
                   const DotWeights &w, const DotActivations &x, int64_t p);
Value emitPairSums(OpBuilder &b, Location loc, IntDotIsa isa, Value acc,
                   Value pairs, int64_t p);
/// The dot steps of `de` whose pair sums stay exact in i16: |pair| <= 2 *
/// qmax * 127 per step, so 8 for q4 (3810), 4 for q5 (7874), 2 for q6_K
/// (16002), 18 for q3_K, 43 for q2_K; 1 for q8_0's signed w (2 * 128 * 127)
/// and for VNNI.
int64_t intDotPairSteps(const DotEncoding &de, IntDotIsa isa);

/// int16 activations (the LM head: the int8 rounding of its input was most
/// of the logits' error, docs/design.md): x per block of 32 to int16 (d =
/// max|x| / 32767), the weights' q widened to i16 in registers, products
/// by pmaddwd or VNNI's vpdpwssd (signed x signed: no bias, no sign
/// trick). The sums of a column's 4 k stay in two 32-bit lanes until the
/// block ends (emitWordPairSums).
///
/// `quads` (vector<4P x i8>, transposeQuads' lanes of 4 k: q unsigned for
/// 2-6-bit, q8_0's int8 signed) widened to vector<4P x i16>.
Value emitWordWeights(OpBuilder &b, Location loc, const DotEncoding &de,
                      Value quads);
/// 4 int16s of x (`quad`, vector<4 x i16>) repeated over P/2 64-bit lanes
/// (vector<2P x i16>: the k of one half of the weights' columns).
Value emitWordActivations(OpBuilder &b, Location loc, Value quad, int64_t p);
/// acc (vector<2P x i32>; lanes 2c, 2c+1: column c's products of k, k+1
/// and of k+2, k+3) + the products of `w` (emitWordWeights) and `x`
/// (emitWordActivations). |sum| per block <= 32 * 128 * 32767 < 2^31.
Value emitWordDotStep(OpBuilder &b, Location loc, IntDotIsa isa, Value acc,
                      Value w, Value x, int64_t p);
/// The per-column sums (vector<P x i32>) of emitWordDotStep's lane pairs.
Value emitWordPairSums(OpBuilder &b, Location loc, Value acc, int64_t p);

/// True when `de`'s int16 dot steps on `isa` split x into bytes instead
/// (no VNNI, q unsigned: 2-6-bit): x = 256 xh + xl with xl = x & 255
/// (u8) and xh = x >> 8 (s8), sum q x = 256 sum q xh + sum q xl by two
/// vpmaddubsw, as the int8 steps' (no widening of q to i16: that took 3
/// shuffles per step). The quantization stores per 4 k the 4 xl, then the
/// 4 xh (emitQuantizeRows' splitWords). On AVX2 (Zen 3) the q4_0 head's
/// perf samples fell 1.35x, stories110M q4_0 decode rose 1.12x
/// (docs/design.md).
bool intDotSplitWords(const DotEncoding &de, IntDotIsa isa);
/// acc (vector<P x i32>) + per lane c: sum over t < 4 of q[c][t] * x[t],
/// from `q` (vector<4P x i8>, transposeQuads' lanes, unsigned q <= 63) and
/// the broadcast quads of xl and xh (vector<4P x i8>): vpmaddwd of the xh
/// pairs by 256 and of the xl pairs by 1.
Value emitSplitWordDotStep(OpBuilder &b, Location loc, IntDotIsa isa, Value acc,
                           Value q, Value xl, Value xh, int64_t p);

/// The multiple of sum(xq) a block of `de` takes off its int32 sum: its
/// offset, or 128 for q8_0 with vpdpbusd (w + 128) on int8 activations.
int64_t intDotOffset(const DotEncoding &de, IntDotIsa isa, int64_t bits = 8);

/// True when a body of `de` adds -intDotOffset * sum(xq) to each block's
/// int32 sums (then stored as i32, emitQuantizeRows; int8 prefill bodies
/// and every int16 body): an offset and no minimum (which needs sum(xq) as
/// a float).
bool intDotOffsetInSums(const DotEncoding &de, IntDotIsa isa, int64_t bits = 8);

/// Quantizes the rows of `x` (memref<M x K x f32>) per block of 32 as
/// llama.cpp's quantize_row_q8_0 does: d = max|x| / 127, q = round(x / d),
/// storing q in `xq` (memref<M x K x i8>) and in `xd` (memref<M x (K/32 +
/// K/sumBlock) x f32>) the K/32 scales d (kept in f32), then the sums of q
/// per `sumBlock` (32, or q6_K's 16) values, or with `sumOffset` the bits of
/// the i32 -sumOffset * sum(q). With `bits` 16: d = max|x| / 32767 and q as
/// int16 in xq's bytes (memref<M x 2K x i8>): little-endian, or with
/// `splitWords` per 4 k their low bytes, then their high bytes.
void emitQuantizeRows(OpBuilder &b, Location loc, Value x, Value xq, Value xd,
                      int64_t k, int64_t sumBlock = 32, int64_t sumOffset = 0,
                      int64_t bits = 8, bool splitWords = false);

} // namespace mlir::tfm

#endif // TFM_LIB_TRANSFORMS_INTEGERDOT_H
