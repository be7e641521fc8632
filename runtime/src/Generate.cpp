//===- Generate.cpp - The generation loop and the executable's main -------===//
//
// See Generate.h for the output, stop and context policies.
//
//===----------------------------------------------------------------------===//

#include "tfm/runtime/Generate.h"
#include "tfm/runtime/Args.h"
#include "tfm/runtime/Npy.h"
#include "tfm/runtime/Tokenizer.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

#include <fmt/format.h>

namespace tfm {
namespace rt {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Closes a FILE* on scope exit.
struct FileCloser {
  void operator()(std::FILE *f) const {
    if (f)
      std::fclose(f);
  }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

/// fmt::print without its exception on a failed write (the runtime is built
/// without exceptions, so it would abort): the failure stays in ferror(F).
template <typename... Args>
void print(std::FILE *f, fmt::format_string<Args...> format, Args &&...a) {
  std::string text = fmt::format(format, std::forward<Args>(a)...);
  std::fwrite(text.data(), 1, text.size(), f);
}

/// Writes `rows` logits rows; false on a short write.
bool writeRows(std::FILE *f, const float *data, int64_t rows, int64_t vocab) {
  // The format is little-endian float32; every host tfmc targets is
  // little-endian, so the in-memory bytes are the file bytes.
  static_assert(sizeof(float) == 4, "float32 expected");
  size_t count = size_t(rows * vocab);
  return std::fwrite(data, sizeof(float), count, f) == count;
}

/// The first of `count` logits that is NaN or infinite, or -1.
int64_t firstNonFinite(const float *logits, int64_t count) {
  for (int64_t k = 0; k < count; ++k)
    if (!std::isfinite(logits[k]))
      return k;
  return -1;
}

/// The error for logits row `row` (of `vocab`) at context position
/// `position`, whose element `bad` is not finite.
std::string nonFiniteLogits(int64_t position, const float *row, int64_t bad) {
  return fmt::format("the logits at position {} are not finite ({} for "
                     "token {}): the model's weights or activations hold "
                     "NaN or infinity",
                     position,
                     std::isnan(row[bad]) ? "NaN"
                     : row[bad] > 0       ? "+infinity"
                                          : "-infinity",
                     bad);
}

} // namespace

int generateTokens(TfmSession *session, const std::vector<int32_t> &prompt,
                   const GenerateConfig &config, Sampler &sampler,
                   const std::function<void(int32_t)> &onToken,
                   GenerateStats &stats, std::string &error) {
  const TfmModelInfo &m = *tfm_session_model(session);
  const int64_t ctx = tfm_session_context(session), vocab = m.vocab_size;
  const int64_t p = int64_t(prompt.size());
  const int64_t start0 = config.continueSession ? tfm_session_pos(session) : 0;
  stats = GenerateStats();
  stats.promptTokens = p;
  if (p == 0) {
    error = "nothing to evaluate: the prompt is empty and no BOS is added";
    return 2;
  }
  if (p > ctx - start0) {
    error = start0 == 0
                ? fmt::format("the prompt has {} tokens but the context length "
                              "is {}",
                              p, ctx)
                : fmt::format("the input has {} tokens but only {} of the "
                              "context's {} positions are left",
                              p, ctx - start0, ctx);
    return 2;
  }
  for (int32_t t : prompt)
    if (t < 0 || t >= vocab) {
      error =
          fmt::format("prompt token id {} is out of range [0, {})", t, vocab);
      return 2;
    }
  // The last generated token is printed but never evaluated, so it needs no
  // cache slot: with P prompt tokens, Ctx - P + 1 tokens fit (as llama2.c).
  int64_t room = ctx - start0 - p + 1;
  int64_t n = config.nPredict < 0 ? room : config.nPredict;
  if (n > room) {
    if (config.diag && config.nPredict >= 0)
      print(config.diag,
            "note: -n {} does not fit in the context ({} tokens in it, "
            "context length {}); generating at most {} tokens\n",
            config.nPredict, start0 + p, ctx, room);
    n = room;
  }

  FilePtr owned;
  std::FILE *logitsFile = config.logitsFile;
  if (!logitsFile && !config.logitsOut.empty()) {
    owned.reset(std::fopen(config.logitsOut.c_str(), "wb"));
    if (!owned) {
      error = fmt::format("cannot open '{}' for --logits-out: {}",
                          config.logitsOut, std::strerror(errno));
      return 2;
    }
    logitsFile = owned.get();
  }
  auto writeFailed = [&]() {
    error = fmt::format("cannot write --logits-out file '{}': {}",
                        config.logitsOut, std::strerror(errno));
    return 1;
  };
  auto stopRequested = [&] {
    return config.stopRequested && config.stopRequested();
  };

  if (!config.continueSession) {
    if (config.warmup &&
        tfm_session_eval(session, prompt.data(), p, nullptr) != 0) {
      error = tfm_session_error(session);
      return 2;
    }
    tfm_session_reset(session);
  }
  for (int32_t t : prompt)
    sampler.accept(t);

  // Prefill: all prompt rows are needed only for --logits-out.
  std::vector<float> rows;
  if (logitsFile)
    rows.resize(size_t(p * vocab));
  Clock::time_point start = Clock::now();
  float *promptRows = logitsFile ? rows.data() : nullptr;
  if (config.attention)
    config.attention->resize(size_t(m.n_layers * m.n_heads * p * (start0 + p)));
  if ((config.attention
           ? tfm_session_eval_attention(session, prompt.data(), p, promptRows,
                                        config.attention->data())
           : tfm_session_eval(session, prompt.data(), p, promptRows)) != 0) {
    error = tfm_session_error(session);
    return 2;
  }
  stats.promptSeconds = secondsSince(start);
  if (logitsFile && !writeRows(logitsFile, rows.data(), p, vocab))
    return writeFailed();
  // NaN or infinity is no distribution to sample from: generation stops at
  // the first such logits (after --logits-out has them). Without
  // --logits-out only the prompt's last row exists.
  for (int64_t row = logitsFile ? 0 : p - 1; row < p; ++row) {
    const float *logits = logitsFile ? rows.data() + row * vocab
                                     : tfm_session_last_logits(session);
    if (int64_t bad = firstNonFinite(logits, vocab); bad >= 0) {
      error = nonFiniteLogits(start0 + row, logits, bad);
      return 1;
    }
  }

  start = Clock::now();
  std::vector<float> logits(tfm_session_last_logits(session),
                            tfm_session_last_logits(session) + vocab);
  for (int64_t i = 0; i < n; ++i) {
    if (stopRequested()) {
      stats.interrupted = true;
      break;
    }
    std::string probs;
    if (config.nProbs > 0 && config.probsOut)
      probs = probabilityLine(logits.data(), vocab, config.nProbs);
    int32_t next = sampler.sample(logits.data(), vocab);
    if (std::find(config.stopTokens.begin(), config.stopTokens.end(), next) !=
        config.stopTokens.end()) {
      stats.stoppedByToken = true;
      break;
    }
    sampler.accept(next);
    ++stats.generatedTokens;
    onToken(next);
    if (!probs.empty())
      print(config.probsOut, "probs: {}\n", probs);
    if (i + 1 == n || stopRequested()) {
      // The last token's logits would never be used: it stays pending.
      stats.pendingToken = next;
      stats.interrupted = i + 1 < n;
      break;
    }
    if (tfm_session_eval(session, &next, 1, logits.data()) != 0) {
      error = tfm_session_error(session);
      return 1;
    }
    ++stats.decodeEvals;
    if (logitsFile && !writeRows(logitsFile, logits.data(), 1, vocab))
      return writeFailed();
    if (int64_t bad = firstNonFinite(logits.data(), vocab); bad >= 0) {
      error = nonFiniteLogits(tfm_session_pos(session) - 1, logits.data(), bad);
      return 1;
    }
  }
  stats.decodeSeconds = secondsSince(start);
  if (owned && std::fclose(owned.release()) != 0)
    return writeFailed();
  return 0;
}

double PerplexityStats::perplexity() const {
  return scored ? std::exp(nll / double(scored)) : 0.0;
}

double PerplexityStats::uncertainty() const {
  if (scored < 2)
    return 0.0;
  double mean = nll / double(scored);
  double variance = std::max(0.0, nll2 / double(scored) - mean * mean);
  return perplexity() * std::sqrt(variance / double(scored - 1));
}

int scoreTokens(TfmSession *session, const std::vector<int32_t> &tokens,
                int64_t window, PerplexityStats &stats, std::string &error) {
  const int64_t vocab = tfm_session_model(session)->vocab_size;
  const int64_t n = int64_t(tokens.size());
  stats = PerplexityStats();
  std::vector<float> rows;
  for (int64_t start = 0; start + 1 < n; start += window) {
    int64_t t = std::min(window, n - start);
    rows.resize(size_t(t * vocab));
    tfm_session_reset(session);
    if (tfm_session_eval(session, tokens.data() + start, t, rows.data()) != 0) {
      error = tfm_session_error(session);
      return 2;
    }
    // Row i predicts token i + 1: log-softmax in double.
    for (int64_t i = 0; i + 1 < t; ++i) {
      const float *l = rows.data() + i * vocab;
      double max = *std::max_element(l, l + vocab), sum = 0;
      for (int64_t v = 0; v < vocab; ++v)
        sum += std::exp(double(l[v]) - max);
      double nll =
          std::log(sum) + max - double(l[tokens[size_t(start + i + 1)]]);
      stats.nll += nll;
      stats.nll2 += nll * nll;
      ++stats.scored;
    }
  }
  if (stats.scored == 0) {
    error = "--perplexity needs a text of at least two tokens";
    return 2;
  }
  return 0;
}

std::string probabilityLine(const float *logits, int64_t n, int32_t count) {
  // Softmax at temperature 1, in double so that tiny probabilities survive.
  float max = *std::max_element(logits, logits + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i)
    sum += std::exp(double(logits[i]) - double(max));
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    ids[size_t(i)] = int32_t(i);
  size_t k = size_t(std::min<int64_t>(count, n));
  // Highest logit first; ties by lower id.
  std::partial_sort(
      ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
        return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
      });
  std::string line;
  for (size_t i = 0; i < k; ++i)
    line += fmt::format("{}{} {:.6g}", i ? " " : "", ids[i],
                        std::exp(double(logits[ids[i]]) - double(max)) / sum);
  return line;
}

std::string timingLine(const GenerateStats &s) {
  auto rate = [](int64_t n, double secs) {
    return secs > 0 ? double(n) / secs : 0.0;
  };
  return fmt::format("prompt: {} tokens, {:.1f} tok/s | generated: {} tokens, "
                     "{:.1f} tok/s",
                     s.promptTokens, rate(s.promptTokens, s.promptSeconds),
                     s.generatedTokens, rate(s.decodeEvals, s.decodeSeconds));
}

bool parseTokenIds(const std::string &text, int64_t vocabSize,
                   std::vector<int32_t> &ids, std::string &error) {
  ids.clear();
  size_t i = 0;
  while (i < text.size()) {
    if (std::isspace((unsigned char)text[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && !std::isspace((unsigned char)text[j]))
      ++j;
    std::string word = text.substr(i, j - i);
    char *end = nullptr;
    errno = 0;
    long long v = std::strtoll(word.c_str(), &end, 10);
    if (*end != '\0' || errno != 0 || !std::isdigit((unsigned char)word[0])) {
      error = fmt::format("'{}' is not a token id (this model has no "
                          "tokenizer: the prompt is token ids separated by "
                          "spaces)",
                          word);
      return false;
    }
    if (v >= vocabSize) {
      error = fmt::format("token id {} is out of range [0, {})", v, vocabSize);
      return false;
    }
    ids.push_back(int32_t(v));
    i = j;
  }
  return true;
}

namespace {

/// The executable's stdout, remembering why the first write or flush
/// failed: a failed write drops the buffer, so later ones succeed and errno
/// moves on (a short fwrite is where a full disk shows once the text
/// outgrows stdio's buffer).
struct Output {
  std::FILE *f;
  int firstErrno = 0;
  void failed() {
    if (firstErrno == 0)
      firstErrno = errno ? errno : EIO;
  }
  void write(std::string_view text) {
    if (std::fwrite(text.data(), 1, text.size(), f) != text.size())
      failed();
  }
  void flush() {
    if (std::fflush(f) != 0)
      failed();
  }
  /// Flushes; returns the reason of the first failed write, or 0.
  int finish() {
    flush();
    return firstErrno ? firstErrno : std::ferror(f) ? EIO : 0;
  }
};

/// print to the executable's stdout.
template <typename... Args>
void print(Output &out, fmt::format_string<Args...> format, Args &&...a) {
  out.write(fmt::format(format, std::forward<Args>(a)...));
}

/// --info: what the executable holds, from the fields tfmc filled in
/// (ModelAbi.h), and the KV cache at the compiled context and at -c `ctx`
/// (0: not given).
void printInfo(Output &out, const TfmModelInfo &model, int64_t ctx) {
  auto bits = [](int64_t bytes, int64_t values) {
    return values ? 8.0 * double(bytes) / double(values) : 0.0;
  };
  // One summary line, then per encoding its bytes and bits per weight.
  print(out, "weight storage:");
  for (int64_t i = 0; i < model.n_storages; ++i)
    print(out, "{} {} {}", i ? "," : "", model.storages[i].weights,
          model.storages[i].encoding);
  print(out, "\n");
  for (int64_t i = 0; i < model.n_storages; ++i) {
    const TfmWeightStorage &s = model.storages[i];
    print(out,
          "  {}: {} weights, {} values, {} bytes, {:.3f} bits per weight\n",
          s.encoding, s.weights, s.values, s.data_bytes,
          bits(s.data_bytes, s.values));
  }
  print(out, "weight bytes: {} (blob {} with alignment padding)\n",
        model.weight_data_bytes, model.weights_bytes);
  print(out, "weight values: {} (matrices {})\n", model.weight_values,
        model.matrix_values);
  print(out, "bits per weight: {:.3f} matrices, {:.3f} overall\n",
        bits(model.matrix_data_bytes, model.matrix_values),
        bits(model.weight_data_bytes, model.weight_values));
  int64_t perPosition = model.n_layers * 2 * model.n_kv_heads * model.head_dim *
                        int64_t(sizeof(float));
  print(out, "kv cache bytes: {} at the compiled context {}\n",
        model.kv_cache_floats * int64_t(sizeof(float)), model.context_length);
  if (ctx)
    print(out, "kv cache bytes: {} at -c {}\n", perPosition * ctx, ctx);
}

/// Set by SIGINT (Ctrl-C) while tfmMain runs.
volatile std::sig_atomic_t interrupted = 0;
extern "C" void onInterrupt(int) { interrupted = 1; }

/// One line of standard input without its newline; false at EOF, on an
/// error or when Ctrl-C interrupts the read.
bool readLine(std::string &line) {
  line.clear();
  for (;;) {
    int c = std::fgetc(stdin);
    if (c == EOF)
      return !line.empty() && !interrupted && !std::ferror(stdin);
    if (c == '\n')
      break;
    line += char(c);
  }
  if (!line.empty() && line.back() == '\r')
    line.pop_back();
  return !interrupted;
}

int runMain(const TfmModelInfo &model, int argc, const char *const *argv,
            Output &output, std::FILE *err, const char *prog) {
  Output &out = output;
  Options opts;
  std::string error;
  auto usageFail = [&](const std::string &message) {
    print(err, "{}: error: {}\n", prog, message);
    return 2;
  };
  if (!parseArgs(argc, argv, opts, error))
    return usageFail(error);
  if (opts.help) {
    print(out, "{}", usageText(prog));
    return 0;
  }
  if (opts.version) {
    print(out,
          "{} ({}): {} layers, dim {}, {} heads ({} kv), vocab {}, "
          "context {}\ntfmrt ABI {}\n",
          model.name ? model.name : "?", model.arch ? model.arch : "?",
          model.n_layers, model.dim, model.n_heads, model.n_kv_heads,
          model.vocab_size, model.context_length, model.abi_version);
    return 0;
  }
  if (opts.info) {
    if (opts.ctxSize > model.context_length)
      return usageFail(fmt::format("-c {} exceeds the compiled context length "
                                   "{} (tfmc's description sets it)",
                                   opts.ctxSize, model.context_length));
    printInfo(out, model, opts.ctxSize);
    return 0;
  }
  if (!opts.perplexityFile.empty()) {
    if (opts.havePrompt || !opts.promptFile.empty() || opts.interactive)
      return usageFail("--perplexity reads its text from its FILE: no -p, -f "
                       "or -i with it");
    opts.promptFile = opts.perplexityFile;
  }
  if (!loadPromptFile(opts, error))
    return usageFail(error);
  if (opts.escape)
    opts.prompt = processEscapes(opts.prompt);
  const int64_t ctx = opts.ctxSize ? opts.ctxSize : model.context_length;
  if (ctx > model.context_length)
    return usageFail(fmt::format("-c {} exceeds the compiled context length "
                                 "{} (tfmc's description sets it)",
                                 opts.ctxSize, model.context_length));

  // Every output is opened before anything is printed or evaluated.
  FilePtr logitsFile;
  if (!opts.logitsOut.empty() && !opts.tokenizeOnly) {
    logitsFile.reset(std::fopen(opts.logitsOut.c_str(), "wb"));
    if (!logitsFile)
      return usageFail(fmt::format("cannot open '{}' for --logits-out: {}",
                                   opts.logitsOut, std::strerror(errno)));
  }

  FilePtr attentionFile;
  if (!opts.attentionOut.empty() && !opts.tokenizeOnly) {
    if (!model.probe_attention)
      return usageFail("--attention-out needs a model compiled with tfmc "
                       "--probes=attention");
    attentionFile.reset(std::fopen(opts.attentionOut.c_str(), "wb"));
    if (!attentionFile)
      return usageFail(fmt::format("cannot open '{}' for --attention-out: {}",
                                   opts.attentionOut, std::strerror(errno)));
  }

  // Tokenizer (optional) and the prompt's ids.
  std::unique_ptr<Tokenizer> tok;
  if (model.tokenizer) {
    tok = Tokenizer::deserialize(model.tokenizer, size_t(model.tokenizer_bytes),
                                 error);
    if (!tok) {
      print(err, "{}: error: embedded tokenizer is invalid: {}\n", prog, error);
      return 1;
    }
  }
  // In interactive mode without a prompt, the first line read is the prompt.
  bool promptFromInput = opts.interactive && !opts.havePrompt;
  if (promptFromInput) {
    print(err, "> ");
    std::fflush(err);
    if (!readLine(opts.prompt))
      return 0;
  }
  std::vector<int32_t> prompt;
  std::vector<int32_t> stops;
  if (tok) {
    // BOS per the tokenizer's convention (SentencePiece yes, GPT-2 no, as
    // tfm-tokenize and Hugging Face); an empty prompt starts from BOS.
    bool addBos = opts.addBos >= 0
                      ? opts.addBos == 1
                      : tok->getAddBosByDefault() || opts.prompt.empty();
    prompt = tok->encode(opts.prompt, addBos);
    if (addBos && prompt.empty())
      return usageFail("the prompt is empty and the vocabulary has no BOS "
                       "token to start from");
    if (!opts.ignoreEos)
      stops = {tok->getEos(), tok->getBos()};
  } else if (!parseTokenIds(opts.prompt, model.vocab_size, prompt, error)) {
    return usageFail(error);
  }
  if (opts.tokenizeOnly) {
    std::string line;
    for (size_t i = 0; i < prompt.size(); ++i)
      line += fmt::format("{}{}", i ? " " : "", prompt[i]);
    print(out, "{}\n", line);
    return 0;
  }
  if (prompt.empty())
    return usageFail(tok ? "the prompt is empty and --no-bos leaves nothing "
                           "to evaluate"
                         : "this model has no tokenizer: give the prompt as "
                           "token ids with -p, e.g. -p \"1 450\"");
  if (int64_t(prompt.size()) > ctx && opts.perplexityFile.empty())
    return usageFail(fmt::format("the prompt has {} tokens but the context "
                                 "length is {}",
                                 prompt.size(), ctx));
  // An explicit -c is a promise about memory: a run it cannot hold is an
  // error, not a shorter generation (-n -1 fills the context). The last
  // generated token needs no cache slot.
  if (opts.ctxSize && opts.nPredict >= 0 && !opts.interactive &&
      opts.perplexityFile.empty() &&
      int64_t(prompt.size()) + opts.nPredict - 1 > ctx)
    return usageFail(fmt::format(
        "-c {} holds the prompt's {} tokens and at most {} generated ones; "
        "-n {} needs -c {} or more",
        ctx, prompt.size(), ctx - int64_t(prompt.size()) + 1, opts.nPredict,
        int64_t(prompt.size()) + opts.nPredict - 1));

  char createErr[1024];
  TfmSession *session =
      tfm_session_create(&model, opts.threads, createErr, sizeof createErr);
  if (!session)
    return usageFail(createErr);
  std::unique_ptr<TfmSession, void (*)(TfmSession *)> owner(
      session, tfm_session_destroy);
  if (tfm_session_set_context(session, ctx) != 0)
    return usageFail(tfm_session_error(session));

  if (!opts.perplexityFile.empty()) {
    PerplexityStats ps;
    if (scoreTokens(session, prompt, ctx, ps, error) != 0)
      return usageFail(error);
    print(out,
          "perplexity: {:.6f} +/- {:.6f} ({} tokens scored, mean -ln p "
          "{:.6f}, windows of {} tokens)\n",
          ps.perplexity(), ps.uncertainty(), ps.scored,
          ps.nll / double(ps.scored), ctx);
    return 0;
  }

  SamplerParams sp = opts.sampling;
  if (!opts.haveSeed) {
    sp.seed =
        uint64_t(std::chrono::system_clock::now().time_since_epoch().count());
    // Greedy decoding draws no random numbers: its seed says nothing.
    if (sp.temperature > 0)
      print(err, "seed: {}\n", sp.seed);
  }
  if (sp.repeatLastN < 0)
    sp.repeatLastN = int32_t(std::min<int64_t>(ctx, INT32_MAX));
  Sampler samp(sp);

  // The tail of the generated text, for -r.
  std::string tail;
  size_t longest = 0;
  for (const std::string &r : opts.reversePrompts)
    longest = std::max(longest, r.size());
  bool sawReversePrompt = false;

  GenerateConfig config;
  config.nPredict = opts.nPredict;
  config.stopTokens = stops;
  config.logitsOut = opts.logitsOut;
  config.logitsFile = logitsFile.get();
  config.diag = err;
  config.nProbs = opts.nProbs;
  config.probsOut = err;
  config.warmup = opts.warmup;
  config.stopRequested = [&] { return interrupted || sawReversePrompt; };

  // Stream text: with a tokenizer through TokenDecoder (BOS yields nothing
  // and tells it to drop the dummy-prefix space), else ids.
  std::unique_ptr<TokenDecoder> decoder;
  if (tok)
    decoder = std::make_unique<TokenDecoder>(*tok);
  bool firstId = true;
  auto emit = [&](int32_t id, bool show) {
    std::string text;
    if (decoder) {
      text = decoder->push(id);
    } else {
      text = fmt::format("{}{}", firstId ? "" : " ", id);
      firstId = firstId && !show; // the first id shown has no space
    }
    if (show && !text.empty())
      out.write(text);
    return text;
  };
  for (int32_t id : prompt)
    emit(id, opts.displayPrompt && !promptFromInput);
  output.flush();

  GenerateStats total, stats;
  auto onToken = [&](int32_t id) {
    std::string text = emit(id, true);
    output.flush();
    if (longest == 0)
      return;
    tail += text;
    if (tail.size() > 2 * longest + 64)
      tail.erase(0, tail.size() - longest);
    for (const std::string &r : opts.reversePrompts)
      if (tail.size() >= r.size() &&
          tail.compare(tail.size() - r.size(), r.size(), r) == 0)
        sawReversePrompt = true;
  };
  bool textOpen = true; // the current turn's text still needs its '\n'
  auto finishText = [&] {
    if (!textOpen)
      return;
    textOpen = false;
    if (decoder) {
      std::string rest = decoder->finish();
      out.write(rest);
    }
    out.write("\n");
    output.flush();
  };
  auto addStats = [&] {
    total.promptTokens += stats.promptTokens;
    total.generatedTokens += stats.generatedTokens;
    total.decodeEvals += stats.decodeEvals;
    total.promptSeconds += stats.promptSeconds;
    total.decodeSeconds += stats.decodeSeconds;
  };
  std::vector<float> attention;
  config.attention = attentionFile ? &attention : nullptr;
  int rc = generateTokens(session, prompt, config, samp, onToken, stats, error);
  addStats();
  // The first prompt's attention only (interactive turns run unprobed).
  config.attention = nullptr;
  if (rc == 0 && attentionFile) {
    int64_t p = int64_t(prompt.size());
    if (!writeNpy(attentionFile.get(), {model.n_layers, model.n_heads, p, p},
                  attention.data()) ||
        std::fclose(attentionFile.release()) != 0) {
      error = fmt::format("cannot write --attention-out file '{}': {}",
                          opts.attentionOut, std::strerror(errno));
      rc = 1;
    }
  }
  // Interactive turns: each line read continues the conversation at the
  // current position; the KV cache is kept, the pending last token is
  // evaluated first.
  while (rc == 0 && opts.interactive && !interrupted) {
    finishText();
    print(err, "> ");
    std::fflush(err);
    std::string line;
    if (!readLine(line))
      break;
    std::vector<int32_t> input;
    if (stats.pendingToken >= 0)
      input.push_back(stats.pendingToken);
    if (tok) {
      std::vector<int32_t> ids = tok->encode(line, /*addBos=*/false);
      input.insert(input.end(), ids.begin(), ids.end());
    } else if (!parseTokenIds(line, model.vocab_size, prompt, error)) {
      print(err, "{}: error: {}\n", prog, error);
      continue;
    } else {
      input.insert(input.end(), prompt.begin(), prompt.end());
    }
    if (input.empty())
      continue;
    // The pending token's text was shown; the user's was typed.
    for (size_t i = stats.pendingToken >= 0 ? 1 : 0; i < input.size(); ++i)
      emit(input[i], false);
    sawReversePrompt = false;
    tail.clear();
    config.continueSession = true;
    textOpen = true;
    rc = generateTokens(session, input, config, samp, onToken, stats, error);
    if (rc == 2 && tfm_session_pos(session) + int64_t(input.size()) >
                       tfm_session_context(session)) {
      print(err, "{}: the context is full: {}\n", prog, error);
      rc = 0;
      break;
    }
    addStats();
  }
  finishText();
  if (rc != 0) {
    print(err, "{}: error: {}\n", prog, error);
    return rc;
  }
  if (logitsFile && std::fclose(logitsFile.release()) != 0) {
    print(err, "{}: error: cannot write --logits-out file '{}': {}\n", prog,
          opts.logitsOut, std::strerror(errno));
    return 1;
  }
  if (opts.timing)
    print(err, "{}\n", timingLine(total));
  return interrupted ? 130 : 0;
}

} // namespace

int tfmMain(const TfmModelInfo &model, int argc, const char *const *argv,
            std::FILE *out, std::FILE *err) {
  const char *prog = argc > 0 && argv[0] ? argv[0] : "model";
  Output output{out};
  // Ctrl-C ends generation cleanly (runMain checks the flag between
  // tokens). No SA_RESTART: an interactive read returns at once.
  interrupted = 0;
  struct sigaction action = {}, previous = {};
  action.sa_handler = onInterrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &previous);
  int rc = runMain(model, argc, argv, output, err, prog);
  sigaction(SIGINT, &previous, nullptr);
  // Text that never arrived (a full disk, /dev/full) is a failed run.
  if (int writeErrno = output.finish()) {
    print(err, "{}: error: cannot write the output: {}\n", prog,
          std::strerror(writeErrno));
    return rc ? rc : 1;
  }
  return rc;
}

} // namespace rt
} // namespace tfm
