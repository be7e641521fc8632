//===- Args.cpp - Command line of generated executables -------------------===//

#include "tfm/runtime/Args.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tfm {
namespace rt {

namespace {

bool parseInt(const std::string &s, int64_t &out) {
  if (s.empty())
    return false;
  errno = 0;
  char *end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || std::isspace((unsigned char)s[0]))
    return false;
  out = v;
  return true;
}

bool parseFloat(const std::string &s, float &out) {
  if (s.empty() || std::isspace((unsigned char)s[0]))
    return false;
  errno = 0;
  char *end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(v))
    return false;
  out = float(v);
  return true;
}

/// A flag without a value that sets one option.
struct Switch {
  const char *shortName, *longName;
  bool Options::*field;
  bool value;
};
constexpr Switch kSwitches[] = {
    {nullptr, "--ignore-eos", &Options::ignoreEos, true},
    {"-e", "--escape", &Options::escape, true},
    {"-i", "--interactive", &Options::interactive, true},
    {nullptr, "--no-display-prompt", &Options::displayPrompt, false},
    {nullptr, "--tokenize", &Options::tokenizeOnly, true},
    {nullptr, "--no-timing", &Options::timing, false},
    {nullptr, "--warmup", &Options::warmup, true},
};

const Switch *findSwitch(const std::string &flag) {
  for (const Switch &sw : kSwitches)
    if (flag == sw.longName || (sw.shortName && flag == sw.shortName))
      return &sw;
  return nullptr;
}

} // namespace

bool parseArgs(int argc, const char *const *argv, Options &opts,
               std::string &error) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string flag = arg, inlineValue;
    bool hasInline = false;
    if (arg.size() > 2 && arg[0] == '-' && arg[1] == '-') {
      size_t eq = arg.find('=');
      if (eq != std::string::npos) {
        flag = arg.substr(0, eq);
        inlineValue = arg.substr(eq + 1);
        hasInline = true;
      }
    }
    // Fetches the flag's value into V; false (with error set) if missing.
    std::string v;
    auto value = [&]() -> bool {
      if (hasInline) {
        v = inlineValue;
        return true;
      }
      if (i + 1 >= argc) {
        error = "missing value for " + flag;
        return false;
      }
      v = argv[++i];
      return true;
    };
    auto noValue = [&]() -> bool {
      if (hasInline) {
        error = flag + " takes no value";
        return false;
      }
      return true;
    };
    // A value that must not be empty (`what`: "file name", "text").
    auto nonEmptyValue = [&](const char *what) -> bool {
      if (!value())
        return false;
      if (v.empty()) {
        error = std::string("empty ") + what + " for " + flag;
        return false;
      }
      return true;
    };
    auto intIn = [&](int64_t &out, int64_t lo, int64_t hi,
                     const char *range) -> bool {
      if (!value())
        return false;
      if (!parseInt(v, out)) {
        error =
            "invalid value '" + v + "' for " + flag + ": expected an integer";
        return false;
      }
      if (out < lo || out > hi) {
        error =
            "value " + v + " for " + flag + " is out of range (" + range + ")";
        return false;
      }
      return true;
    };
    auto floatIn = [&](float &out, float lo, float hi, bool loOpen,
                       const char *range) -> bool {
      if (!value())
        return false;
      if (!parseFloat(v, out)) {
        error = "invalid value '" + v + "' for " + flag + ": expected a number";
        return false;
      }
      if (out < lo || (loOpen && out == lo) || out > hi) {
        error =
            "value " + v + " for " + flag + " is out of range (" + range + ")";
        return false;
      }
      return true;
    };

    int64_t n = 0;
    if (const Switch *sw = findSwitch(flag)) {
      if (!noValue())
        return false;
      opts.*(sw->field) = sw->value;
    } else if (flag == "-h" || flag == "--help") {
      if (!noValue())
        return false;
      opts.help = true;
      return true;
    } else if (flag == "--version") {
      if (!noValue())
        return false;
      opts.version = true;
      return true;
    } else if (flag == "--info") {
      if (!noValue())
        return false;
      opts.info = true;
    } else if (flag == "-p" || flag == "--prompt") {
      if (!value())
        return false;
      opts.prompt = v;
      opts.havePrompt = true;
    } else if (flag == "-f" || flag == "--file") {
      if (!nonEmptyValue("file name"))
        return false;
      opts.promptFile = v;
    } else if (flag == "-n" || flag == "--n-predict") {
      if (!intIn(n, -1, INT64_MAX, ">= -1"))
        return false;
      opts.nPredict = n;
    } else if (flag == "--temp") {
      if (!floatIn(opts.sampling.temperature, 0, 1e6f, false, ">= 0"))
        return false;
    } else if (flag == "--top-k") {
      if (!intIn(n, 0, INT32_MAX, ">= 0"))
        return false;
      opts.sampling.topK = int32_t(n);
    } else if (flag == "--top-p") {
      if (!floatIn(opts.sampling.topP, 0, 1, false, "0 to 1"))
        return false;
    } else if (flag == "--min-p") {
      if (!floatIn(opts.sampling.minP, 0, 1, false, "0 to 1"))
        return false;
    } else if (flag == "--repeat-penalty") {
      if (!floatIn(opts.sampling.repeatPenalty, 0, 1e6f, true, "> 0"))
        return false;
    } else if (flag == "--repeat-last-n") {
      if (!intIn(n, -1, INT32_MAX, ">= -1"))
        return false;
      opts.sampling.repeatLastN = int32_t(n);
    } else if (flag == "-s" || flag == "--seed") {
      if (!value())
        return false;
      if (v == "-1") {
        opts.haveSeed = false;
        continue;
      }
      errno = 0;
      char *end = nullptr;
      unsigned long long s = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || !std::isdigit((unsigned char)v[0]) || *end != '\0' ||
          errno != 0) {
        error = "invalid value '" + v + "' for " + flag +
                ": expected -1 or an integer in [0, 2^64)";
        return false;
      }
      opts.sampling.seed = s;
      opts.haveSeed = true;
    } else if (flag == "-t" || flag == "--threads") {
      if (!intIn(n, 1, 4096, "1 to 4096"))
        return false;
      opts.threads = int32_t(n);
    } else if (flag == "--no-bos" || flag == "--bos") {
      if (!noValue())
        return false;
      opts.addBos = flag == "--bos" ? 1 : 0;
    } else if (flag == "-c" || flag == "--ctx-size") {
      if (!intIn(n, 0, INT64_MAX, ">= 0"))
        return false;
      opts.ctxSize = n;
    } else if (flag == "-r" || flag == "--reverse-prompt") {
      if (!nonEmptyValue("text"))
        return false;
      opts.reversePrompts.push_back(v);
    } else if (flag == "--n-probs") {
      if (!intIn(n, 0, 1 << 20, "0 to 1048576"))
        return false;
      opts.nProbs = int32_t(n);
    } else if (flag == "--logits-out") {
      if (!nonEmptyValue("file name"))
        return false;
      opts.logitsOut = v;
    } else if (flag == "--perplexity") {
      if (!nonEmptyValue("file name"))
        return false;
      opts.perplexityFile = v;
    } else if (flag == "--attention-out") {
      if (!nonEmptyValue("file name"))
        return false;
      opts.attentionOut = v;
    } else if (!arg.empty() && arg[0] == '-') {
      error = "unknown flag " + flag + " (see --help)";
      return false;
    } else {
      error = "unexpected argument '" + arg + "' (use -p to give a prompt)";
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
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    switch (text[++i]) {
    case 'n':
      out += '\n';
      break;
    case 't':
      out += '\t';
      break;
    case 'r':
      out += '\r';
      break;
    case '\\':
      out += '\\';
      break;
    case '"':
      out += '"';
      break;
    case '\'':
      out += '\'';
      break;
    default: // not an escape: kept as written
      out += '\\';
      out += text[i];
    }
  }
  return out;
}

