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

#include <fmt/format.h>

namespace tfm {
namespace rt {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point Start) {
  return std::chrono::duration<double>(Clock::now() - Start).count();
}

/// Closes a FILE* on scope exit.
struct FileCloser {
  void operator()(std::FILE *F) const {
    if (F)
      std::fclose(F);
  }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

/// fmt::print without its exception on a failed write (the runtime is built
/// without exceptions, so it would abort): the failure stays in ferror(F).
template <typename... Args>
void print(std::FILE *F, fmt::format_string<Args...> Format, Args &&...A) {
  std::string Text = fmt::format(Format, std::forward<Args>(A)...);
  std::fwrite(Text.data(), 1, Text.size(), F);
}

/// Writes `rows` logits rows; false on a short write.
bool writeRows(std::FILE *F, const float *Data, int64_t Rows, int64_t Vocab) {
  // The format is little-endian float32; every host tfmc targets is
  // little-endian, so the in-memory bytes are the file bytes.
  static_assert(sizeof(float) == 4, "float32 expected");
  size_t Count = size_t(Rows * Vocab);
  return std::fwrite(Data, sizeof(float), Count, F) == Count;
}

} // namespace

int generateTokens(TfmSession *session, const std::vector<int32_t> &prompt,
                   const GenerateConfig &config, Sampler &sampler,
                   const std::function<void(int32_t)> &onToken,
                   GenerateStats &stats, std::string &error) {
  const TfmModelInfo &M = *tfm_session_model(session);
  const int64_t Ctx = tfm_session_context(session), Vocab = M.vocab_size;
  const int64_t P = int64_t(prompt.size());
  const int64_t Start0 = config.continueSession ? tfm_session_pos(session) : 0;
  stats = GenerateStats();
  stats.promptTokens = P;
  if (P == 0) {
    error = "nothing to evaluate: the prompt is empty and no BOS is added";
    return 2;
  }
  if (P > Ctx - Start0) {
    error = Start0 == 0
                ? fmt::format("the prompt has {} tokens but the context length "
                              "is {}",
                              P, Ctx)
                : fmt::format("the input has {} tokens but only {} of the "
                              "context's {} positions are left",
                              P, Ctx - Start0, Ctx);
    return 2;
  }
  for (int32_t T : prompt)
    if (T < 0 || T >= Vocab) {
      error =
          fmt::format("prompt token id {} is out of range [0, {})", T, Vocab);
      return 2;
    }
  // The last generated token is printed but never evaluated, so it needs no
  // cache slot: with P prompt tokens, Ctx - P + 1 tokens fit (as llama2.c).
  int64_t Room = Ctx - Start0 - P + 1;
  int64_t N = config.nPredict < 0 ? Room : config.nPredict;
  if (N > Room) {
    if (config.diag && config.nPredict >= 0)
      print(config.diag,
            "note: -n {} does not fit in the context ({} tokens in it, "
            "context length {}); generating at most {} tokens\n",
            config.nPredict, Start0 + P, Ctx, Room);
    N = Room;
  }

  FilePtr Owned;
  std::FILE *LogitsFile = config.logitsFile;
  if (!LogitsFile && !config.logitsOut.empty()) {
    Owned.reset(std::fopen(config.logitsOut.c_str(), "wb"));
    if (!Owned) {
      error = fmt::format("cannot open '{}' for --logits-out: {}",
                          config.logitsOut, std::strerror(errno));
      return 2;
    }
    LogitsFile = Owned.get();
  }
  auto writeFailed = [&]() {
    error = fmt::format("cannot write --logits-out file '{}': {}",
                        config.logitsOut, std::strerror(errno));
    return 1;
  };
  auto stopRequested = [&] {
    return config.stopRequested && config.stopRequested();
  };

  if (!config.continueSession)
    tfm_session_reset(session);
  for (int32_t T : prompt)
    sampler.accept(T);

  // Prefill: all prompt rows are needed only for --logits-out.
  std::vector<float> Rows;
  if (LogitsFile)
    Rows.resize(size_t(P * Vocab));
  Clock::time_point Start = Clock::now();
  float *PromptRows = LogitsFile ? Rows.data() : nullptr;
  if (config.attention)
    config.attention->resize(size_t(M.n_layers * M.n_heads * P * (Start0 + P)));
  if ((config.attention
           ? tfm_session_eval_attention(session, prompt.data(), P, PromptRows,
                                        config.attention->data())
           : tfm_session_eval(session, prompt.data(), P, PromptRows)) != 0) {
    error = tfm_session_error(session);
    return 2;
  }
  stats.promptSeconds = secondsSince(Start);
  if (LogitsFile && !writeRows(LogitsFile, Rows.data(), P, Vocab))
    return writeFailed();

  Start = Clock::now();
  std::vector<float> Logits(tfm_session_last_logits(session),
                            tfm_session_last_logits(session) + Vocab);
  for (int64_t I = 0; I < N; ++I) {
    if (stopRequested()) {
      stats.interrupted = true;
      break;
    }
    std::string Probs;
    if (config.nProbs > 0 && config.probsOut)
      Probs = probabilityLine(Logits.data(), Vocab, config.nProbs);
    int32_t Next = sampler.sample(Logits.data(), Vocab);
    if (std::find(config.stopTokens.begin(), config.stopTokens.end(), Next) !=
        config.stopTokens.end()) {
      stats.stoppedByToken = true;
      break;
    }
    sampler.accept(Next);
    ++stats.generatedTokens;
    onToken(Next);
    if (!Probs.empty())
      print(config.probsOut, "probs: {}\n", Probs);
    if (I + 1 == N || stopRequested()) {
      // The last token's logits would never be used: it stays pending.
      stats.pendingToken = Next;
      stats.interrupted = I + 1 < N;
      break;
    }
    if (tfm_session_eval(session, &Next, 1, Logits.data()) != 0) {
      error = tfm_session_error(session);
      return 1;
    }
    ++stats.decodeEvals;
    if (LogitsFile && !writeRows(LogitsFile, Logits.data(), 1, Vocab))
      return writeFailed();
  }
  stats.decodeSeconds = secondsSince(Start);
  if (Owned && std::fclose(Owned.release()) != 0)
    return writeFailed();
  return 0;
}

double PerplexityStats::perplexity() const {
  return scored ? std::exp(nll / double(scored)) : 0.0;
}

int scoreTokens(TfmSession *session, const std::vector<int32_t> &tokens,
                int64_t window, PerplexityStats &stats, std::string &error) {
  const int64_t Vocab = tfm_session_model(session)->vocab_size;
  const int64_t N = int64_t(tokens.size());
  stats = PerplexityStats();
  std::vector<float> Rows;
  for (int64_t Start = 0; Start + 1 < N; Start += window) {
    int64_t T = std::min(window, N - Start);
    Rows.resize(size_t(T * Vocab));
    tfm_session_reset(session);
    if (tfm_session_eval(session, tokens.data() + Start, T, Rows.data()) != 0) {
      error = tfm_session_error(session);
      return 2;
    }
    // Row I predicts token I + 1: log-softmax in double.
    for (int64_t I = 0; I + 1 < T; ++I) {
      const float *L = Rows.data() + I * Vocab;
      double Max = *std::max_element(L, L + Vocab), Sum = 0;
      for (int64_t V = 0; V < Vocab; ++V)
        Sum += std::exp(double(L[V]) - Max);
      stats.nll -=
          double(L[tokens[size_t(Start + I + 1)]]) - Max - std::log(Sum);
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
  float Max = *std::max_element(logits, logits + n);
  double Sum = 0;
  for (int64_t I = 0; I < n; ++I)
    Sum += std::exp(double(logits[I]) - double(Max));
  std::vector<int32_t> Ids(static_cast<size_t>(n));
  for (int64_t I = 0; I < n; ++I)
    Ids[size_t(I)] = int32_t(I);
  size_t K = size_t(std::min<int64_t>(count, n));
  // Highest logit first; ties by lower id.
  std::partial_sort(
      Ids.begin(), Ids.begin() + K, Ids.end(), [&](int32_t A, int32_t B) {
        return logits[A] != logits[B] ? logits[A] > logits[B] : A < B;
      });
  std::string Line;
  for (size_t I = 0; I < K; ++I)
    Line += fmt::format("{}{} {:.6g}", I ? " " : "", Ids[I],
                        std::exp(double(logits[Ids[I]]) - double(Max)) / Sum);
  return Line;
}

std::string timingLine(const GenerateStats &S) {
  auto Rate = [](int64_t N, double Secs) {
    return Secs > 0 ? double(N) / Secs : 0.0;
  };
  return fmt::format("prompt: {} tokens, {:.1f} tok/s | generated: {} tokens, "
                     "{:.1f} tok/s",
                     S.promptTokens, Rate(S.promptTokens, S.promptSeconds),
                     S.generatedTokens, Rate(S.decodeEvals, S.decodeSeconds));
}

bool parseTokenIds(const std::string &text, int64_t vocabSize,
                   std::vector<int32_t> &ids, std::string &error) {
  ids.clear();
  size_t I = 0;
  while (I < text.size()) {
    if (std::isspace((unsigned char)text[I])) {
      ++I;
      continue;
    }
    size_t J = I;
    while (J < text.size() && !std::isspace((unsigned char)text[J]))
      ++J;
    std::string Word = text.substr(I, J - I);
    char *End = nullptr;
    errno = 0;
    long long V = std::strtoll(Word.c_str(), &End, 10);
    if (*End != '\0' || errno != 0 || !std::isdigit((unsigned char)Word[0])) {
      error = fmt::format("'{}' is not a token id (this model has no "
                          "tokenizer: the prompt is token ids separated by "
                          "spaces)",
                          Word);
      return false;
    }
    if (V >= vocabSize) {
      error = fmt::format("token id {} is out of range [0, {})", V, vocabSize);
      return false;
    }
    ids.push_back(int32_t(V));
    I = J;
  }
  return true;
}

namespace {

/// The executable's stdout, remembering why the first flush failed: the
/// failed flush drops the buffer, so later ones succeed and errno moves on.
struct Output {
  std::FILE *F;
  int Errno = 0;
  void flush() {
    if (std::fflush(F) != 0 && Errno == 0)
      Errno = errno;
  }
  /// Flushes; returns the reason of the first failed write, or 0.
  int finish() {
    flush();
    return Errno ? Errno : std::ferror(F) ? EIO : 0;
  }
};

/// Set by SIGINT (Ctrl-C) while tfmMain runs.
volatile std::sig_atomic_t Interrupted = 0;
extern "C" void onInterrupt(int) { Interrupted = 1; }

/// One line of standard input without its newline; false at EOF, on an
/// error or when Ctrl-C interrupts the read.
bool readLine(std::string &Line) {
  Line.clear();
  for (;;) {
    int C = std::fgetc(stdin);
    if (C == EOF)
      return !Line.empty() && !Interrupted && !std::ferror(stdin);
    if (C == '\n')
      break;
    Line += char(C);
  }
  if (!Line.empty() && Line.back() == '\r')
    Line.pop_back();
  return !Interrupted;
}

int runMain(const TfmModelInfo &model, int argc, const char *const *argv,
            Output &Out, std::FILE *err, const char *Prog) {
  std::FILE *out = Out.F;
  Options Opts;
  std::string Error;
  auto usageFail = [&](const std::string &Message) {
    print(err, "{}: error: {}\n", Prog, Message);
    return 2;
  };
  if (!parseArgs(argc, argv, Opts, Error))
    return usageFail(Error);
  if (Opts.help) {
    print(out, "{}", usageText(Prog));
    return 0;
  }
  if (Opts.version) {
    print(out,
          "{} ({}): {} layers, dim {}, {} heads ({} kv), vocab {}, "
          "context {}\ntfmrt ABI {}\n",
          model.name ? model.name : "?", model.arch ? model.arch : "?",
          model.n_layers, model.dim, model.n_heads, model.n_kv_heads,
          model.vocab_size, model.context_length, model.abi_version);
    return 0;
  }
  if (!Opts.perplexityFile.empty()) {
    if (Opts.havePrompt || !Opts.promptFile.empty() || Opts.interactive)
      return usageFail("--perplexity reads its text from its FILE: no -p, -f "
                       "or -i with it");
    Opts.promptFile = Opts.perplexityFile;
  }
  if (!loadPromptFile(Opts, Error))
    return usageFail(Error);
  if (Opts.escape)
    Opts.prompt = processEscapes(Opts.prompt);
  const int64_t Ctx = Opts.ctxSize ? Opts.ctxSize : model.context_length;
  if (Ctx > model.context_length)
    return usageFail(fmt::format("-c {} exceeds the compiled context length "
                                 "{} (tfmc's description sets it)",
                                 Opts.ctxSize, model.context_length));

  // Every output is opened before anything is printed or evaluated.
  FilePtr LogitsFile;
  if (!Opts.logitsOut.empty() && !Opts.tokenizeOnly) {
    LogitsFile.reset(std::fopen(Opts.logitsOut.c_str(), "wb"));
    if (!LogitsFile)
      return usageFail(fmt::format("cannot open '{}' for --logits-out: {}",
                                   Opts.logitsOut, std::strerror(errno)));
  }

  FilePtr AttentionFile;
  if (!Opts.attentionOut.empty() && !Opts.tokenizeOnly) {
    if (!model.probe_attention)
      return usageFail("--attention-out needs a model compiled with tfmc "
                       "--probes=attention");
    AttentionFile.reset(std::fopen(Opts.attentionOut.c_str(), "wb"));
    if (!AttentionFile)
      return usageFail(fmt::format("cannot open '{}' for --attention-out: {}",
                                   Opts.attentionOut, std::strerror(errno)));
  }

  // Tokenizer (optional) and the prompt's ids.
  std::unique_ptr<Tokenizer> Tok;
  if (model.tokenizer) {
    Tok = Tokenizer::deserialize(model.tokenizer, size_t(model.tokenizer_bytes),
                                 Error);
    if (!Tok) {
      print(err, "{}: error: embedded tokenizer is invalid: {}\n", Prog, Error);
      return 1;
    }
  }
  // In interactive mode without a prompt, the first line read is the prompt.
  bool PromptFromInput = Opts.interactive && !Opts.havePrompt;
  if (PromptFromInput) {
    print(err, "> ");
    std::fflush(err);
    if (!readLine(Opts.prompt))
      return 0;
  }
  std::vector<int32_t> Prompt;
  std::vector<int32_t> Stops;
  if (Tok) {
    // BOS per the tokenizer's convention (SentencePiece yes, GPT-2 no, as
    // tfm-tokenize and Hugging Face); an empty prompt starts from BOS.
    bool AddBos = Opts.addBos >= 0
                      ? Opts.addBos == 1
                      : Tok->addBosByDefault() || Opts.prompt.empty();
    Prompt = Tok->encode(Opts.prompt, AddBos);
    if (AddBos && Prompt.empty())
      return usageFail("the prompt is empty and the vocabulary has no BOS "
                       "token to start from");
    if (!Opts.ignoreEos)
      Stops = {Tok->eos(), Tok->bos()};
  } else if (!parseTokenIds(Opts.prompt, model.vocab_size, Prompt, Error)) {
    return usageFail(Error);
  }
  if (Opts.tokenizeOnly) {
    std::string Line;
    for (size_t I = 0; I < Prompt.size(); ++I)
      Line += fmt::format("{}{}", I ? " " : "", Prompt[I]);
    print(out, "{}\n", Line);
    return 0;
  }
  if (Prompt.empty())
    return usageFail(Tok ? "the prompt is empty and --no-bos leaves nothing "
                           "to evaluate"
                         : "this model has no tokenizer: give the prompt as "
                           "token ids with -p, e.g. -p \"1 450\"");
  if (int64_t(Prompt.size()) > Ctx && Opts.perplexityFile.empty())
    return usageFail(fmt::format("the prompt has {} tokens but the context "
                                 "length is {}",
                                 Prompt.size(), Ctx));

  char CreateErr[1024];
  TfmSession *Session =
      tfm_session_create(&model, Opts.threads, CreateErr, sizeof CreateErr);
  if (!Session)
    return usageFail(CreateErr);
  std::unique_ptr<TfmSession, void (*)(TfmSession *)> Owner(
      Session, tfm_session_destroy);
  if (tfm_session_set_context(Session, Ctx) != 0)
    return usageFail(tfm_session_error(Session));

  if (!Opts.perplexityFile.empty()) {
    PerplexityStats PS;
    if (scoreTokens(Session, Prompt, Ctx, PS, Error) != 0)
      return usageFail(Error);
    print(out,
          "perplexity: {:.6f} ({} tokens scored, mean -ln p {:.6f}, "
          "windows of {} tokens)\n",
          PS.perplexity(), PS.scored, PS.nll / double(PS.scored), Ctx);
    return 0;
  }

  SamplerParams SP = Opts.sampling;
  if (!Opts.haveSeed) {
    SP.seed =
        uint64_t(std::chrono::system_clock::now().time_since_epoch().count());
    // Greedy decoding draws no random numbers: its seed says nothing.
    if (SP.temperature > 0)
      print(err, "seed: {}\n", SP.seed);
  }
  if (SP.repeatLastN < 0)
    SP.repeatLastN = int32_t(std::min<int64_t>(Ctx, INT32_MAX));
  Sampler Samp(SP);

  // The tail of the generated text, for -r.
  std::string Tail;
  size_t Longest = 0;
  for (const std::string &R : Opts.reversePrompts)
    Longest = std::max(Longest, R.size());
  bool SawReversePrompt = false;

  GenerateConfig Config;
  Config.nPredict = Opts.nPredict;
  Config.stopTokens = Stops;
  Config.logitsOut = Opts.logitsOut;
  Config.logitsFile = LogitsFile.get();
  Config.diag = err;
  Config.nProbs = Opts.nProbs;
  Config.probsOut = err;
  Config.stopRequested = [&] { return Interrupted || SawReversePrompt; };

  // Stream text: with a tokenizer through TokenDecoder (BOS yields nothing
  // and tells it to drop the dummy-prefix space), else ids.
  std::unique_ptr<TokenDecoder> Decoder;
  if (Tok)
    Decoder = std::make_unique<TokenDecoder>(*Tok);
  bool FirstId = true;
  auto emit = [&](int32_t Id, bool Show) {
    std::string Text;
    if (Decoder) {
      Text = Decoder->push(Id);
    } else {
      Text = fmt::format("{}{}", FirstId ? "" : " ", Id);
      FirstId = FirstId && !Show; // the first id shown has no space
    }
    if (Show && !Text.empty())
      std::fwrite(Text.data(), 1, Text.size(), out);
    return Text;
  };
  for (int32_t Id : Prompt)
    emit(Id, Opts.displayPrompt && !PromptFromInput);
  Out.flush();

  GenerateStats Total, Stats;
  auto onToken = [&](int32_t Id) {
    std::string Text = emit(Id, true);
    Out.flush();
    if (Longest == 0)
      return;
    Tail += Text;
    if (Tail.size() > 2 * Longest + 64)
      Tail.erase(0, Tail.size() - Longest);
    for (const std::string &R : Opts.reversePrompts)
      if (Tail.size() >= R.size() &&
          Tail.compare(Tail.size() - R.size(), R.size(), R) == 0)
        SawReversePrompt = true;
  };
  bool TextOpen = true; // the current turn's text still needs its '\n'
  auto finishText = [&] {
    if (!TextOpen)
      return;
    TextOpen = false;
    if (Decoder) {
      std::string Rest = Decoder->finish();
      std::fwrite(Rest.data(), 1, Rest.size(), out);
    }
    std::fputc('\n', out);
    Out.flush();
  };
  auto addStats = [&] {
    Total.promptTokens += Stats.promptTokens;
    Total.generatedTokens += Stats.generatedTokens;
    Total.decodeEvals += Stats.decodeEvals;
    Total.promptSeconds += Stats.promptSeconds;
    Total.decodeSeconds += Stats.decodeSeconds;
  };
  std::vector<float> Attention;
  Config.attention = AttentionFile ? &Attention : nullptr;
  int Rc = generateTokens(Session, Prompt, Config, Samp, onToken, Stats, Error);
  addStats();
  // The first prompt's attention only (interactive turns run unprobed).
  Config.attention = nullptr;
  if (Rc == 0 && AttentionFile) {
    int64_t P = int64_t(Prompt.size());
    if (!writeNpy(AttentionFile.get(), {model.n_layers, model.n_heads, P, P},
                  Attention.data()) ||
        std::fclose(AttentionFile.release()) != 0) {
      Error = fmt::format("cannot write --attention-out file '{}': {}",
                          Opts.attentionOut, std::strerror(errno));
      Rc = 1;
    }
  }
  // Interactive turns: each line read continues the conversation at the
  // current position; the KV cache is kept, the pending last token is
  // evaluated first.
  while (Rc == 0 && Opts.interactive && !Interrupted) {
    finishText();
    print(err, "> ");
    std::fflush(err);
    std::string Line;
    if (!readLine(Line))
      break;
    std::vector<int32_t> Input;
    if (Stats.pendingToken >= 0)
      Input.push_back(Stats.pendingToken);
    if (Tok) {
      std::vector<int32_t> Ids = Tok->encode(Line, /*addBos=*/false);
      Input.insert(Input.end(), Ids.begin(), Ids.end());
    } else if (!parseTokenIds(Line, model.vocab_size, Prompt, Error)) {
      print(err, "{}: error: {}\n", Prog, Error);
      continue;
    } else {
      Input.insert(Input.end(), Prompt.begin(), Prompt.end());
    }
    if (Input.empty())
      continue;
    // The pending token's text was shown; the user's was typed.
    for (size_t I = Stats.pendingToken >= 0 ? 1 : 0; I < Input.size(); ++I)
      emit(Input[I], false);
    SawReversePrompt = false;
    Tail.clear();
    Config.continueSession = true;
    TextOpen = true;
    Rc = generateTokens(Session, Input, Config, Samp, onToken, Stats, Error);
    if (Rc == 2 && tfm_session_pos(Session) + int64_t(Input.size()) >
                       tfm_session_context(Session)) {
      print(err, "{}: the context is full: {}\n", Prog, Error);
      Rc = 0;
      break;
    }
    addStats();
  }
  finishText();
  if (Rc != 0) {
    print(err, "{}: error: {}\n", Prog, Error);
    return Rc;
  }
  if (LogitsFile && std::fclose(LogitsFile.release()) != 0) {
    print(err, "{}: error: cannot write --logits-out file '{}': {}\n", Prog,
          Opts.logitsOut, std::strerror(errno));
    return 1;
  }
  if (Opts.timing)
    print(err, "{}\n", timingLine(Total));
  return Interrupted ? 130 : 0;
}

} // namespace

int tfmMain(const TfmModelInfo &model, int argc, const char *const *argv,
            std::FILE *out, std::FILE *err) {
  const char *Prog = argc > 0 && argv[0] ? argv[0] : "model";
  Output Out{out};
  // Ctrl-C ends generation cleanly (runMain checks the flag between
  // tokens). No SA_RESTART: an interactive read returns at once.
  Interrupted = 0;
  struct sigaction Action = {}, Previous = {};
  Action.sa_handler = onInterrupt;
  sigemptyset(&Action.sa_mask);
  sigaction(SIGINT, &Action, &Previous);
  int Rc = runMain(model, argc, argv, Out, err, Prog);
  sigaction(SIGINT, &Previous, nullptr);
  // Text that never arrived (a full disk, /dev/full) is a failed run.
  if (int Errno = Out.finish()) {
    print(err, "{}: error: cannot write the output: {}\n", Prog,
          std::strerror(Errno));
    return Rc ? Rc : 1;
  }
  return Rc;
}

} // namespace rt
} // namespace tfm
