//===- Quants.cpp - GGUF's block encodings: decode, check, quantize -------===//
//
// ggml's arithmetic, operation for operation (see Quants.h). Compiled with
// -ffp-contract=off (CMakeLists.txt): ggml-base, which holds the reference
// quantizers, is built without FMA, and a fused multiply-add in
// make_qkx2_quants' sums would round differently.
//
//===----------------------------------------------------------------------===//

#include "tfm/Formats/Quants.h"
#include "tfm/Formats/Checkpoint.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Endian.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

namespace tfm::formats {

namespace {

float f16At(const uint8_t *p) {
  return halfToFloat(llvm::support::endian::read16le(p));
}

/// GGML_FP32_TO_FP16: round to nearest even.
uint16_t toHalf(float x) {
  llvm::APFloat half(x);
  bool losesInfo = false;
  half.convert(llvm::APFloat::IEEEhalf(), llvm::APFloat::rmNearestTiesToEven,
               &losesInfo);
  return static_cast<uint16_t>(half.bitcastToAPInt().getZExtValue());
}

/// get_scale_min_k4: the 6-bit scale and min of sub-block j (0..7) of a
/// q4_K/q5_K block's 12 scale bytes.
void scaleMinK4(int j, const uint8_t *q, uint8_t &sc, uint8_t &m) {
  if (j < 4) {
    sc = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

} // namespace

void dequantizeQ2_K(const uint8_t *b, float *y) {
  const uint8_t *scales = b, *qs = b + 16;
  const float d = f16At(b + 80), min = f16At(b + 82);
  int is = 0;
  for (int n = 0; n < 256; n += 128, qs += 32)
    for (int shift = 0; shift < 8; shift += 2)
      for (int half = 0; half < 2; ++half) {
        uint8_t sc = scales[is++];
        float dl = d * static_cast<float>(sc & 0xF);
        float ml = min * static_cast<float>(sc >> 4);
        for (int l = 0; l < 16; ++l)
          *y++ = dl * static_cast<float>((qs[16 * half + l] >> shift) & 3) - ml;
      }
}

void dequantizeQ3_K(const uint8_t *b, float *y) {
  const uint8_t *hmask = b, *qs = b + 32, *s = b + 96;
  const float dAll = f16At(b + 108);
  int is = 0;
  uint8_t m = 1;
  for (int n = 0; n < 256; n += 128, qs += 32)
    for (int shift = 0; shift < 8; shift += 2, m <<= 1)
      for (int half = 0; half < 2; ++half, ++is) {
        // 16 six-bit scales: low 4 bits in bytes 0-7, high 2 in bytes 8-11.
        int low = is < 8 ? s[is] & 0xF : s[is - 8] >> 4;
        int high = (s[8 + is % 4] >> (2 * (is / 4))) & 3;
        float dl = dAll * static_cast<float>((low | high << 4) - 32);
        for (int l = 0; l < 16; ++l) {
          int k = 16 * half + l;
          int q = ((qs[k] >> shift) & 3) - ((hmask[k] & m) ? 0 : 4);
          *y++ = dl * static_cast<float>(q);
        }
      }
}

/// q4_K (qh null) and q5_K (qh: the fifth bits).
static void dequantizeQ45K(const uint8_t *b, const uint8_t *qh,
                           const uint8_t *ql, float *y) {
  const float d = f16At(b), min = f16At(b + 2);
  const uint8_t *scales = b + 4;
  for (int j = 0; j < 4; ++j, ql += 32) {
    for (int half = 0; half < 2; ++half) {
      uint8_t sc, m;
      scaleMinK4(2 * j + half, scales, sc, m);
      const float d1 = d * static_cast<float>(sc);
      const float m1 = min * static_cast<float>(m);
      const uint8_t bit = static_cast<uint8_t>(1u << (2 * j + half));
      for (int l = 0; l < 32; ++l) {
        int q = half ? ql[l] >> 4 : ql[l] & 0xF;
        if (qh && (qh[l] & bit))
          q += 16;
        *y++ = d1 * static_cast<float>(q) - m1;
      }
    }
  }
}

void dequantizeQ4_K(const uint8_t *b, float *y) {
  dequantizeQ45K(b, nullptr, b + 16, y);
}

void dequantizeQ5_K(const uint8_t *b, float *y) {
  dequantizeQ45K(b, b + 16, b + 48, y);
}

void dequantizeQ6_K(const uint8_t *b, float *y) {
  const float d = f16At(b + 208);
  const uint8_t *ql = b, *qh = b + 128;
  const int8_t *sc = reinterpret_cast<const int8_t *>(b + 192);
  for (int n = 0; n < 256; n += 128, y += 128, ql += 64, qh += 32, sc += 8)
    for (int l = 0; l < 32; ++l) {
      int is = l / 16;
      int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      // (d * sc) * q, as ggml: the product may round, so the order matters.
      y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
      y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
}

/// ggml's GROUP_MAX_EPS: a group whose largest |x| is below it is zero.
constexpr float kGroupMaxEps = 1e-15f;

/// ggml's nearest_int: round to nearest, ties to even, through the f32
/// adder (|x| <= 2^22).
static int nearestInt(float x) {
  float v = x + 12582912.f;
  int32_t i;
  std::memcpy(&i, &v, sizeof i);
  return (i & 0x007fffff) - 0x00400000;
}

/// ggml's make_qkx2_quants with use_mad = false: the scale and (negated)
/// min of n values x with weights w, their levels in L (0..nmax).
static float makeQkx2Quants(int n, int nmax, const float *x,
                            const float *weights, uint8_t *L, float *theMin,
                            uint8_t *Laux, float rmin, float rdelta,
                            int nstep) {
  float min = x[0], max = x[0];
  float sumW = weights[0];
  float sumX = sumW * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min)
      min = x[i];
    if (x[i] > max)
      max = x[i];
    float w = weights[i];
    sumW += w;
    sumX += w * x[i];
  }
  if (min > 0)
    min = 0;
  if (max == min) {
    std::fill_n(L, n, 0);
    *theMin = -min;
    return 0.f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float bestError = 0;
  for (int i = 0; i < n; ++i) {
    int l = nearestInt(iscale * (x[i] - min));
    L[i] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
    float diff = scale * L[i] + min - x[i];
    bestError += weights[i] * (diff * diff);
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sumL = 0, sumL2 = 0, sumXL = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearestInt(iscale * (x[i] - min));
      l = std::max(0, std::min(nmax, l));
      Laux[i] = static_cast<uint8_t>(l);
      float w = weights[i];
      sumL += w * l;
      sumL2 += w * l * l;
      sumXL += w * l * x[i];
    }
    float D = sumW * sumL2 - sumL * sumL;
    if (D > 0) {
      float thisScale = (sumW * sumXL - sumX * sumL) / D;
      float thisMin = (sumL2 * sumX - sumL * sumXL) / D;
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = sumXL / sumL2;
      }
      float curError = 0;
      for (int i = 0; i < n; ++i) {
        float diff = thisScale * Laux[i] + thisMin - x[i];
        curError += weights[i] * (diff * diff);
      }
      if (curError < bestError) {
        std::copy_n(Laux, n, L);
        bestError = curError;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  *theMin = -min;
  return scale;
}

/// quantize_row_q4_K_ref on one super-block.
void quantizeQ4_K(const float *x, uint8_t *y) {
  uint8_t L[256], Laux[32];
  float weights[32], mins[8], scales[8];
  uint8_t *ys = y + 4, *q = y + 16;
  float maxScale = 0, maxMin = 0;
  for (int j = 0; j < 8; ++j) {
    float sumX2 = 0;
    for (int l = 0; l < 32; ++l)
      sumX2 += x[32 * j + l] * x[32 * j + l];
    float avX = std::sqrt(sumX2 / 32);
    for (int l = 0; l < 32; ++l)
      weights[l] = avX + std::fabs(x[32 * j + l]);
    scales[j] = makeQkx2Quants(32, 15, x + 32 * j, weights, L + 32 * j,
                               &mins[j], Laux, -1.f, 0.1f, 20);
    if (scales[j] > maxScale)
      maxScale = scales[j];
    if (mins[j] > maxMin)
      maxMin = mins[j];
  }
  float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
  float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
  for (int j = 0; j < 8; ++j) {
    uint8_t ls = static_cast<uint8_t>(nearestInt(invScale * scales[j]));
    uint8_t lm = static_cast<uint8_t>(nearestInt(invMin * mins[j]));
    ls = std::min<uint8_t>(63, ls);
    lm = std::min<uint8_t>(63, lm);
    if (j < 4) {
      ys[j] = ls;
      ys[j + 4] = lm;
    } else {
      ys[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4);
      ys[j - 4] |= (ls >> 4) << 6;
      ys[j] |= (lm >> 4) << 6;
    }
  }
  llvm::support::endian::write16le(y, toHalf(maxScale / 63.f));
  llvm::support::endian::write16le(y + 2, toHalf(maxMin / 63.f));
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    scaleMinK4(j, ys, sc, m);
    const float d = f16At(y) * sc;
    if (!d)
      continue;
    const float dm = f16At(y + 2) * m;
    for (int ii = 0; ii < 32; ++ii) {
      int l = nearestInt((x[32 * j + ii] + dm) / d);
      L[32 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(15, l)));
    }
  }
  for (int j = 0; j < 256; j += 64, q += 32)
    for (int l = 0; l < 32; ++l)
      q[l] = L[j + l] | (L[j + l + 32] << 4);
}

/// ggml's make_qx_quants with rmse_type 1 and no importance weights: the
/// scale of n values x, their levels in L (0..2 nmax - 1, offset by nmax).
static float makeQxQuants(int n, int nmax, const float *x, int8_t *L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::fill_n(L, n, 0);
    return 0.f;
  }
  float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = nearestInt(iscale * x[i]);
    l = std::max(-nmax, std::min(nmax - 1, l));
    L[i] = static_cast<int8_t>(l + nmax);
    float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0)
      continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearestInt(iscale * x[i]);
      l = std::max(-nmax, std::min(nmax - 1, l));
      float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) {
        int l = nearestInt(iscale * x[i]);
        L[i] =
            static_cast<int8_t>(nmax + std::max(-nmax, std::min(nmax - 1, l)));
      }
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

