//===- Kernels.h - What generated code calls in the runtime -----*- C++ -*-===//
//
// The schedulers that run the parallel bodies tfmc outlines (every linear
// layer, tfm-generate-kernels; the fused attention, tfm-generate-attention)
// on the calling thread's current pool (ThreadPool.h): the session's, when a
// session runs the model. The computation is the generated code's; the
// runtime only splits [0, items) into chunks.
//
// Calling convention: MLIR's `llvm.emit_c_interface`. A func.func named
// `tfmrt_parallel_for` declared with that attribute is called as
// `_mlir_ciface_tfmrt_parallel_for`, memref arguments are passed as
// pointers to their descriptors (ModelAbi.h), scalars by value. A null body
// or operand is a compiler bug: it prints a message and aborts.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_RUNTIME_KERNELS_H
#define TFM_RUNTIME_KERNELS_H

#include "tfm/runtime/ModelAbi.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A parallel body that tfmc outlined (tfm-generate-kernels): computes the
/// items [begin, end) of one operation. Its three f32 2-D memref parameters
/// arrive as MLIR's default calling convention expands a memref argument:
/// allocated, aligned, offset, size 0, size 1, stride 0, stride 1.
typedef void (*TfmParallelBodyFn)(int64_t begin, int64_t end, float *, float *,
                                  int64_t, int64_t, int64_t, int64_t, int64_t,
                                  float *, float *, int64_t, int64_t, int64_t,
                                  int64_t, int64_t, float *, float *, int64_t,
                                  int64_t, int64_t, int64_t, int64_t);

/// Runs body over [0, items) on the calling thread's current pool, in
/// contiguous chunks of at least kMinChunkWork / workPerItem items (a few
/// per thread), passing a, b and c through. The runtime only schedules:
/// the computation is the generated body's.
void _mlir_ciface_tfmrt_parallel_for(TfmParallelBodyFn body, TfmMemRefF32x2 *a,
                                     TfmMemRefF32x2 *b, TfmMemRefF32x2 *c,
                                     int64_t items, int64_t workPerItem);

/// A parallel body over q8_0 weights (tfm-generate-kernels): out and x as
/// for TfmParallelBodyFn, then the int8 values and the f16 scales of the
/// weight's tiles, each expanded the same way.
typedef void (*TfmParallelQ8BodyFn)(
    int64_t begin, int64_t end, float *, float *, int64_t, int64_t, int64_t,
    int64_t, int64_t, float *, float *, int64_t, int64_t, int64_t, int64_t,
    int64_t, int8_t *, int8_t *, int64_t, int64_t, int64_t, int64_t, int64_t,
    uint16_t *, uint16_t *, int64_t, int64_t, int64_t, int64_t, int64_t);

/// tfmrt_parallel_for for a TfmParallelQ8BodyFn: out, x, values, scales.
void _mlir_ciface_tfmrt_parallel_for_q8(TfmParallelQ8BodyFn body,
                                        TfmMemRefF32x2 *a, TfmMemRefF32x2 *b,
                                        TfmMemRefI8x2 *values,
                                        TfmMemRefF16x2 *scales, int64_t items,
                                        int64_t workPerItem);

/// Bodies over an encoded weight (tfm/Formats/Encodings.h) of N = 1 to 3
/// component arrays: out and x as for TfmParallelBodyFn, then the
/// components, each expanded the same way (any element type: the body
/// reads them as its encoding says).
#define TFM_MEMREF2_PARAMS                                                     \
  void *, void *, int64_t, int64_t, int64_t, int64_t, int64_t
typedef void (*TfmParallelBodyW1Fn)(int64_t, int64_t, TFM_MEMREF2_PARAMS,
                                    TFM_MEMREF2_PARAMS, TFM_MEMREF2_PARAMS);
typedef void (*TfmParallelBodyW3Fn)(int64_t, int64_t, TFM_MEMREF2_PARAMS,
                                    TFM_MEMREF2_PARAMS, TFM_MEMREF2_PARAMS,
                                    TFM_MEMREF2_PARAMS, TFM_MEMREF2_PARAMS);
typedef void (*TfmParallelBodyW4Fn)(int64_t, int64_t, TFM_MEMREF2_PARAMS,
                                    TFM_MEMREF2_PARAMS, TFM_MEMREF2_PARAMS,
                                    TFM_MEMREF2_PARAMS, TFM_MEMREF2_PARAMS,
                                    TFM_MEMREF2_PARAMS);
