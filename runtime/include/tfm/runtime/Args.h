//===- Args.h - Command line of generated executables -----------*- C++ -*-===//
//
// Flags follow llama.cpp's habits (defaults are llama.cpp's too):
//
//   -p, --prompt TEXT        prompt text (token ids if the model has no
//                            tokenizer: "1 450 4996")
//   -f, --file FILE          read the prompt from FILE ('-': stdin)
//   -e, --escape             process \n \t \r \\ \" \' in the prompt
//   -i, --interactive        turns read from stdin, the KV cache kept
//   -r, --reverse-prompt T   stop when the output ends with T (repeatable)
//   -c, --ctx-size N         run-time context (<= compiled; 0: compiled)
//   -n, --n-predict N        tokens to generate (128; -1: until the context
//                            is full)
//   --temp T                 temperature (0.8; 0: greedy)
//   --top-k K                (40; 0: off)
//   --top-p P                (0.95; 1: off)
//   --min-p P                (0.05; 0: off)
//   --repeat-penalty X       (1.0: off)
//   --repeat-last-n N        penalty window (64; 0: off, -1: context size)
//   -s, --seed N             (-1 or absent: random, printed on stderr)
//   -t, --threads N          (hardware threads)
//   --bos, --no-bos          start the prompt with BOS or not (default: the
//                            tokenizer's convention)
//   --ignore-eos             do not stop at EOS/BOS
//   --n-probs N              top-N probabilities per generated token
//   --no-display-prompt      do not echo the prompt text on stdout
//   --tokenize               print the prompt's token ids and exit
//   --logits-out FILE        write the logits of every evaluated position
//   --perplexity FILE        perplexity of FILE's text instead of generating
//   --attention-out FILE     the prompt's attention probabilities (.npy;
//                            tfmc --probes=attention)
//   --no-timing              no timing line on stderr
//   -h, --help / --version
//
// Both "--flag value" and "--flag=value" are accepted. parseArgs does no
// I/O, so every flag and every error is unit-testable.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_RUNTIME_ARGS_H
#define TFM_RUNTIME_ARGS_H

#include "tfm/runtime/Sampler.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tfm {
namespace rt {

struct Options {
  std::string prompt;
  std::string promptFile;  ///< -f; empty if not given.
  bool havePrompt = false; ///< -p given (an empty prompt is still a prompt).
  int64_t nPredict = 128;  ///< -1: until the context is full.
  SamplerParams sampling;  ///< seed is valid only if haveSeed.
  bool haveSeed = false;
  int32_t threads = 0; ///< 0: hardware threads.
  int addBos = -1;     ///< --bos 1, --no-bos 0, -1: the tokenizer's convention.
  int64_t ctxSize = 0; ///< -c; 0: the compiled context length.
  std::vector<std::string> reversePrompts; ///< -r, in order given.
  bool ignoreEos = false;
  bool escape = false;      ///< -e: process escapes in the prompt.
  int32_t nProbs = 0;       ///< --n-probs.
  bool interactive = false; ///< -i.
  bool displayPrompt = true;
  bool tokenizeOnly = false;
  std::string logitsOut;      ///< Empty: do not write logits.
  std::string attentionOut;   ///< Empty: do not write attention (.npy).
  std::string perplexityFile; ///< Non-empty: score this text, no generation.
  bool timing = true;
  bool warmup = false; ///< --warmup: evaluate the prompt once untimed.
  bool help = false;
  bool version = false;
  bool info = false; ///< --info: print the sizes (Generate.cpp) and exit.
};

/// Parses argv[1..argc). Returns false with a one-line message naming the
/// offending flag in `error` on unknown flags, missing values, non-numbers
/// and out-of-range values. --help / --version stop parsing successfully.
bool parseArgs(int argc, const char *const *argv, Options &opts,
               std::string &error);

/// `text` with \n \t \r \\ \" \' replaced by the characters they
/// name (-e); any other backslash is kept as written.
std::string processEscapes(const std::string &text);

/// The --help text.
std::string usageText(const char *progName);

/// The largest prompt -f reads, in bytes (docs/limits.md): a context of 2^24
/// tokens at 16 bytes a token.
constexpr uint64_t kMaxPromptBytes = uint64_t(256) << 20;

/// Reads -f's file (standard input for "-") into opts.prompt (a no-op
/// without -f). The type comes first: a directory, a block device or a
/// character device other than a terminal is refused before a byte is read
/// (/dev/zero would never end); a regular file's size must be at most
/// kMaxPromptBytes, and a pipe is read up to that. False plus `error` if the
/// file cannot be read or is refused.
bool loadPromptFile(Options &opts, std::string &error);

} // namespace rt
} // namespace tfm

#endif // TFM_RUNTIME_ARGS_H