/// quantize_row_q6_K_ref on one super-block.
void quantizeQ6_K(const float *x, uint8_t *y) {
  int8_t L[256];
  float scales[16];
  float maxScale = 0, maxAbsScale = 0;
  for (int ib = 0; ib < 16; ++ib) {
    const float scale = makeQxQuants(16, 32, x + 16 * ib, L + 16 * ib);
    scales[ib] = scale;
    const float absScale = std::fabs(scale);
    if (absScale > maxAbsScale) {
      maxAbsScale = absScale;
      maxScale = scale;
    }
  }
  std::memset(y, 0, 210);
  if (maxAbsScale < kGroupMaxEps)
    return; // d = 0
  uint8_t *ql = y, *qh = y + 128;
  int8_t *sc = reinterpret_cast<int8_t *>(y + 192);
  float iscale = -128.f / maxScale;
  llvm::support::endian::write16le(y + 208, toHalf(1 / iscale));
  for (int ib = 0; ib < 16; ++ib)
    sc[ib] =
        static_cast<int8_t>(std::min(127, nearestInt(iscale * scales[ib])));
  for (int j = 0; j < 16; ++j) {
    float d = f16At(y + 208) * sc[j];
    if (!d)
      continue;
    for (int ii = 0; ii < 16; ++ii) {
      int l = nearestInt(x[16 * j + ii] / d);
      L[16 * j + ii] = static_cast<int8_t>(std::max(-32, std::min(31, l)) + 32);
    }
  }
  for (int j = 0; j < 256; j += 128, ql += 64, qh += 32)
    for (int l = 0; l < 32; ++l) {
      const uint8_t q1 = L[j + l] & 0xF, q2 = L[j + l + 32] & 0xF;
      const uint8_t q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
      ql[l] = q1 | (q3 << 4);
      ql[l + 32] = q2 | (q4 << 4);
      qh[l] = (L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) |
              ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6);
    }
}