typedef void (*TfmParallelBodyW5Fn)(int64_t, int64_t, TFM_MEMREF2_PARAMS,
                                    TFM_MEMREF2_PARAMS, TFM_MEMREF2_PARAMS,
                                    TFM_MEMREF2_PARAMS, TFM_MEMREF2_PARAMS,
                                    TFM_MEMREF2_PARAMS, TFM_MEMREF2_PARAMS);
typedef void (*TfmParallelBodyW6Fn)(int64_t, int64_t, TFM_MEMREF2_PARAMS,
                                    TFM_MEMREF2_PARAMS, TFM_MEMREF2_PARAMS,
                                    TFM_MEMREF2_PARAMS, TFM_MEMREF2_PARAMS,
                                    TFM_MEMREF2_PARAMS, TFM_MEMREF2_PARAMS,
                                    TFM_MEMREF2_PARAMS);

/// tfmrt_parallel_for for the bodies of each encoding (its scheduler in
/// WeightEncodings.h): out, x, then the weight's components.
void _mlir_ciface_tfmrt_parallel_for_f16(TfmParallelBodyW1Fn body,
                                         TfmMemRefAnyx2 *out, TfmMemRefAnyx2 *x,
                                         TfmMemRefAnyx2 *values, int64_t items,
                                         int64_t workPerItem);
void _mlir_ciface_tfmrt_parallel_for_bf16(TfmParallelBodyW1Fn body,
                                          TfmMemRefAnyx2 *out,
                                          TfmMemRefAnyx2 *x,
                                          TfmMemRefAnyx2 *values, int64_t items,
                                          int64_t workPerItem);
void _mlir_ciface_tfmrt_parallel_for_q4_0(TfmParallelQ8BodyFn body,
                                          TfmMemRefF32x2 *out,
                                          TfmMemRefF32x2 *x,
                                          TfmMemRefI8x2 *values,
                                          TfmMemRefF16x2 *scales, int64_t items,
                                          int64_t workPerItem);
void _mlir_ciface_tfmrt_parallel_for_q4_1(
    TfmParallelBodyW3Fn body, TfmMemRefAnyx2 *out, TfmMemRefAnyx2 *x,
    TfmMemRefAnyx2 *values, TfmMemRefAnyx2 *scales, TfmMemRefAnyx2 *mins,
    int64_t items, int64_t workPerItem);
void _mlir_ciface_tfmrt_parallel_for_q5_0(
    TfmParallelBodyW3Fn body, TfmMemRefAnyx2 *out, TfmMemRefAnyx2 *x,
    TfmMemRefAnyx2 *values, TfmMemRefAnyx2 *scales, TfmMemRefAnyx2 *high,
    int64_t items, int64_t workPerItem);
void _mlir_ciface_tfmrt_parallel_for_q5_1(
    TfmParallelBodyW4Fn body, TfmMemRefAnyx2 *out, TfmMemRefAnyx2 *x,
    TfmMemRefAnyx2 *values, TfmMemRefAnyx2 *scales, TfmMemRefAnyx2 *mins,
    TfmMemRefAnyx2 *high, int64_t items, int64_t workPerItem);
void _mlir_ciface_tfmrt_parallel_for_q2_K(
    TfmParallelBodyW4Fn body, TfmMemRefAnyx2 *out, TfmMemRefAnyx2 *x,
    TfmMemRefAnyx2 *values, TfmMemRefAnyx2 *scalesAndMins, TfmMemRefAnyx2 *d,
    TfmMemRefAnyx2 *dmin, int64_t items, int64_t workPerItem);
void _mlir_ciface_tfmrt_parallel_for_q3_K(
    TfmParallelBodyW4Fn body, TfmMemRefAnyx2 *out, TfmMemRefAnyx2 *x,
    TfmMemRefAnyx2 *values, TfmMemRefAnyx2 *high, TfmMemRefAnyx2 *scales,
    TfmMemRefAnyx2 *d, int64_t items, int64_t workPerItem);
void _mlir_ciface_tfmrt_parallel_for_q6_K(
    TfmParallelBodyW4Fn body, TfmMemRefAnyx2 *out, TfmMemRefAnyx2 *x,
    TfmMemRefAnyx2 *values, TfmMemRefAnyx2 *high, TfmMemRefAnyx2 *scales,
    TfmMemRefAnyx2 *d, int64_t items, int64_t workPerItem);
