//===- Kernels.cpp - Schedulers of the generated parallel bodies ----------===//
//
// The runtime only schedules: tfmc generates every linear layer and the
// attention as outlined bodies (tfm-generate-kernels, tfm-generate-attention)
// and these functions run them over the pool. No vector code here, so
// libtfmrt needs no -march (runtime/CMakeLists.txt).
//
//===----------------------------------------------------------------------===//

#include "tfm/runtime/Kernels.h"
#include "tfm/runtime/AlibiSlope.h"
#include "tfm/runtime/ThreadPool.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace {

[[noreturn]] __attribute__((format(printf, 2, 3))) void
fatal(const char *kernel, const char *fmt, ...) {
  std::fprintf(stderr, "tfmrt: internal error in %s: ", kernel);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "\n");
  std::abort();
}

/// Smallest amount of work (multiply-adds) worth handing to another thread:
/// about 10 us, well above the pool's dispatch cost.
constexpr int64_t kMinChunkWork = 1 << 15;

} // namespace

extern "C" float tfmrt_alibi_slope(int64_t h, int64_t numHeads) {
  return tfm::rt::alibiSlope(h, numHeads);
}

namespace {

/// Runs body(begin, end) over [0, items) on the pool, in chunks of at least
/// kMinChunkWork / workPerItem items.
template <typename Fn>
void scheduleItems(int64_t items, int64_t workPerItem, Fn &&body) {
  tfm::rt::parallelFor(
      items, body,
      std::max<int64_t>(1, kMinChunkWork / std::max<int64_t>(workPerItem, 1)));
}

} // namespace

// A memref descriptor as the outlined bodies take it, field by field.
#define TFM_EXPAND2(m)                                                         \
  m->allocated, m->aligned, m->offset, m->sizes[0], m->sizes[1],               \
      m->strides[0], m->strides[1]
#define TFM_EXPAND3(m)                                                         \
  m->allocated, m->aligned, m->offset, m->sizes[0], m->sizes[1], m->sizes[2],  \
      m->strides[0], m->strides[1], m->strides[2]

extern "C" void
_mlir_ciface_tfmrt_parallel_for(TfmParallelBodyFn body, TfmMemRefF32x2 *a,
                                TfmMemRefF32x2 *b, TfmMemRefF32x2 *c,
                                int64_t items, int64_t workPerItem) {
  if (!body || !a || !b || !c)
    fatal("tfmrt_parallel_for", "null body or operand");
  scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {
    body(begin, end, TFM_EXPAND2(a), TFM_EXPAND2(b), TFM_EXPAND2(c));
  });
}

extern "C" void _mlir_ciface_tfmrt_parallel_for_q8(
    TfmParallelQ8BodyFn body, TfmMemRefF32x2 *a, TfmMemRefF32x2 *b,
    TfmMemRefI8x2 *c, TfmMemRefF16x2 *d, int64_t items, int64_t workPerItem) {
  if (!body || !a || !b || !c || !d)
    fatal("tfmrt_parallel_for_q8", "null body or operand");
  scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {
    body(begin, end, TFM_EXPAND2(a), TFM_EXPAND2(b), TFM_EXPAND2(c),
         TFM_EXPAND2(d));
  });
}

extern "C" void _mlir_ciface_tfmrt_parallel_for_q4_0(
    TfmParallelQ8BodyFn body, TfmMemRefF32x2 *a, TfmMemRefF32x2 *b,
    TfmMemRefI8x2 *c, TfmMemRefF16x2 *d, int64_t items, int64_t workPerItem) {
  _mlir_ciface_tfmrt_parallel_for_q8(body, a, b, c, d, items, workPerItem);
}

// The schedulers of the encodings with 1, 3 and 4 components.
#define TFM_SCHEDULER_W1(NAME)                                                 \
  extern "C" void _mlir_ciface_tfmrt_parallel_for_##NAME(                      \
      TfmParallelBodyW1Fn body, TfmMemRefAnyx2 *a, TfmMemRefAnyx2 *b,          \
      TfmMemRefAnyx2 *c, int64_t items, int64_t workPerItem) {                 \
    if (!body || !a || !b || !c)                                               \
      fatal("tfmrt_parallel_for_" #NAME, "null body or operand");              \
    scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {        \
      body(begin, end, TFM_EXPAND2(a), TFM_EXPAND2(b), TFM_EXPAND2(c));        \
    });                                                                        \
  }
#define TFM_SCHEDULER_W3(NAME)                                                 \
  extern "C" void _mlir_ciface_tfmrt_parallel_for_##NAME(                      \
      TfmParallelBodyW3Fn body, TfmMemRefAnyx2 *a, TfmMemRefAnyx2 *b,          \
      TfmMemRefAnyx2 *c, TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *e, int64_t items,  \
      int64_t workPerItem) {                                                   \
    if (!body || !a || !b || !c || !d || !e)                                   \
      fatal("tfmrt_parallel_for_" #NAME, "null body or operand");              \
    scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {        \
      body(begin, end, TFM_EXPAND2(a), TFM_EXPAND2(b), TFM_EXPAND2(c),         \
           TFM_EXPAND2(d), TFM_EXPAND2(e));                                    \
    });                                                                        \
  }
