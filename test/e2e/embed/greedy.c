/* A C program that embeds a compiled model through the plain C API
 * (runtime/include/tfm/runtime/Session.h): greedy-decodes from BOS and
 * prints the token ids. Built by test/e2e/embed-c-api.test with the link line
 * the README documents. */
#include "tfm/runtime/Session.h"

#include <stdio.h>

extern const TfmModelInfo tfm_model;

int main(void) {
  char err[256];
  TfmSession *s = tfm_session_create(&tfm_model, 1, err, sizeof err);
  if (!s) {
    fprintf(stderr, "create: %s\n", err);
    return 1;
  }
  int32_t token = 1; /* BOS */
  for (int step = 0; step < 21; ++step) {
    if (tfm_session_eval(s, &token, 1, NULL) != 0) {
      fprintf(stderr, "eval: %s\n", tfm_session_error(s));
      return 1;
    }
    const float *logits = tfm_session_last_logits(s);
    int32_t best = 0;
    for (int32_t v = 1; v < tfm_model.vocab_size; ++v)
      if (logits[v] > logits[best])
        best = v;
    printf("%d ", best);
    token = best;
  }
  printf("\n");
  tfm_session_destroy(s);
  return 0;
}