void _mlir_ciface_tfmrt_parallel_for_q4_K(
    TfmParallelBodyW5Fn body, TfmMemRefAnyx2 *out, TfmMemRefAnyx2 *x,
    TfmMemRefAnyx2 *values, TfmMemRefAnyx2 *scales, TfmMemRefAnyx2 *mins,
    TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *dmin, int64_t items,
    int64_t workPerItem);
void _mlir_ciface_tfmrt_parallel_for_q5_K(
    TfmParallelBodyW6Fn body, TfmMemRefAnyx2 *out, TfmMemRefAnyx2 *x,
    TfmMemRefAnyx2 *values, TfmMemRefAnyx2 *scales, TfmMemRefAnyx2 *mins,
    TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *dmin, TfmMemRefAnyx2 *high,
    int64_t items, int64_t workPerItem);
/// A parallel body of q8_0 layers with integer dot products
/// (tfm-generate-kernels): out, then the activations' f32 block scales and
/// int8 values, then the weight's int8 values and f16 scales.
typedef void (*TfmParallelQ8DotBodyFn)(
    int64_t begin, int64_t end, float *, float *, int64_t, int64_t, int64_t,
    int64_t, int64_t, float *, float *, int64_t, int64_t, int64_t, int64_t,
    int64_t, int8_t *, int8_t *, int64_t, int64_t, int64_t, int64_t, int64_t,
    int8_t *, int8_t *, int64_t, int64_t, int64_t, int64_t, int64_t, uint16_t *,
    uint16_t *, int64_t, int64_t, int64_t, int64_t, int64_t);

/// tfmrt_parallel_for for a TfmParallelQ8DotBodyFn.
void _mlir_ciface_tfmrt_parallel_for_q8_dot(
    TfmParallelQ8DotBodyFn body, TfmMemRefF32x2 *out, TfmMemRefF32x2 *xScales,
    TfmMemRefI8x2 *xValues, TfmMemRefI8x2 *values, TfmMemRefF16x2 *scales,
    int64_t items, int64_t workPerItem);

/// The same for the 4/5-bit encodings' integer dot products (IntegerDot.h):
/// out, the activations' scales and values, then the weight's components
/// (q4_0 as q8_0's; q4_1 and q5_0 three, a body of 6 memrefs; q5_1 four).
typedef void (*TfmParallelBodyW5Fn)(int64_t, int64_t, TFM_MEMREF2_PARAMS,
                                    TFM_MEMREF2_PARAMS, TFM_MEMREF2_PARAMS,
                                    TFM_MEMREF2_PARAMS, TFM_MEMREF2_PARAMS,
                                    TFM_MEMREF2_PARAMS, TFM_MEMREF2_PARAMS);
void _mlir_ciface_tfmrt_parallel_for_q4_0_dot(
    TfmParallelQ8DotBodyFn body, TfmMemRefF32x2 *out, TfmMemRefF32x2 *xScales,
    TfmMemRefI8x2 *xValues, TfmMemRefI8x2 *values, TfmMemRefF16x2 *scales,
    int64_t items, int64_t workPerItem);
void _mlir_ciface_tfmrt_parallel_for_q4_1_dot(
    TfmParallelBodyW4Fn body, TfmMemRefAnyx2 *out, TfmMemRefAnyx2 *xScales,
    TfmMemRefAnyx2 *xValues, TfmMemRefAnyx2 *values, TfmMemRefAnyx2 *scales,
    TfmMemRefAnyx2 *mins, int64_t items, int64_t workPerItem);
void _mlir_ciface_tfmrt_parallel_for_q5_0_dot(
    TfmParallelBodyW4Fn body, TfmMemRefAnyx2 *out, TfmMemRefAnyx2 *xScales,
    TfmMemRefAnyx2 *xValues, TfmMemRefAnyx2 *values, TfmMemRefAnyx2 *scales,
    TfmMemRefAnyx2 *high, int64_t items, int64_t workPerItem);
void _mlir_ciface_tfmrt_parallel_for_q5_1_dot(
    TfmParallelBodyW5Fn body, TfmMemRefAnyx2 *out, TfmMemRefAnyx2 *xScales,
    TfmMemRefAnyx2 *xValues, TfmMemRefAnyx2 *values, TfmMemRefAnyx2 *scales,
    TfmMemRefAnyx2 *mins, TfmMemRefAnyx2 *high, int64_t items,
    int64_t workPerItem);

