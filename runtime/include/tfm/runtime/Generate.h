//===- Generate.h - The generation loop and the executable's main -*- C++ -*-=//
//
// Two layers:
//  * generateTokens: token ids in, token ids out. Prefills the prompt in one
//    call, then samples and decodes one token at a time. Used by tests with
//    a fake model behind the ABI.
//  * tfmMain: the whole `main` of a generated executable (Main.cpp is a
//    one-line wrapper): arguments, tokenizer, session, streaming output.
//
// Policies (kept in one place, here):
//  * Output. stdout carries the decoded text of every token after the
//    leading BOS, prompt included (as llama2.c prints it), streamed through
//    TokenDecoder so no UTF-8 character is ever split, flushed per token,
//    followed by one '\n'. --no-display-prompt leaves the prompt out.
//    Models without a tokenizer print token ids separated by spaces.
//  * BOS: the tokenizer's convention (SentencePiece yes, GPT-2 no, as
//    tfm-tokenize and Hugging Face), --bos/--no-bos override. Empty prompt:
//    BOS alone (llama2.c; how stories260K is run).
//  * Stop: at -n tokens, at the context end (-c, at most the compiled one),
//    when the model samples EOS or BOS (llama2.c-trained models delimit
//    documents with BOS; not with --ignore-eos), when the text ends with a
//    -r string, or at Ctrl-C (the text so far, '\n', the timing line, exit
//    130). The stop token is neither printed nor counted.
//  * Interactive (-i): each line read from stdin is appended at the
//    session's position (the pending last token of the turn before, then
//    the line's ids without BOS) and continued for -n tokens; the KV cache
//    is kept. EOF or Ctrl-C ends; a full context ends with a note.
//  * Outputs (--logits-out, --attention-out) are opened before anything is
//    printed; --attention-out needs a model with the attention probe.
//  * --perplexity FILE scores FILE's text (scoreTokens) instead of
//    generating and prints one line on stdout.
//  * Context: prompt + generated tokens <= context_length + 1: the last
//    generated token is printed but never evaluated, so it needs no cache
//    slot (llama2.c's convention). A prompt longer than the context is an
//    error (exit 2) before anything runs; an -n that does not fit is cut to
//    what fits, with a note on stderr.
//  * The last generated token is not evaluated (its logits would be unused),
//    so --logits-out holds prompt_tokens + generated_tokens - 1 rows
//    (prompt_tokens rows if nothing was generated).
//  * Logits that are not finite (NaN weights, compiled with tfmc
//    --allow-nonfinite, or activations that overflowed) stop generation
//    with an error naming the position and the token (exit 1): every
//    prompt row with --logits-out (written first), else the last one, then
//    every decode step's.
//  * Exit codes: 0 success; 2 bad arguments or input (flags, prompt file,
//    prompt too long, bad token ids, unusable weights file); 1 failures
//    while running (e.g. writing --logits-out, or stdout: a full disk or
//    /dev/full is reported on stderr, never a silent success; logits that
//    are not finite).
//
//===----------------------------------------------------------------------===//

#ifndef TFM_RUNTIME_GENERATE_H
#define TFM_RUNTIME_GENERATE_H

#include "tfm/runtime/ModelAbi.h"
#include "tfm/runtime/Sampler.h"
#include "tfm/runtime/Session.h"

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace tfm {
namespace rt {

struct GenerateConfig {
  int64_t nPredict = 128;          ///< -1: until the context is full.
  std::vector<int32_t> stopTokens; ///< EOS (and BOS); negative ids ignored.
  std::string logitsOut;           ///< File for the logits rows; empty: none.
  /// Already open logits file (the caller closes it); overrides logitsOut
  /// for writing, logitsOut still names it in messages.
  std::FILE *logitsFile = nullptr;
  /// When set, the prompt is evaluated through the attention probe
  /// (tfm_session_eval_attention) and its probabilities stored here:
  /// [layers, heads, P, start + P] floats.
  std::vector<float> *attention = nullptr;
  /// Append the prompt at the session's current position (interactive
  /// turns) instead of resetting the session first.
  bool continueSession = false;
  /// Evaluate the prompt once, untimed, and forget it before the timed run
  /// (llama-bench's warm-up run): the timings then leave out a first call's
  /// page faults and cold caches. Ignored with continueSession.
  bool warmup = false;
  /// Checked before each sampled token: true ends generation (Ctrl-C,
  /// reverse prompts). May be empty.
  std::function<bool()> stopRequested;
  int32_t nProbs = 0;            ///< Top-N probabilities per token ...
  std::FILE *probsOut = nullptr; ///< ... printed here ("probs: ...").
  std::FILE *diag =
      nullptr; ///< Where notes go (e.g. -n truncated); may be null.
};

struct GenerateStats {
  int64_t promptTokens = 0;
  int64_t generatedTokens = 0; ///< Not counting a stop token.
  int64_t decodeEvals = 0;     ///< Single-token model calls.
  double promptSeconds = 0;
  double decodeSeconds = 0; ///< Sampling + decode calls.
  bool stoppedByToken = false;
  bool interrupted = false; ///< stopRequested() ended the generation.
  /// The last generated token, printed but not evaluated (not in the KV
  /// cache), or -1; an interactive turn evaluates it first.
  int32_t pendingToken = -1;
};

/// Runs prompt + generation on a fresh session position 0 (the session is
/// reset first; with config.continueSession at its current position). `onToken`
/// receives every generated token, in order. Returns 0, or an exit code (see
/// above) with `error` set.
int generateTokens(TfmSession *session, const std::vector<int32_t> &prompt,
                   const GenerateConfig &config, Sampler &sampler,
                   const std::function<void(int32_t)> &onToken,
                   GenerateStats &stats, std::string &error);

/// The sum of -ln p(token | the tokens before it) over `tokens`, evaluated in
/// consecutive windows of at most `window` tokens, each from position 0 of
/// the reset session; every token but a window's first is scored.
struct PerplexityStats {
  int64_t scored = 0;
  double nll = 0;  ///< Nats, summed.
  double nll2 = 0; ///< Their squares, summed.
  double perplexity() const;
  /// llama.cpp's uncertainty of the perplexity: perplexity times the
  /// standard error of the mean -ln p.
  double uncertainty() const;
};
int scoreTokens(TfmSession *session, const std::vector<int32_t> &tokens,
                int64_t window, PerplexityStats &stats, std::string &error);

/// The `count` most probable ids of softmax(logits) (temperature 1) as
/// "ID PROB ID PROB ...", most probable first.
std::string probabilityLine(const float *logits, int64_t n, int32_t count);

/// "prompt: N tokens, X tok/s | generated: M tokens, Y tok/s".
std::string timingLine(const GenerateStats &stats);

/// Parses "1 450 4996" (ids separated by whitespace) for models without a
/// tokenizer. False plus `error` on anything else or ids outside [0, vocab).
bool parseTokenIds(const std::string &text, int64_t vocabSize,
                   std::vector<int32_t> &ids, std::string &error);

/// The main of a generated executable, writing text to `out` and
/// diagnostics to `err`. Returns the process exit code.
int tfmMain(const TfmModelInfo &model, int argc, const char *const *argv,
            std::FILE *out, std::FILE *err);

} // namespace rt
} // namespace tfm

#endif // TFM_RUNTIME_GENERATE_H
