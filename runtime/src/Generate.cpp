//===- Generate.cpp - The generation loop and the executable's main -------===//
//
// See Generate.h for the output, stop and context policies.
//
//===----------------------------------------------------------------------===//

#include "tfm/runtime/Generate.h"
#include "tfm/runtime/Args.h"
#include "tfm/runtime/Tokenizer.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
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
  const int64_t Ctx = M.context_length, Vocab = M.vocab_size;
  const int64_t P = int64_t(prompt.size());
  stats = GenerateStats();
  stats.promptTokens = P;
  if (P == 0) {
    error = "nothing to evaluate: the prompt is empty and no BOS is added";
    return 2;
  }
  if (P > Ctx) {
    error = fmt::format("the prompt has {} tokens but the model's context "
                        "length is {}",
                        P, Ctx);
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
  int64_t Room = Ctx - P + 1;
  int64_t N = config.nPredict < 0 ? Room : config.nPredict;
  if (N > Room) {
    if (config.diag)
      print(config.diag,
                 "note: -n {} does not fit in the context ({} prompt tokens, "
                 "context length {}); generating at most {} tokens\n",
                 config.nPredict, P, Ctx, Room);
    N = Room;
  }

  FilePtr LogitsFile;
  if (!config.logitsOut.empty()) {
    LogitsFile.reset(std::fopen(config.logitsOut.c_str(), "wb"));
    if (!LogitsFile) {
      error = fmt::format("cannot open '{}' for --logits-out: {}",
                          config.logitsOut, std::strerror(errno));
      return 2;
    }
  }
  auto writeFailed = [&]() {
    error = fmt::format("cannot write --logits-out file '{}': {}",
                        config.logitsOut, std::strerror(errno));
    return 1;
  };

  tfm_session_reset(session);
  for (int32_t T : prompt)
    sampler.accept(T);

  // Prefill: all prompt rows are needed only for --logits-out.
  std::vector<float> Rows;
  if (LogitsFile)
    Rows.resize(size_t(P * Vocab));
  Clock::time_point Start = Clock::now();
  if (tfm_session_eval(session, prompt.data(), P,
                       LogitsFile ? Rows.data() : nullptr) != 0) {
    error = tfm_session_error(session);
    return 2;
  }
  stats.promptSeconds = secondsSince(Start);
  if (LogitsFile && !writeRows(LogitsFile.get(), Rows.data(), P, Vocab))
    return writeFailed();

  Start = Clock::now();
  std::vector<float> Logits(tfm_session_last_logits(session),
                            tfm_session_last_logits(session) + Vocab);
  for (int64_t I = 0; I < N; ++I) {
    int32_t Next = sampler.sample(Logits.data(), Vocab);
    if (std::find(config.stopTokens.begin(), config.stopTokens.end(), Next) !=
        config.stopTokens.end()) {
      stats.stoppedByToken = true;
      break;
    }
    sampler.accept(Next);
    ++stats.generatedTokens;
    onToken(Next);
    if (I + 1 == N)
      break; // the last token's logits would never be used
    if (tfm_session_eval(session, &Next, 1, Logits.data()) != 0) {
      error = tfm_session_error(session);
      return 1;
    }
    ++stats.decodeEvals;
    if (LogitsFile && !writeRows(LogitsFile.get(), Logits.data(), 1, Vocab))
      return writeFailed();
  }
  stats.decodeSeconds = secondsSince(Start);
  if (LogitsFile && std::fclose(LogitsFile.release()) != 0)
    return writeFailed();
  return 0;
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

int runMain(const TfmModelInfo &model, int argc, const char *const *argv,
            Output &Out, std::FILE *err, const char *Prog) {
  std::FILE *out = Out.F;
  Options Opts;
  std::string Error;
  if (!parseArgs(argc, argv, Opts, Error)) {
    print(err, "{}: error: {}\n", Prog, Error);
    return 2;
  }
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
  if (!loadPromptFile(Opts, Error)) {
    print(err, "{}: error: {}\n", Prog, Error);
    return 2;
  }

  // Tokenizer (optional) and the prompt's ids.
  std::unique_ptr<Tokenizer> Tok;
  if (model.tokenizer) {
    Tok = Tokenizer::deserialize(model.tokenizer, size_t(model.tokenizer_bytes),
                                 Error);
    if (!Tok) {
      print(err, "{}: error: embedded tokenizer is invalid: {}\n", Prog,
                 Error);
      return 1;
    }
  }
  std::vector<int32_t> Prompt;
  std::vector<int32_t> Stops;
  if (Tok) {
    Prompt = Tok->encode(Opts.prompt, Opts.addBos);
    if (Opts.addBos && Prompt.empty()) {
      print(err,
                 "{}: error: the prompt is empty and the vocabulary has "
                 "no BOS token to start from\n",
                 Prog);
      return 2;
    }
    Stops = {Tok->eos(), Tok->bos()};
  } else if (!parseTokenIds(Opts.prompt, model.vocab_size, Prompt, Error)) {
    print(err, "{}: error: {}\n", Prog, Error);
    return 2;
  }
  if (Opts.tokenizeOnly) {
    std::string Line;
    for (size_t I = 0; I < Prompt.size(); ++I)
      Line += fmt::format("{}{}", I ? " " : "", Prompt[I]);
    print(out, "{}\n", Line);
    return 0;
  }
  if (Prompt.empty()) {
    print(err, "{}: error: {}\n", Prog,
               Tok ? "the prompt is empty and --no-bos leaves nothing to "
                     "evaluate"
                   : "this model has no tokenizer: give the prompt as token "
                     "ids with -p, e.g. -p \"1 450\"");
    return 2;
  }

  if (int64_t(Prompt.size()) > model.context_length) {
    print(err,
               "{}: error: the prompt has {} tokens but the model's "
               "context length is {}\n",
               Prog, Prompt.size(), model.context_length);
    return 2;
  }

  char CreateErr[1024];
  TfmSession *Session =
      tfm_session_create(&model, Opts.threads, CreateErr, sizeof CreateErr);
  if (!Session) {
    print(err, "{}: error: {}\n", Prog, CreateErr);
    return 2;
  }
  std::unique_ptr<TfmSession, void (*)(TfmSession *)> Owner(
      Session, tfm_session_destroy);

  SamplerParams SP = Opts.sampling;
  if (!Opts.haveSeed) {
    SP.seed =
        uint64_t(std::chrono::system_clock::now().time_since_epoch().count());
    print(err, "seed: {}\n", SP.seed);
  }
  if (SP.repeatLastN < 0)
    SP.repeatLastN =
        int32_t(std::min<int64_t>(model.context_length, INT32_MAX));
  Sampler Samp(SP);

  GenerateConfig Config;
  Config.nPredict = Opts.nPredict;
  Config.stopTokens = Stops;
  Config.logitsOut = Opts.logitsOut;
  Config.diag = err;

  // Stream text: with a tokenizer through TokenDecoder (BOS yields nothing
  // and tells it to drop the dummy-prefix space), else ids.
  std::unique_ptr<TokenDecoder> Decoder;
  if (Tok)
    Decoder = std::make_unique<TokenDecoder>(*Tok);
  bool FirstId = true;
  auto emit = [&](int32_t Id, bool Show) {
    if (Decoder) {
      std::string Text = Decoder->push(Id);
      if (Show && !Text.empty())
        std::fwrite(Text.data(), 1, Text.size(), out);
    } else if (Show) {
      print(out, "{}{}", FirstId ? "" : " ", Id);
      FirstId = false;
    }
  };
  for (int32_t Id : Prompt)
    emit(Id, Opts.displayPrompt);
  Out.flush();

  GenerateStats Stats;
  int Rc = generateTokens(
      Session, Prompt, Config, Samp,
      [&](int32_t Id) {
        emit(Id, true);
        Out.flush();
      },
      Stats, Error);
  if (Decoder) {
    std::string Rest = Decoder->finish();
    std::fwrite(Rest.data(), 1, Rest.size(), out);
  }
  std::fputc('\n', out);
  Out.flush();
  if (Rc != 0) {
    print(err, "{}: error: {}\n", Prog, Error);
    return Rc;
  }
  if (Opts.timing)
    print(err, "{}\n", timingLine(Stats));
  return 0;
}

} // namespace

int tfmMain(const TfmModelInfo &model, int argc, const char *const *argv,
            std::FILE *out, std::FILE *err) {
  const char *Prog = argc > 0 && argv[0] ? argv[0] : "model";
  Output Out{out};
  int Rc = runMain(model, argc, argv, Out, err, Prog);
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