/// The K-quants' integer dot products: out, the activations' scales (and
/// sums per kernel block) and values, then the weight's components.
typedef void (*TfmParallelBodyW7Fn)(int64_t, int64_t, TFM_MEMREF2_PARAMS,
                                    TFM_MEMREF2_PARAMS, TFM_MEMREF2_PARAMS,
                                    TFM_MEMREF2_PARAMS, TFM_MEMREF2_PARAMS,
                                    TFM_MEMREF2_PARAMS, TFM_MEMREF2_PARAMS,
                                    TFM_MEMREF2_PARAMS, TFM_MEMREF2_PARAMS);
void _mlir_ciface_tfmrt_parallel_for_q2_K_dot(
    TfmParallelBodyW5Fn body, TfmMemRefAnyx2 *out, TfmMemRefAnyx2 *xScales,
    TfmMemRefAnyx2 *xValues, TfmMemRefAnyx2 *values,
    TfmMemRefAnyx2 *scalesAndMins, TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *dmin,
    int64_t items, int64_t workPerItem);
void _mlir_ciface_tfmrt_parallel_for_q3_K_dot(
    TfmParallelBodyW5Fn body, TfmMemRefAnyx2 *out, TfmMemRefAnyx2 *xScales,
    TfmMemRefAnyx2 *xValues, TfmMemRefAnyx2 *values, TfmMemRefAnyx2 *high,
    TfmMemRefAnyx2 *scales, TfmMemRefAnyx2 *d, int64_t items,
    int64_t workPerItem);
void _mlir_ciface_tfmrt_parallel_for_q6_K_dot(
    TfmParallelBodyW5Fn body, TfmMemRefAnyx2 *out, TfmMemRefAnyx2 *xScales,
    TfmMemRefAnyx2 *xValues, TfmMemRefAnyx2 *values, TfmMemRefAnyx2 *high,
    TfmMemRefAnyx2 *scales, TfmMemRefAnyx2 *d, int64_t items,
    int64_t workPerItem);
void _mlir_ciface_tfmrt_parallel_for_q4_K_dot(
    TfmParallelBodyW6Fn body, TfmMemRefAnyx2 *out, TfmMemRefAnyx2 *xScales,
    TfmMemRefAnyx2 *xValues, TfmMemRefAnyx2 *values, TfmMemRefAnyx2 *scales,
    TfmMemRefAnyx2 *mins, TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *dmin,
    int64_t items, int64_t workPerItem);
void _mlir_ciface_tfmrt_parallel_for_q5_K_dot(
    TfmParallelBodyW7Fn body, TfmMemRefAnyx2 *out, TfmMemRefAnyx2 *xScales,
    TfmMemRefAnyx2 *xValues, TfmMemRefAnyx2 *values, TfmMemRefAnyx2 *scales,
    TfmMemRefAnyx2 *mins, TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *dmin,
    TfmMemRefAnyx2 *high, int64_t items, int64_t workPerItem);

/// A parallel body of four 3-D operands and one scalar (tfm-generate-attention:
/// out, q, k, v, pos): computes the items [begin, end). Each memref arrives
/// expanded: allocated, aligned, offset, sizes[3], strides[3].
#define TFM_MEMREF3_PARAMS                                                     \
  float *, float *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,      \
      int64_t
typedef void (*TfmParallelBody4Fn)(int64_t begin, int64_t end,
                                   TFM_MEMREF3_PARAMS, TFM_MEMREF3_PARAMS,
                                   TFM_MEMREF3_PARAMS, TFM_MEMREF3_PARAMS,
                                   int64_t scalar);
#undef TFM_MEMREF3_PARAMS

/// Runs body over [0, items) on the calling thread's current pool, as
/// tfmrt_parallel_for does, passing a, b, c, d and scalar through.
void _mlir_ciface_tfmrt_parallel_for4(TfmParallelBody4Fn body,
                                      TfmMemRefF32x3 *a, TfmMemRefF32x3 *b,
                                      TfmMemRefF32x3 *c, TfmMemRefF32x3 *d,
                                      int64_t scalar, int64_t items,
                                      int64_t workPerItem);

/// ALiBi slope of head \p h out of \p numHeads: 2^(-8(h+1)/n) when n is a
/// power of two; otherwise the slopes of the closest lower power of two p,
/// followed by every other slope of 2p (Press et al., reference code).
float tfmrt_alibi_slope(int64_t h, int64_t numHeads);

#ifdef __cplusplus
}
#endif

#endif // TFM_RUNTIME_KERNELS_H