namespace {

/// What a file of type `mode` is, for messages.
const char *describeType(mode_t mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISSOCK(mode))
    return "a socket";
  return "of an unknown type";
}

/// Reads the prompt from `fd`, `name` in messages ("'FILE'" or "standard
/// input"); see loadPromptFile.
bool readPrompt(int fd, const std::string &name, std::string &prompt,
                std::string &error) {
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    error = "cannot read the prompt from " + name + ": " + std::strerror(errno);
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    error = "cannot read the prompt from " + name + ": it is a directory";
    return false;
  }
  if (S_ISBLK(st.st_mode) || (S_ISCHR(st.st_mode) && !::isatty(fd))) {
    error = "cannot read the prompt from " + name + ": not a regular file (" +
            describeType(st.st_mode) + ")";
    return false;
  }
  if (S_ISREG(st.st_mode) && uint64_t(st.st_size) > kMaxPromptBytes) {
    error = "the prompt in " + name + " is " + std::to_string(st.st_size) +
            " bytes, above the limit of " + std::to_string(kMaxPromptBytes) +
            " (256 MiB)";
    return false;
  }
  prompt.clear();
  if (S_ISREG(st.st_mode))
    prompt.reserve(size_t(st.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      error =
          "cannot read the prompt from " + name + ": " + std::strerror(errno);
      return false;
    }
    if (n == 0)
      return true;
    if (prompt.size() + size_t(n) > kMaxPromptBytes) {
      error = "the prompt in " + name + " is above the limit of " +
              std::to_string(kMaxPromptBytes) + " bytes (256 MiB)";
      return false;
    }
    prompt.append(buf, size_t(n));
  }
}

} // namespace

bool loadPromptFile(Options &opts, std::string &error) {
  if (opts.promptFile.empty())
    return true;
  if (opts.promptFile == "-") {
    // Standard input, like tfm-tokenize's TEXT "-".
    if (!readPrompt(0, "standard input", opts.prompt, error))
      return false;
  } else {
    std::string name = "'" + opts.promptFile + "'";
    int fd = ::open(opts.promptFile.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      error =
          "cannot read the prompt from " + name + ": " + std::strerror(errno);
      return false;
    }
    bool ok = readPrompt(fd, name, opts.prompt, error);
    ::close(fd);
    if (!ok)
      return false;
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
  std::string p = progName ? progName : "model";
  return "usage: " + p + R"( [options]

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
                         is allocated for N positions, and a prompt plus
                         -n that does not fit is an error
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
  --warmup               evaluate the prompt once, untimed, before the timed
                         run (as llama-bench's warm-up run), so the timing
                         line leaves out first-call costs
  -h, --help             show this help
  --version              show the model name, architecture and ABI version
  --info                 show the weights' bytes and bits per weight (all, per
                         encoding) and the KV cache's bytes (-c N too); exit

The sampling chain is: repetition penalty, top-k, temperature, top-p, min-p.
Ctrl-C stops the generation: the text so far, a newline and the timing line
are printed, and the exit code is 130.
Exit codes: 0 success, 2 bad arguments or input, 1 other failures, 130
interrupted.
)";
}

} // namespace rt
} // namespace tfm