/// q4_K / q5_K (qh: the GGUF fifth bits, or null): the common repacking.
static void repackQ45K(const uint8_t *b, const uint8_t *qh, const uint8_t *ql,
                       uint8_t *o) {
  std::memcpy(o, b, 4); // d, dmin
  uint8_t *qs = o + (qh ? 52 : 20);
  for (int t = 0; t < 8; ++t) {
    scaleMinK4(t, b + 4, o[4 + t], o[12 + t]);
    // GGUF: byte l of chunk t / 2 holds element l of sub-block t in its
    // low (even t) or high (odd t) nibble.
    const uint8_t *chunk = ql + 32 * (t / 2);
    auto q = [&](int l) { return t % 2 ? chunk[l] >> 4 : chunk[l] & 0xF; };
    uint32_t fifth = 0;
    for (int l = 0; l < 16; ++l)
      qs[16 * t + l] = static_cast<uint8_t>(q(l) | q(l + 16) << 4);
    for (int l = 0; qh && l < 32; ++l)
      fifth |= static_cast<uint32_t>((qh[l] >> t) & 1) << l;
    if (qh)
      llvm::support::endian::write32le(o + 20 + 4 * t, fifth);
  }
}

/// q2_K / q3_K: the 2-bit levels of the 16 sub-blocks into `o` (Quants.h),
/// and qh (q3_K's hmask, or null): their third bits as 16-bit words at
/// o + 64. GGUF: element l of sub-block s is bits 2 j of qs[32 (s / 8) +
/// 16 (s % 2) + l] (j = s % 8 / 2) and bit 4 (s / 8) + j of qh[16 (s % 2)
/// + l].
static void repackLevels2(const uint8_t *qs, const uint8_t *qh, uint8_t *o) {
  for (int s = 0; s < 16; ++s) {
    const int at = 32 * (s / 8) + 16 * (s % 2), shift = 2 * (s % 8 / 2);
    const int bit = 4 * (s / 8) + s % 8 / 2;
    for (int t = 0; t < 4; ++t) {
      uint8_t packed = 0;
      for (int c = 0; c < 4; ++c)
        packed |= static_cast<uint8_t>(((qs[at + 4 * c + t] >> shift) & 3)
                                       << (2 * c));
      o[4 * s + t] = packed;
    }
    uint16_t high = 0;
    for (int l = 0; qh && l < 16; ++l)
      high |= static_cast<uint16_t>(((qh[16 * (s % 2) + l] >> bit) & 1) << l);
    if (qh)
      llvm::support::endian::write16le(o + 64 + 2 * s, high);
  }
}

