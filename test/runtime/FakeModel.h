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

#include <cstdint>

namespace tfm::test {

/// A valid model of `vocab` tokens and `context` positions whose prefill and
/// decode are `entry`, prefilling at most `prefillChunk` tokens per call
/// (0: the whole context).
inline TfmModelInfo fakeModelInfo(const char *name, int64_t vocab,
                                  int64_t context, const void *weights,
                                  int64_t weightsBytes, TfmEntryFn prefill,
                                  TfmEntryFn decode, int64_t prefillChunk = 0) {
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
  m.prefill = prefill;
  m.decode = decode;
  m.prefill_chunk = prefillChunk > 0 ? prefillChunk : context;
  return m;
}

} // namespace tfm::test

#endif // TFM_TEST_RUNTIME_FAKEMODEL_H
