/*===- Text.h - Tokenize, detokenize and sample from C ----------*- C -*-===//
 *
 * The rest of what a C program needs to generate text with a compiled
 * model, beside Session.h: the model's embedded tokenizer, a streaming
 * decoder that never splits a UTF-8 character, and the sampler chain of the
 * generated executables (repetition penalty, top-k, temperature, top-p,
 * min-p; llama.cpp's defaults). No C++ header is needed:
 *
 *   TfmTokenizer *tok = tfm_tokenizer_create(&tfm_model, err, sizeof err);
 *   int64_t n = tfm_tokenize(tok, "Once upon", 9, -1, ids, 64);
 *   TfmSamplerParams p; tfm_sampler_default_params(&p); p.seed = 42;
 *   TfmSampler *smp = tfm_sampler_create(&p);
 *   ... tfm_session_eval(s, ids, n, NULL);
 *   int32_t next = tfm_sampler_sample(smp, tfm_session_last_logits(s),
 *                                     tfm_model.vocab_size);
 *   fputs(tfm_decoder_push(dec, next, &len), stdout);
 *
 * Every function accepts NULL objects (returning -1, NULL or nothing), and
 * no C++ exception leaves any of them. Objects are independent; one object
 * must not be used by two threads at the same time (a tokenizer may: it is
 * immutable).
 *
 *===----------------------------------------------------------------------===*/
#ifndef TFM_RUNTIME_TEXT_H
#define TFM_RUNTIME_TEXT_H
#include "tfm/runtime/ModelAbi.h"
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef struct TfmTokenizer TfmTokenizer;
typedef struct TfmDecoder TfmDecoder;
typedef struct TfmSampler TfmSampler;

/** The tokenizer embedded in `model`; NULL with a message in err[0, errlen)
 *  if the model has none (it was compiled with tokenizer = none) or its
 *  bytes are invalid. */
TFM_API TfmTokenizer *tfm_tokenizer_create(const TfmModelInfo *model, char *err,
                                           size_t errlen);
TFM_API void tfm_tokenizer_destroy(TfmTokenizer *tok);
/** BOS / EOS ids (-1: none); whether prompts start with BOS by default
 *  (1 for SentencePiece, 0 for GPT-2, as tfm-tokenize and Hugging Face). */
TFM_API int32_t tfm_tokenizer_bos(const TfmTokenizer *tok);
TFM_API int32_t tfm_tokenizer_eos(const TfmTokenizer *tok);
TFM_API int tfm_tokenizer_add_bos_default(const TfmTokenizer *tok);

/** Encodes text[0, len) (any bytes). add_bos: 1 yes, 0 no, -1 the
 *  tokenizer's default. Writes at most `capacity` ids and returns how many
 *  the text has (call again with a larger buffer if that is more), or -1. */
TFM_API int64_t tfm_tokenize(const TfmTokenizer *tok, const char *text,
                             size_t len, int add_bos, int32_t *ids,
                             int64_t capacity);
/** The text of ids[0, n), NUL-terminated in buf[0, capacity) (truncated if
 *  it does not fit); returns its length without the NUL (snprintf's rule),
 *  or -1. Invalid UTF-8 comes out as U+FFFD; a leading BOS drops the
 *  SentencePiece dummy-prefix space. */
TFM_API int64_t tfm_detokenize(const TfmTokenizer *tok, const int32_t *ids,
                               int64_t n, char *buf, size_t capacity);

/** A streaming decoder over `tok` (which must outlive it). */
TFM_API TfmDecoder *tfm_decoder_create(const TfmTokenizer *tok);
/** The text token `id` completes (possibly empty: part of a UTF-8
 *  character is held back), NUL-terminated; its length in *len if len is
 *  not NULL. The string stays valid until the next call on `dec`. */
TFM_API const char *tfm_decoder_push(TfmDecoder *dec, int32_t id, size_t *len);
/** Text still held back at the end (U+FFFD per stray byte). */
TFM_API const char *tfm_decoder_finish(TfmDecoder *dec, size_t *len);
TFM_API void tfm_decoder_destroy(TfmDecoder *dec);

/** Sampling settings. */
typedef struct TfmSamplerParams {
  float temperature;     /**< <= 0: greedy (0.8) */
  int32_t top_k;         /**< <= 0: off (40) */
  float top_p;           /**< >= 1: off (0.95) */
  float min_p;           /**< <= 0: off (0.05) */
  float repeat_penalty;  /**< 1: off (1.0) */
  int32_t repeat_last_n; /**< penalty window, 0: off (64) */
  uint64_t seed;         /**< (0) */
} TfmSamplerParams;
/** Fills `params` with the defaults above (the executables' defaults). */
TFM_API void tfm_sampler_default_params(TfmSamplerParams *params);
TFM_API TfmSampler *tfm_sampler_create(const TfmSamplerParams *params);
/** Picks the next token from logits[0, n) (not modified), or -1. */
TFM_API int32_t tfm_sampler_sample(TfmSampler *smp, const float *logits,
                                   int64_t n);
/** Records a token (prompt tokens too) for the repetition penalty. */
TFM_API void tfm_sampler_accept(TfmSampler *smp, int32_t token);
TFM_API void tfm_sampler_destroy(TfmSampler *smp);

#ifdef __cplusplus
}
#endif
#endif /* TFM_RUNTIME_TEXT_H */