#define TFM_SCHEDULER_W4(NAME)                                                 \
  extern "C" void _mlir_ciface_tfmrt_parallel_for_##NAME(                      \
      TfmParallelBodyW4Fn body, TfmMemRefAnyx2 *a, TfmMemRefAnyx2 *b,          \
      TfmMemRefAnyx2 *c, TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *e,                 \
      TfmMemRefAnyx2 *f, int64_t items, int64_t workPerItem) {                 \
    if (!body || !a || !b || !c || !d || !e || !f)                             \
      fatal("tfmrt_parallel_for_" #NAME, "null body or operand");              \
    scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {        \
      body(begin, end, TFM_EXPAND2(a), TFM_EXPAND2(b), TFM_EXPAND2(c),         \
           TFM_EXPAND2(d), TFM_EXPAND2(e), TFM_EXPAND2(f));                    \
    });                                                                        \
  }
#define TFM_SCHEDULER_W5(NAME)                                                 \
  extern "C" void _mlir_ciface_tfmrt_parallel_for_##NAME(                      \
      TfmParallelBodyW5Fn body, TfmMemRefAnyx2 *a, TfmMemRefAnyx2 *b,          \
      TfmMemRefAnyx2 *c, TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *e,                 \
      TfmMemRefAnyx2 *f, TfmMemRefAnyx2 *g, int64_t items,                     \
      int64_t workPerItem) {                                                   \
    if (!body || !a || !b || !c || !d || !e || !f || !g)                       \
      fatal("tfmrt_parallel_for_" #NAME, "null body or operand");              \
    scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {        \
      body(begin, end, TFM_EXPAND2(a), TFM_EXPAND2(b), TFM_EXPAND2(c),         \
           TFM_EXPAND2(d), TFM_EXPAND2(e), TFM_EXPAND2(f), TFM_EXPAND2(g));    \
    });                                                                        \
  }
#define TFM_SCHEDULER_W6(NAME)                                                 \
  extern "C" void _mlir_ciface_tfmrt_parallel_for_##NAME(                      \
      TfmParallelBodyW6Fn body, TfmMemRefAnyx2 *a, TfmMemRefAnyx2 *b,          \
      TfmMemRefAnyx2 *c, TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *e,                 \
      TfmMemRefAnyx2 *f, TfmMemRefAnyx2 *g, TfmMemRefAnyx2 *h, int64_t items,  \
      int64_t workPerItem) {                                                   \
    if (!body || !a || !b || !c || !d || !e || !f || !g || !h)                 \
      fatal("tfmrt_parallel_for_" #NAME, "null body or operand");              \
    scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {        \
      body(begin, end, TFM_EXPAND2(a), TFM_EXPAND2(b), TFM_EXPAND2(c),         \
           TFM_EXPAND2(d), TFM_EXPAND2(e), TFM_EXPAND2(f), TFM_EXPAND2(g),     \
           TFM_EXPAND2(h));                                                    \
    });                                                                        \
  }
#define TFM_SCHEDULER_W7(NAME)                                                 \
  extern "C" void _mlir_ciface_tfmrt_parallel_for_##NAME(                      \
      TfmParallelBodyW7Fn body, TfmMemRefAnyx2 *a, TfmMemRefAnyx2 *b,          \
      TfmMemRefAnyx2 *c, TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *e,                 \
      TfmMemRefAnyx2 *f, TfmMemRefAnyx2 *g, TfmMemRefAnyx2 *h,                 \
      TfmMemRefAnyx2 *i, int64_t items, int64_t workPerItem) {                 \
    if (!body || !a || !b || !c || !d || !e || !f || !g || !h || !i)           \
      fatal("tfmrt_parallel_for_" #NAME, "null body or operand");              \
    scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {        \
      body(begin, end, TFM_EXPAND2(a), TFM_EXPAND2(b), TFM_EXPAND2(c),         \
           TFM_EXPAND2(d), TFM_EXPAND2(e), TFM_EXPAND2(f), TFM_EXPAND2(g),     \
           TFM_EXPAND2(h), TFM_EXPAND2(i));                                    \
    });                                                                        \
  }
TFM_SCHEDULER_W1(f16)
TFM_SCHEDULER_W1(bf16)
TFM_SCHEDULER_W3(q4_1)
TFM_SCHEDULER_W3(q5_0)
TFM_SCHEDULER_W4(q2_K)
TFM_SCHEDULER_W4(q3_K)
TFM_SCHEDULER_W4(q6_K)
TFM_SCHEDULER_W5(q4_K)
TFM_SCHEDULER_W6(q5_K)
// The K-quants' integer dot products (out, xd, xq, then the components).
TFM_SCHEDULER_W5(q2_K_dot)
TFM_SCHEDULER_W5(q3_K_dot)
TFM_SCHEDULER_W5(q6_K_dot)
TFM_SCHEDULER_W6(q4_K_dot)
TFM_SCHEDULER_W7(q5_K_dot)
#undef TFM_SCHEDULER_W1
#undef TFM_SCHEDULER_W3
#undef TFM_SCHEDULER_W4
#undef TFM_SCHEDULER_W5
#undef TFM_SCHEDULER_W6
#undef TFM_SCHEDULER_W7

