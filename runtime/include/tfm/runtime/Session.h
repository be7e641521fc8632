/*===- Session.h - Plain C API to run a compiled model ---------*- C -*-===//
 *
 * A session owns what one conversation with a compiled model needs: the
 * weights (the embedded blob, or a read-only mmap of the sidecar file), the
 * KV cache (kv_cache_floats floats, page-aligned and zero, mapped lazily: a
 * page is touched when a position in it is first written), the logits of
 * the last token, the current position and a thread pool of its own. It is
 * the embedding API: a program that links a model object and libtfmrt needs
 * nothing else.
 *
 *   TfmSession *s = tfm_session_create(&tfm_model, 0, err, sizeof err);
 *   tfm_session_eval(s, prompt, n, NULL);          // prefill, pos += n
 *   tfm_session_eval(s, &tok, 1, logits);          // decode, pos += 1
 *
 * Sessions are independent: different sessions may be created, used and
 * destroyed concurrently from different threads, each with its own thread
 * count. One session must not be used by two threads at the same time.
 *
 * Every function accepts a NULL session (eval and pos return -1, the others
 * return NULL or do nothing, error returns a fixed message), and no C++
 * exception leaves any of them. The one failure without an error code is
 * memory for a model call's activations: the generated code cannot report
 * it, so the runtime prints a message and exits with status 1 (ModelAbi.h).
 *
 * Sidecar weights (a model compiled with --weights=mmap, none, or auto above
 * --embed-limit): the file mapped is, first found,
 *   1. the `weights_path` given to tfm_session_create_with_weights;
 *   2. the environment variable TFM_WEIGHTS (relative to the current
 *      directory);
 *   3. the model's `weights_file`, relative to the directory of the running
 *      executable (/proc/self/exe) unless it is absolute.
 * Its size must be `weights_bytes` plus the 64-byte TfmWeightsTrailer, and
 * the trailer's ids must match the model's (ModelAbi.h): a missing,
 * truncated, foreign or stale file fails session creation with a message
 * naming it. A model with embedded weights ignores both overrides.
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

/** Validates `model`, maps its weights, maps the KV cache and starts the
 *  session's pool of `threads` threads (<= 0: the hardware threads; at most
 *  4096). On failure returns NULL with a message in err[0, errlen). */
TFM_API TfmSession *tfm_session_create(const TfmModelInfo *model, int threads,
                                       char *err, size_t errlen);

/** tfm_session_create, mapping the sidecar weights from `weights_path`
 *  (NULL or "": the default search, see above). */
TFM_API TfmSession *tfm_session_create_with_weights(const TfmModelInfo *model,
                                                    int threads,
                                                    const char *weights_path,
                                                    char *err, size_t errlen);

/** Runs the model on `n` tokens at the current position (prefill for n > 1,
 *  in calls of at most the model's prefill_chunk tokens; decode for n == 1),
 *  appends them to the KV cache and advances the position by n. If `logits`
 *  is not NULL it receives n * vocab_size floats, one row per token. Returns
 *  0, or -1 without running anything if `tokens` is NULL, n < 1, pos + n
 *  exceeds the context, a token id is out of range or the logits scratch
 *  cannot be allocated (message in tfm_session_error). */
TFM_API int tfm_session_eval(TfmSession *session, const int32_t *tokens,
                             int64_t n, float *logits);

/** tfm_session_eval through the model's attention probe (a model compiled
 *  with tfmc --probes=attention; -1 for any other): the same logits and KV
 *  cache, and `attention` receives n_layers * n_heads * n * (p + n) floats,
 *  p the position before the call: [layer][head][query][key], row i the
 *  softmax probabilities of the query at position p + i over the keys at
 *  positions 0 .. p + n - 1 (zero after p + i: causal). The attention of
 *  every layer is computed unfused (slower than tfm_session_eval). */
TFM_API int tfm_session_eval_attention(TfmSession *session,
                                       const int32_t *tokens, int64_t n,
                                       float *logits, float *attention);

/** The logits row of the last token of the last successful eval
 *  (vocab_size floats), or NULL before the first eval. */
TFM_API const float *tfm_session_last_logits(const TfmSession *session);

/** Current position (tokens in the KV cache), or -1 for a NULL session. */
TFM_API int64_t tfm_session_pos(const TfmSession *session);

/** Limits the session to its first `n` positions (a run-time context, as
 *  llama.cpp's -c): eval then refuses to go past n. n must lie in
 *  [max(1, current position), context_length]. The KV cache is mapped
 *  again for n positions (the current positions move into it), so its
 *  memory is that of n positions, and the entry points read the context
 *  from its size. Returns 0, or -1 (message in tfm_session_error). */
TFM_API int tfm_session_set_context(TfmSession *session, int64_t n);
/** Floats of the session's KV cache: n_layers * 2 * n_kv_heads * context *
 *  head_dim for its current context; -1 for a NULL session. */
TFM_API int64_t tfm_session_kv_cache_floats(const TfmSession *session);
/** The positions the session may use: context_length unless set by
 *  tfm_session_set_context; -1 for a NULL session. */
TFM_API int64_t tfm_session_context(const TfmSession *session);
/** Forgets all positions (the cache is overwritten as positions are reused). */
TFM_API void tfm_session_reset(TfmSession *session);

/** The model the session runs. */
TFM_API const TfmModelInfo *tfm_session_model(const TfmSession *session);

/** Message of the last failed call on this session ("" if none). The string
 *  belongs to the session: it stays valid and unchanged until the next
 *  tfm_session_eval or tfm_session_destroy of the same session; copy it to
 *  keep it longer. */
TFM_API const char *tfm_session_error(const TfmSession *session);

TFM_API void tfm_session_destroy(TfmSession *session);

#ifdef __cplusplus
}
#endif

#endif /* TFM_RUNTIME_SESSION_H */
