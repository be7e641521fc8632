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
  TfmModelInfo M{};
  M.abi_version = TFM_ABI_VERSION;
  M.name = name;
  M.arch = "test";
  M.vocab_size = vocab;
  M.context_length = context;
  M.dim = 1;
  M.n_layers = 1;
  M.n_heads = 1;
  M.n_kv_heads = 1;
  M.head_dim = 1;
  M.kv_cache_floats = 2 * context;
  M.weights_bytes = weightsBytes;
  M.weights = static_cast<const uint8_t *>(weights);
  M.prefill = prefill;
  M.decode = decode;
  M.prefill_chunk = prefillChunk > 0 ? prefillChunk : context;
  return M;
}

} // namespace tfm::test

#endif // TFM_TEST_RUNTIME_FAKEMODEL_H
