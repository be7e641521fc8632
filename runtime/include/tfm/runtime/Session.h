/*===- Session.h - Plain C API to run a compiled model ---------*- C -*-===//
 *
 * A session owns what one conversation with a compiled model needs: the
 * weights (the embedded blob, or a read-only mmap of the sidecar file), the
 * KV cache (kv_cache_floats floats, 64-byte aligned, zero-initialised), a
 * logits buffer and the current position. It is the embedding API: a
 * program that links a model object and libtfmrt needs nothing else.
 *
 *   TfmSession *s = tfm_session_create(&tfm_model, 0, err, sizeof err);
 *   tfm_session_eval(s, prompt, n, NULL);          // prefill, pos += n
 *   tfm_session_eval(s, &tok, 1, logits);          // decode, pos += 1
 *
 * Sidecar weights: `weights_file` is resolved relative to the directory of
 * the running executable (/proc/self/exe) unless it is absolute, and its
 * size must equal `weights_bytes`.
 *
 *===----------------------------------------------------------------------===*/

#ifndef TFM_RUNTIME_SESSION_H
#define TFM_RUNTIME_SESSION_H

#include "tfm/runtime/ModelAbi.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct TfmSession TfmSession;

/** Validates `model`, maps its weights, allocates the KV cache and sets the
 *  global thread pool to `threads` threads (<= 0: hardware threads). On
 *  failure returns NULL with a message in err[0, errlen). */
TfmSession *tfm_session_create(const TfmModelInfo *model, int threads,
                               char *err, size_t errlen);

/** Runs the model on `n` tokens at the current position (prefill for n > 1,
 *  decode for n == 1), appends them to the KV cache and advances the
 *  position by n. If `logits` is not NULL it receives n * vocab_size floats,
 *  one row per token. Returns 0, or -1 without running anything if n < 1,
 *  pos + n exceeds the context or a token id is out of range (message in
 *  tfm_session_error). */
int tfm_session_eval(TfmSession *session, const int32_t *tokens, int64_t n,
                     float *logits);

/** The logits row of the last token of the last successful eval
 *  (vocab_size floats), or NULL before the first eval. */
const float *tfm_session_last_logits(const TfmSession *session);

/** Current position (tokens in the KV cache). */
int64_t tfm_session_pos(const TfmSession *session);

/** Forgets all positions (the cache is overwritten as positions are reused). */
void tfm_session_reset(TfmSession *session);

/** The model the session runs. */
const TfmModelInfo *tfm_session_model(const TfmSession *session);

/** Message of the last failed call on this session ("" if none). */
const char *tfm_session_error(const TfmSession *session);

void tfm_session_destroy(TfmSession *session);

#ifdef __cplusplus
}
#endif

#endif /* TFM_RUNTIME_SESSION_H */
