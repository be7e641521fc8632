/* Text generation from C with the C API alone (Session.h and Text.h; no C++
 * header): tokenize the prompt, evaluate it, sample and decode token by
 * token, as the generated executables do (same sampler chain and seed, so
 * the text is the executable's with the same flags).
 *
 *   generate PROMPT N TEMPERATURE SEED
 *
 * Built with -DTWO_MODELS it runs two models linked into one program,
 * compiled with tfmc --name story and --name dreams, one line each. */
#include "tfm/runtime/Session.h"
#include "tfm/runtime/Text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef TWO_MODELS
extern const TfmModelInfo story_model;
extern const TfmModelInfo dreams_model;
#else
extern const TfmModelInfo tfm_model;
#endif

static int generate(const TfmModelInfo *model, const char *prompt, int n,
                    float temperature, uint64_t seed) {
  char err[256];
  TfmTokenizer *tok = tfm_tokenizer_create(model, err, sizeof err);
  TfmSession *s = tfm_session_create(model, 1, err, sizeof err);
  if (!tok || !s) {
    fprintf(stderr, "create: %s\n", err);
    return 1;
  }
  TfmDecoder *dec = tfm_decoder_create(tok);
  TfmSamplerParams params;
  tfm_sampler_default_params(&params);
  params.temperature = temperature;
  params.seed = seed;
  TfmSampler *smp = tfm_sampler_create(&params);

  int32_t ids[256];
  int64_t count = tfm_tokenize(tok, prompt, strlen(prompt), -1, ids, 256);
  if (count < 1 || count > 256) {
    fprintf(stderr, "tokenize: %lld tokens\n", (long long)count);
    return 1;
  }
  for (int64_t i = 0; i < count; ++i) {
    tfm_sampler_accept(smp, ids[i]);
    fputs(tfm_decoder_push(dec, ids[i], NULL), stdout);
  }
  if (tfm_session_eval(s, ids, count, NULL) != 0) {
    fprintf(stderr, "eval: %s\n", tfm_session_error(s));
    return 1;
  }
  for (int step = 0; step < n; ++step) {
    int32_t next =
        tfm_sampler_sample(smp, tfm_session_last_logits(s), model->vocab_size);
    if (next == tfm_tokenizer_eos(tok) || next == tfm_tokenizer_bos(tok))
      break;
    tfm_sampler_accept(smp, next);
    size_t len = 0;
    const char *text = tfm_decoder_push(dec, next, &len);
    fwrite(text, 1, len, stdout);
    if (step + 1 < n && tfm_session_eval(s, &next, 1, NULL) != 0) {
      fprintf(stderr, "eval: %s\n", tfm_session_error(s));
      return 1;
    }
  }
  fputs(tfm_decoder_finish(dec, NULL), stdout);
  fputc('\n', stdout);

  /* detokenize agrees with the streamed prompt text */
  char text[1024];
  int64_t len = tfm_detokenize(tok, ids, count, text, sizeof text);
  if (len < 0 || strncmp(text, prompt, strlen(prompt)) != 0) {
    fprintf(stderr, "detokenize: '%s'\n", text);
    return 1;
  }
  tfm_sampler_destroy(smp);
  tfm_decoder_destroy(dec);
  tfm_session_destroy(s);
  tfm_tokenizer_destroy(tok);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: generate PROMPT N TEMPERATURE SEED\n");
    return 2;
  }
  int n = atoi(argv[2]);
  float temperature = (float)atof(argv[3]);
  uint64_t seed = strtoull(argv[4], NULL, 10);
#ifdef TWO_MODELS
  return generate(&story_model, argv[1], n, temperature, seed) ||
         generate(&dreams_model, argv[1], n, temperature, seed);
#else
  return generate(&tfm_model, argv[1], n, temperature, seed);
#endif
}
