//===- Args.h - Command line of generated executables -----------*- C++ -*-===//
//
// Flags follow llama.cpp's habits (defaults are llama.cpp's too):
//
//   -p, --prompt TEXT        prompt text (token ids if the model has no
//                            tokenizer: "1 450 4996")
//   -f, --file FILE          read the prompt from FILE
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
//   --no-bos                 do not start the prompt with BOS
//   --no-display-prompt      do not echo the prompt text on stdout
//   --tokenize               print the prompt's token ids and exit
//   --logits-out FILE        write the logits of every evaluated position
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
  bool addBos = true;
  bool displayPrompt = true;
  bool tokenizeOnly = false;
  std::string logitsOut; ///< Empty: do not write logits.
  bool timing = true;
  bool help = false;
  bool version = false;
};

/// Parses argv[1..argc). Returns false with a one-line message naming the
/// offending flag in `error` on unknown flags, missing values, non-numbers
/// and out-of-range values. --help / --version stop parsing successfully.
bool parseArgs(int argc, const char *const *argv, Options &opts,
               std::string &error);

/// The --help text.
std::string usageText(const char *progName);

/// Reads -f's file into opts.prompt (a no-op without -f). False plus
/// `error` if the file cannot be read.
bool loadPromptFile(Options &opts, std::string &error);

} // namespace rt
} // namespace tfm

#endif // TFM_RUNTIME_ARGS_H