extern "C" void _mlir_ciface_tfmrt_parallel_for_q5_1(
    TfmParallelBodyW4Fn body, TfmMemRefAnyx2 *a, TfmMemRefAnyx2 *b,
    TfmMemRefAnyx2 *c, TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *e, TfmMemRefAnyx2 *f,
    int64_t items, int64_t workPerItem) {
  if (!body || !a || !b || !c || !d || !e || !f)
    fatal("tfmrt_parallel_for_q5_1", "null body or operand");
  scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {
    body(begin, end, TFM_EXPAND2(a), TFM_EXPAND2(b), TFM_EXPAND2(c),
         TFM_EXPAND2(d), TFM_EXPAND2(e), TFM_EXPAND2(f));
  });
}

extern "C" void _mlir_ciface_tfmrt_parallel_for_q8_dot(
    TfmParallelQ8DotBodyFn body, TfmMemRefF32x2 *a, TfmMemRefF32x2 *b,
    TfmMemRefI8x2 *c, TfmMemRefI8x2 *d, TfmMemRefF16x2 *e, int64_t items,
    int64_t workPerItem) {
  if (!body || !a || !b || !c || !d || !e)
    fatal("tfmrt_parallel_for_q8_dot", "null body or operand");
  scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {
    body(begin, end, TFM_EXPAND2(a), TFM_EXPAND2(b), TFM_EXPAND2(c),
         TFM_EXPAND2(d), TFM_EXPAND2(e));
  });
}

// The 4/5-bit integer dot products' schedulers: q4_0's operands are
// q8_0's, q4_1's and q5_0's (6 memrefs) q5_1's f32 ones'.
extern "C" void _mlir_ciface_tfmrt_parallel_for_q4_0_dot(
    TfmParallelQ8DotBodyFn body, TfmMemRefF32x2 *a, TfmMemRefF32x2 *b,
    TfmMemRefI8x2 *c, TfmMemRefI8x2 *d, TfmMemRefF16x2 *e, int64_t items,
    int64_t workPerItem) {
  _mlir_ciface_tfmrt_parallel_for_q8_dot(body, a, b, c, d, e, items,
                                         workPerItem);
}

extern "C" void _mlir_ciface_tfmrt_parallel_for_q4_1_dot(
    TfmParallelBodyW4Fn body, TfmMemRefAnyx2 *a, TfmMemRefAnyx2 *b,
    TfmMemRefAnyx2 *c, TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *e, TfmMemRefAnyx2 *f,
    int64_t items, int64_t workPerItem) {
  _mlir_ciface_tfmrt_parallel_for_q5_1(body, a, b, c, d, e, f, items,
                                       workPerItem);
}

extern "C" void _mlir_ciface_tfmrt_parallel_for_q5_0_dot(
    TfmParallelBodyW4Fn body, TfmMemRefAnyx2 *a, TfmMemRefAnyx2 *b,
    TfmMemRefAnyx2 *c, TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *e, TfmMemRefAnyx2 *f,
    int64_t items, int64_t workPerItem) {
  _mlir_ciface_tfmrt_parallel_for_q5_1(body, a, b, c, d, e, f, items,
                                       workPerItem);
}

extern "C" void _mlir_ciface_tfmrt_parallel_for_q5_1_dot(
    TfmParallelBodyW5Fn body, TfmMemRefAnyx2 *a, TfmMemRefAnyx2 *b,
    TfmMemRefAnyx2 *c, TfmMemRefAnyx2 *d, TfmMemRefAnyx2 *e, TfmMemRefAnyx2 *f,
    TfmMemRefAnyx2 *g, int64_t items, int64_t workPerItem) {
  if (!body || !a || !b || !c || !d || !e || !f || !g)
    fatal("tfmrt_parallel_for_q5_1_dot", "null body or operand");
  scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {
    body(begin, end, TFM_EXPAND2(a), TFM_EXPAND2(b), TFM_EXPAND2(c),
         TFM_EXPAND2(d), TFM_EXPAND2(e), TFM_EXPAND2(f), TFM_EXPAND2(g));
  });
}

extern "C" void
_mlir_ciface_tfmrt_parallel_for4(TfmParallelBody4Fn body, TfmMemRefF32x3 *a,
                                 TfmMemRefF32x3 *b, TfmMemRefF32x3 *c,
                                 TfmMemRefF32x3 *d, int64_t scalar,
                                 int64_t items, int64_t workPerItem) {
  if (!body || !a || !b || !c || !d)
    fatal("tfmrt_parallel_for4", "null body or operand");
  scheduleItems(items, workPerItem, [&](int64_t begin, int64_t end) {
    body(begin, end, TFM_EXPAND3(a), TFM_EXPAND3(b), TFM_EXPAND3(c),
         TFM_EXPAND3(d), scalar);
  });
}
#undef TFM_EXPAND2
#undef TFM_EXPAND3
