//===- Args.cpp - Command line of generated executables -------------------===//

#include "tfm/runtime/Args.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

namespace tfm {
namespace rt {

namespace {

bool parseInt(const std::string &S, int64_t &Out) {
  if (S.empty())
    return false;
  errno = 0;
  char *End = nullptr;
  long long V = std::strtoll(S.c_str(), &End, 10);
  if (errno != 0 || *End != '\0' || std::isspace((unsigned char)S[0]))
    return false;
  Out = V;
  return true;
}

bool parseFloat(const std::string &S, float &Out) {
  if (S.empty() || std::isspace((unsigned char)S[0]))
    return false;
  errno = 0;
  char *End = nullptr;
  double V = std::strtod(S.c_str(), &End);
  if (errno != 0 || *End != '\0' || !std::isfinite(V))
    return false;
  Out = float(V);
  return true;
}

} // namespace

bool parseArgs(int argc, const char *const *argv, Options &opts,
               std::string &error) {
  for (int I = 1; I < argc; ++I) {
    std::string Arg = argv[I];
    std::string Flag = Arg, Inline;
    bool HasInline = false;
    if (Arg.size() > 2 && Arg[0] == '-' && Arg[1] == '-') {
      size_t Eq = Arg.find('=');
      if (Eq != std::string::npos) {
        Flag = Arg.substr(0, Eq);
        Inline = Arg.substr(Eq + 1);
        HasInline = true;
      }
    }
    // Fetches the flag's value into V; false (with error set) if missing.
    std::string V;
    auto value = [&]() -> bool {
      if (HasInline) {
        V = Inline;
        return true;
      }
      if (I + 1 >= argc) {
        error = "missing value for " + Flag;
        return false;
      }
      V = argv[++I];
      return true;
    };
    auto noValue = [&]() -> bool {
      if (HasInline) {
        error = Flag + " takes no value";
        return false;
      }
      return true;
    };
    auto intIn = [&](int64_t &Out, int64_t Lo, int64_t Hi,
                     const char *Range) -> bool {
      if (!value())
        return false;
      if (!parseInt(V, Out)) {
        error =
            "invalid value '" + V + "' for " + Flag + ": expected an integer";
        return false;
      }
      if (Out < Lo || Out > Hi) {
        error =
            "value " + V + " for " + Flag + " is out of range (" + Range + ")";
        return false;
      }
      return true;
    };
    auto floatIn = [&](float &Out, float Lo, float Hi, bool LoOpen,
                       const char *Range) -> bool {
      if (!value())
        return false;
      if (!parseFloat(V, Out)) {
        error = "invalid value '" + V + "' for " + Flag + ": expected a number";
        return false;
      }
      if (Out < Lo || (LoOpen && Out == Lo) || Out > Hi) {
        error =
            "value " + V + " for " + Flag + " is out of range (" + Range + ")";
        return false;
      }
      return true;
    };

    int64_t N = 0;
    if (Flag == "-h" || Flag == "--help") {
      if (!noValue())
        return false;
      opts.help = true;
      return true;
    } else if (Flag == "--version") {
      if (!noValue())
        return false;
      opts.version = true;
      return true;
    } else if (Flag == "-p" || Flag == "--prompt") {
      if (!value())
        return false;
      opts.prompt = V;
      opts.havePrompt = true;
    } else if (Flag == "-f" || Flag == "--file") {
      if (!value())
        return false;
      if (V.empty()) {
        error = "empty file name for " + Flag;
        return false;
      }
      opts.promptFile = V;
    } else if (Flag == "-n" || Flag == "--n-predict") {
      if (!intIn(N, -1, INT64_MAX, ">= -1"))
        return false;
      opts.nPredict = N;
    } else if (Flag == "--temp") {
      if (!floatIn(opts.sampling.temperature, 0, 1e6f, false, ">= 0"))
        return false;
    } else if (Flag == "--top-k") {
      if (!intIn(N, 0, INT32_MAX, ">= 0"))
        return false;
      opts.sampling.topK = int32_t(N);
    } else if (Flag == "--top-p") {
      if (!floatIn(opts.sampling.topP, 0, 1, false, "0 to 1"))
        return false;
    } else if (Flag == "--min-p") {
      if (!floatIn(opts.sampling.minP, 0, 1, false, "0 to 1"))
        return false;
    } else if (Flag == "--repeat-penalty") {
      if (!floatIn(opts.sampling.repeatPenalty, 0, 1e6f, true, "> 0"))
        return false;
    } else if (Flag == "--repeat-last-n") {
      if (!intIn(N, -1, INT32_MAX, ">= -1"))
        return false;
      opts.sampling.repeatLastN = int32_t(N);
    } else if (Flag == "-s" || Flag == "--seed") {
      if (!value())
        return false;
      if (V == "-1") {
        opts.haveSeed = false;
        continue;
      }
      errno = 0;
      char *End = nullptr;
      unsigned long long S = std::strtoull(V.c_str(), &End, 10);
      if (V.empty() || !std::isdigit((unsigned char)V[0]) || *End != '\0' ||
          errno != 0) {
        error = "invalid value '" + V + "' for " + Flag +
                ": expected -1 or an integer in [0, 2^64)";
        return false;
      }
      opts.sampling.seed = S;
      opts.haveSeed = true;
    } else if (Flag == "-t" || Flag == "--threads") {
      if (!intIn(N, 1, 4096, "1 to 4096"))
        return false;
      opts.threads = int32_t(N);
    } else if (Flag == "--no-bos" || Flag == "--bos") {
      if (!noValue())
        return false;
      opts.addBos = Flag == "--bos" ? 1 : 0;
    } else if (Flag == "-c" || Flag == "--ctx-size") {
      if (!intIn(N, 0, INT64_MAX, ">= 0"))
        return false;
      opts.ctxSize = N;
    } else if (Flag == "-r" || Flag == "--reverse-prompt") {
      if (!value())
        return false;
      if (V.empty()) {
        error = "empty text for " + Flag;
        return false;
      }
      opts.reversePrompts.push_back(V);
    } else if (Flag == "--ignore-eos") {
      if (!noValue())
        return false;
      opts.ignoreEos = true;
    } else if (Flag == "-e" || Flag == "--escape") {
      if (!noValue())
        return false;
      opts.escape = true;
    } else if (Flag == "--n-probs") {
      if (!intIn(N, 0, 1 << 20, "0 to 1048576"))
        return false;
      opts.nProbs = int32_t(N);
    } else if (Flag == "-i" || Flag == "--interactive") {
      if (!noValue())
        return false;
      opts.interactive = true;
    } else if (Flag == "--no-display-prompt") {
      if (!noValue())
        return false;
      opts.displayPrompt = false;
    } else if (Flag == "--tokenize") {
      if (!noValue())
        return false;
      opts.tokenizeOnly = true;
    } else if (Flag == "--logits-out") {
      if (!value())
        return false;
      if (V.empty()) {
        error = "empty file name for " + Flag;
        return false;
      }
      opts.logitsOut = V;
    } else if (Flag == "--perplexity") {
      if (!value())
        return false;
      if (V.empty()) {
        error = "empty file name for " + Flag;
        return false;
      }
      opts.perplexityFile = V;
    } else if (Flag == "--attention-out") {
      if (!value())
        return false;
      if (V.empty()) {
        error = "empty file name for " + Flag;
        return false;
      }
      opts.attentionOut = V;
    } else if (Flag == "--no-timing") {
      if (!noValue())
        return false;
      opts.timing = false;
    } else if (!Arg.empty() && Arg[0] == '-') {
      error = "unknown flag " + Flag + " (see --help)";
      return false;
    } else {
      error = "unexpected argument '" + Arg + "' (use -p to give a prompt)";
      return false;
    }
  }
  if (opts.havePrompt && !opts.promptFile.empty()) {
    error = "-p/--prompt and -f/--file cannot both be given";
    return false;
  }
  if (opts.interactive && opts.promptFile == "-") {
    error = "-f - reads the prompt from standard input, which -i needs for "
            "its turns";
    return false;
  }
  return true;
}

std::string processEscapes(const std::string &text) {
  std::string Out;
  for (size_t I = 0; I < text.size(); ++I) {
    if (text[I] != '\\' || I + 1 == text.size()) {
      Out += text[I];
      continue;
    }
    switch (text[++I]) {
    case 'n':
      Out += '\n';
      break;
    case 't':
      Out += '\t';
      break;
    case 'r':
      Out += '\r';
      break;
    case '\\':
      Out += '\\';
      break;
    case '"':
      Out += '"';
      break;
    case '\'':
      Out += '\'';
      break;
    default: // not an escape: kept as written
      Out += '\\';
      Out += text[I];
    }
  }
  return Out;
}

bool loadPromptFile(Options &opts, std::string &error) {
  if (opts.promptFile.empty())
    return true;
  if (opts.promptFile == "-") {
    // Standard input, like tfm-tokenize's TEXT "-".
    opts.prompt.clear();
    char Buf[1 << 16];
    size_t N;
    while ((N = std::fread(Buf, 1, sizeof Buf, stdin)) > 0)
      opts.prompt.append(Buf, N);
    if (std::ferror(stdin)) {
      error = std::string("cannot read the prompt from standard input: ") +
              std::strerror(errno);
      return false;
    }
  } else {
    std::ifstream In(opts.promptFile, std::ios::binary);
    if (!In) {
      error = "cannot read prompt file '" + opts.promptFile +
              "': " + std::strerror(errno);
      return false;
    }
    std::ostringstream Buf;
    Buf << In.rdbuf();
    opts.prompt = Buf.str();
  }
  // Editors end files with a newline that is not part of the prompt.
  if (!opts.prompt.empty() && opts.prompt.back() == '\n')
    opts.prompt.pop_back();
  if (!opts.prompt.empty() && opts.prompt.back() == '\r')
    opts.prompt.pop_back();
  opts.havePrompt = true;
  return true;
}

std::string usageText(const char *progName) {
  std::string P = progName ? progName : "model";
  return "usage: " + P + R"( [options]

Generates text with the compiled model. Text goes to stdout, diagnostics and
timings to stderr.

  -p, --prompt TEXT      prompt (default: empty, i.e. generation starts from
                         BOS); for a model built without a tokenizer, TEXT
                         is a list of token ids separated by spaces
  -f, --file FILE        read the prompt from FILE ('-': standard input; one
                         trailing newline is dropped)
  -e, --escape           process escapes in the prompt: \n \t \r \\ \" \'
  -i, --interactive      after the prompt's continuation, read a line from
                         standard input and continue from it, turn after
                         turn, keeping the KV cache (EOF or Ctrl-C ends)
  -r, --reverse-prompt TEXT
                         stop generating when the output ends with TEXT
                         (repeatable; with -i: hand the turn back)
  -c, --ctx-size N       context of this run, up to the compiled maximum
                         (default: 0 = the compiled maximum); the KV cache
                         is used, and touched, for N positions only
  -n, --n-predict N      number of tokens to generate (default: 128;
                         -1 = until the context is full)
  --temp T               temperature (default: 0.8; 0 = greedy)
  --top-k K              top-k sampling (default: 40; 0 = off)
  --top-p P              top-p (nucleus) sampling (default: 0.95; 1 = off)
  --min-p P              min-p sampling (default: 0.05; 0 = off)
  --repeat-penalty X     repetition penalty (default: 1.0 = off)
  --repeat-last-n N      tokens the penalty looks back on (default: 64;
                         0 = off, -1 = context size)
  -s, --seed N           random seed (default: -1 = from the clock; the seed
                         used is printed on stderr unless --temp 0)
  -t, --threads N        threads (default: all hardware threads)
  --bos, --no-bos        start the prompt with BOS or not (default: the
                         tokenizer's convention: SentencePiece yes, GPT-2
                         no, as Hugging Face and tfm-tokenize; an empty
                         prompt always starts from BOS)
  --ignore-eos           do not stop when the model samples EOS (or BOS)
  --n-probs N            after each generated token, print on stderr the
                         N most probable tokens of its distribution
                         (softmax of the logits at temperature 1):
                         "probs: ID PROB ID PROB ..." (default: 0 = off)
  --no-display-prompt    do not print the prompt before the generated text
  --tokenize             print the prompt's token ids on one line and exit
  --logits-out FILE      write the float32 (little-endian) logits of every
                         evaluated position to FILE, one row of vocab_size
                         per position: prompt positions, then each step
  --perplexity FILE      print the perplexity of FILE's text (tokenized as a
                         prompt, scored in windows of the context length)
                         instead of generating
  --attention-out FILE   write the prompt's attention probabilities to FILE
                         as a float32 NumPy array [layers, heads, P, P]
                         (a model compiled with tfmc --probes=attention)
  --no-timing            do not print the timing line on stderr
  -h, --help             show this help
  --version              show the model name, architecture and ABI version

The sampling chain is: repetition penalty, top-k, temperature, top-p, min-p.
Ctrl-C stops the generation: the text so far, a newline and the timing line
are printed, and the exit code is 130.
Exit codes: 0 success, 2 bad arguments or input, 1 other failures, 130
interrupted.
)";
}

} // namespace rt
} // namespace tfm