void repackQ2_K(const uint8_t *b, uint8_t *o) {
  repackLevels2(b + 16, nullptr, o);
  std::memcpy(o + 64, b, 16);     // scale | min << 4
  std::memcpy(o + 80, b + 80, 4); // d, dmin
}

void repackQ3_K(const uint8_t *b, uint8_t *o) {
  repackLevels2(b + 32, b, o);
  const uint8_t *s = b + 96;
  for (int is = 0; is < 16; ++is) {
    // As dequantizeQ3_K: low 4 bits in bytes 0-7, high 2 in bytes 8-11.
    int low = is < 8 ? s[is] & 0xF : s[is - 8] >> 4;
    int high = (s[8 + is % 4] >> (2 * (is / 4))) & 3;
    o[110 + is] =
        static_cast<uint8_t>(static_cast<int8_t>((low | high << 4) - 32));
  }
  // d where the GGUF block has it (error messages name that byte); bytes
  // 96-107 are unused (the blob stores the components, not this block).
  std::memcpy(o + 108, b + 108, 2);
}

void repackQ4_K(const uint8_t *b, uint8_t *o) {
  repackQ45K(b, nullptr, b + 16, o);
}

void repackQ5_K(const uint8_t *b, uint8_t *o) {
  repackQ45K(b, b + 16, b + 48, o);
}

void repackQ6_K(const uint8_t *b, uint8_t *o) {
  uint8_t q[256]; // 6-bit levels, in order
  for (int n = 0; n < 2; ++n) {
    const uint8_t *ql = b + 64 * n, *qh = b + 128 + 32 * n;
    for (int l = 0; l < 32; ++l) {
      uint8_t *y = q + 128 * n + l;
      y[0] = (ql[l] & 0xF) | ((qh[l] & 3) << 4);
      y[32] = (ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4);
      y[64] = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
      y[96] = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
    }
  }
  for (int t = 0; t < 16; ++t) {
    uint32_t high = 0;
    for (int j = 0; j < 8; ++j)
      o[8 * t + j] = static_cast<uint8_t>((q[16 * t + j] & 0xF) |
                                          (q[16 * t + j + 8] & 0xF) << 4);
    for (int j = 0; j < 16; ++j)
      high |= static_cast<uint32_t>(q[16 * t + j] >> 4)
              << (8 * (j % 4) + 2 * (j / 4));
    llvm::support::endian::write32le(o + 128 + 4 * t, high);
  }
  std::memcpy(o + 192, b + 192, 18); // scales, d
}

namespace {

/// Byte offsets in a block of its f16 super-block scales (d, dmin; -1:
/// none).
struct ScaleOffsets {
  Encoding encoding;
  int16_t at[2];
};
constexpr ScaleOffsets kScales[] = {{Encoding::Q2_K, {80, 82}},
                                    {Encoding::Q3_K, {108, -1}},
                                    {Encoding::Q4_K, {0, 2}},
                                    {Encoding::Q5_K, {0, 2}},
                                    {Encoding::Q6_K, {208, -1}}};

} // namespace

std::optional<BadScale> findBadScale(Encoding e, const uint8_t *data,
                                     uint64_t first, uint64_t count) {
  const ScaleOffsets *s = llvm::find_if(
      kScales, [&](const ScaleOffsets &s) { return s.encoding == e; });
  if (s == std::end(kScales))
    return std::nullopt;
  static const char *const kFields[2] = {"d", "dmin"};
  const unsigned bytes = encodingInfo(e).blockBytes;
  for (uint64_t b = first; b < first + count; ++b)
    for (int f = 0; f < 2; ++f) {
      if (s->at[f] < 0)
        continue;
      float v = f16At(data + b * bytes + s->at[f]);
      if (!std::isfinite(v))
        return BadScale{b, kFields[f], v};
    }
  return std::nullopt;
}

} // namespace tfm::formats
