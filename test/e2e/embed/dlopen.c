/* Loads a model compiled with tfmc --emit=shared at run time (dlopen) and
 * greedy-generates from it through the C API it exports:
 *
 *   dlopen-model LIBRARY.so PROMPT N */
#include "tfm/runtime/Session.h"
#include "tfm/runtime/Text.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOAD(var, name)                                                        \
  do {                                                                         \
    *(void **)(&var) = dlsym(lib, name);                                       \
    if (!var) {                                                                \
      fprintf(stderr, "dlsym %s: %s\n", name, dlerror());                      \
      return 1;                                                                \
    }                                                                          \
  } while (0)

int main(int argc, char **argv) {
  if (argc != 4)
    return 2;
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  const TfmModelInfo *model;
  TfmSession *(*create)(const TfmModelInfo *, int, char *, size_t);
  int (*eval)(TfmSession *, const int32_t *, int64_t, float *);
  const float *(*last)(const TfmSession *);
  TfmTokenizer *(*tokCreate)(const TfmModelInfo *, char *, size_t);
  int64_t (*tokenize)(const TfmTokenizer *, const char *, size_t, int,
                      int32_t *, int64_t);
  int32_t (*eos)(const TfmTokenizer *);
  TfmDecoder *(*decCreate)(const TfmTokenizer *);
  const char *(*push)(TfmDecoder *, int32_t, size_t *);
  void (*destroy)(TfmSession *);
  void (*tokDestroy)(TfmTokenizer *);
  void (*decDestroy)(TfmDecoder *);
  LOAD(model, "tfm_model");
  LOAD(create, "tfm_session_create");
  LOAD(eval, "tfm_session_eval");
  LOAD(last, "tfm_session_last_logits");
  LOAD(tokCreate, "tfm_tokenizer_create");
  LOAD(tokenize, "tfm_tokenize");
  LOAD(eos, "tfm_tokenizer_eos");
  LOAD(decCreate, "tfm_decoder_create");
  LOAD(push, "tfm_decoder_push");
  LOAD(destroy, "tfm_session_destroy");
  LOAD(tokDestroy, "tfm_tokenizer_destroy");
  LOAD(decDestroy, "tfm_decoder_destroy");
  /* The runtime's C++ internals are not exported. */
  if (dlsym(lib, "_mlir_memref_to_llvm_alloc")) {
    fprintf(stderr, "libtfmrt internals are exported\n");
    return 1;
  }

  char err[256];
  TfmSession *s = create(model, 1, err, sizeof err);
  TfmTokenizer *tok = tokCreate(model, err, sizeof err);
  if (!s || !tok) {
    fprintf(stderr, "create: %s\n", err);
    return 1;
  }
  TfmDecoder *dec = decCreate(tok);
  int status = 1;
  int32_t ids[256];
  int64_t count = tokenize(tok, argv[2], strlen(argv[2]), -1, ids, 256);
  for (int64_t i = 0; i < count; ++i)
    fputs(push(dec, ids[i], NULL), stdout);
  if (count < 1 || eval(s, ids, count, NULL) != 0)
    goto done;
  int n = atoi(argv[3]);
  for (int step = 0; step < n; ++step) {
    const float *logits = last(s);
    int32_t best = 0;
    for (int32_t v = 1; v < model->vocab_size; ++v)
      if (logits[v] > logits[best])
        best = v;
    if (best == eos(tok) || best == 1)
      break;
    fputs(push(dec, best, NULL), stdout);
    if (eval(s, &best, 1, NULL) != 0)
      goto done;
  }
  fputc('\n', stdout);
  status = 0;
done:
  /* Everything is released (LeakSanitizer checks it in a sanitized build). */
  decDestroy(dec);
  destroy(s);
  tokDestroy(tok);
  return status;
}
