//===- FakeModel.h - A TfmModelInfo around test entry points ----*- C++ -*-===//
//
// The runtime tests drive sessions with hand-written entry points instead
// of a compiled model. Their models have one layer of one key/value head of
// width 1, so the KV cache is 2 x context floats: position p of the keys is
// cache[p].
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TEST_RUNTIME_FAKEMODEL_H
#define TFM_TEST_RUNTIME_FAKEMODEL_H

#include "tfm/runtime/ModelAbi.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace tfm::test {

/// The prefill_last entry point of a fake model whose prefill is `Full`:
/// every row into a scratch buffer, then the last one into `logits` (the
/// compiled prefill_last computes only that row).
template <TfmEntryFn Full>
void lastRowOnly(TfmMemRefI8x1 *weights, TfmMemRefI32x1 *tokens, int64_t pos,
                 TfmMemRefF32x1 *kvCache, TfmMemRefF32x2 *logits) {
  int64_t t = tokens->sizes[0], v = logits->sizes[1];
  std::vector<float> rows(size_t(t * v));
  TfmMemRefF32x2 all{rows.data(), rows.data(), 0, {t, v}, {v, 1}};
  Full(weights, tokens, pos, kvCache, &all);
  std::copy(rows.end() - v, rows.end(), logits->aligned + logits->offset);
}

/// A valid model of `vocab` tokens and `context` positions whose entry
/// points are `Prefill` (and its last-row variant) and `Decode`, prefilling
/// at most `prefillChunk` tokens per call (0: the whole context).
template <TfmEntryFn Prefill, TfmEntryFn Decode>
TfmModelInfo fakeModelInfo(const char *name, int64_t vocab, int64_t context,
                           const void *weights, int64_t weightsBytes,
                           int64_t prefillChunk = 0) {
  TfmModelInfo m{};
  m.abi_version = TFM_ABI_VERSION;
  m.name = name;
  m.arch = "test";
  m.vocab_size = vocab;
  m.context_length = context;
  m.dim = 1;
  m.n_layers = 1;
  m.n_heads = 1;
  m.n_kv_heads = 1;
  m.head_dim = 1;
  m.kv_cache_floats = 2 * context;
  m.weights_bytes = weightsBytes;
  m.weights = static_cast<const uint8_t *>(weights);
  m.prefill = Prefill;
  m.prefill_last = lastRowOnly<Prefill>;
  m.decode = Decode;
  m.prefill_chunk = prefillChunk > 0 ? prefillChunk : context;
  return m;
}

} // namespace tfm::test

#endif // TFM_TEST_RUNTIME_FAKEMODEL_H
