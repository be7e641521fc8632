//===- GenerateTest.cpp - Generation loop, session and main on a fake model
//===//
//
// The fake model is a TfmModelInfo whose entry points follow the ABI: they
// append each token to the KV cache (layer 0, k half, kv head 0, dim 0) and
// emit logits -|v - target| with target = 3 + (5 * sum of all cached tokens
// up to and including this position + 3) mod (V - 3), never BOS, EOS or
// unk. Greedy decoding therefore follows a recurrence the test recomputes on
// its own, and any lost or misplaced cache entry changes the sequence.
//
//===----------------------------------------------------------------------===//

#include "FakeModel.h"

#include "tfm/runtime/Generate.h"
#include "tfm/runtime/Session.h"
#include "tfm/runtime/Tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace tfm::rt;

namespace {

constexpr int64_t V = 16, Ctx = 12;
const uint8_t FakeWeights[8] = {0xAB, 1, 2, 3, 4, 5, 6, 7};

struct CallLog {
  int Prefills = 0, Decodes = 0;
  bool BadArgs = false;
} Log;

int32_t target(int64_t Sum) { return int32_t(3 + (5 * Sum + 3) % (V - 3)); }

void fakeEntry(TfmMemRefI8x1 *W, TfmMemRefI32x1 *Tok, int64_t Pos,
               TfmMemRefF32x1 *Kv, TfmMemRefF32x2 *Logits) {
  int64_t T = Tok->sizes[0];
  if (W->sizes[0] != 8 || uint8_t(W->aligned[W->offset]) != 0xAB ||
      Kv->sizes[0] != 2 * Ctx || Logits->sizes[0] != T ||
      Logits->sizes[1] != V || Pos + T > Ctx ||
      reinterpret_cast<uintptr_t>(Kv->aligned) % 64 != 0)
    Log.BadArgs = true;
  float *Cache = Kv->aligned + Kv->offset;
  for (int64_t I = 0; I < T; ++I) {
    Cache[Pos + I] = float(Tok->aligned[Tok->offset + I]);
    int64_t Sum = 0;
    for (int64_t S = 0; S <= Pos + I; ++S)
      Sum += int64_t(Cache[S]);
    float *Row = Logits->aligned + Logits->offset + I * Logits->strides[0];
    for (int64_t Vv = 0; Vv < V; ++Vv)
      Row[Vv] = -std::fabs(float(Vv - target(Sum)));
  }
}
void fakePrefill(TfmMemRefI8x1 *W, TfmMemRefI32x1 *Tok, int64_t Pos,
                 TfmMemRefF32x1 *Kv, TfmMemRefF32x2 *Logits) {
  ++Log.Prefills;
  fakeEntry(W, Tok, Pos, Kv, Logits);
}
void fakeDecode(TfmMemRefI8x1 *W, TfmMemRefI32x1 *Tok, int64_t Pos,
                TfmMemRefF32x1 *Kv, TfmMemRefF32x2 *Logits) {
  ++Log.Decodes;
  if (Tok->sizes[0] != 1)
    Log.BadArgs = true;
  fakeEntry(W, Tok, Pos, Kv, Logits);
}

TfmModelInfo fakeModel() {
  return tfm::test::fakeModelInfo("fake", V, Ctx, FakeWeights,
                                  sizeof FakeWeights, fakePrefill, fakeDecode);
}

/// The greedy continuation computed from the recurrence, not the runtime.
std::vector<int32_t> expectedContinuation(std::vector<int32_t> Seq,
                                          int64_t Count) {
  std::vector<int32_t> Out;
  for (int64_t I = 0; I < Count; ++I) {
    int64_t Sum = 0;
    for (int32_t T : Seq)
      Sum += T;
    Out.push_back(target(Sum));
    Seq.push_back(Out.back());
  }
  return Out;
}

struct SessionPtr {
  TfmSession *S;
  explicit SessionPtr(const TfmModelInfo &M) {
    char Err[256] = "";
    S = tfm_session_create(&M, 1, Err, sizeof Err);
    EXPECT_NE(S, nullptr) << Err;
  }
  ~SessionPtr() { tfm_session_destroy(S); }
};

SamplerParams greedy() {
  SamplerParams P;
  P.temperature = 0;
  return P;
}

std::string readFile(std::FILE *F) {
  std::fflush(F);
  std::rewind(F);
  std::string S;
  char Buf[4096];
  size_t N;
  while ((N = std::fread(Buf, 1, sizeof Buf, F)) > 0)
    S.append(Buf, N);
  return S;
}

TEST(Generate, GreedyFollowsTheModelAndTheCache) {
  TfmModelInfo M = fakeModel();
  SessionPtr S(M);
  Log = CallLog();
  Sampler Samp(greedy());
  GenerateConfig C;
  C.nPredict = 5;
  std::vector<int32_t> Got;
  GenerateStats Stats;
  std::string Error;
  std::vector<int32_t> Prompt = {1, 7, 2};
  ASSERT_EQ(generateTokens(
                S.S, Prompt, C, Samp, [&](int32_t T) { Got.push_back(T); },
                Stats, Error),
            0)
      << Error;
  EXPECT_EQ(Got, expectedContinuation(Prompt, 5));
  EXPECT_EQ(Stats.promptTokens, 3);
  EXPECT_EQ(Stats.generatedTokens, 5);
  EXPECT_EQ(Stats.decodeEvals, 4); // the last token is not evaluated
  EXPECT_EQ(Log.Prefills, 1);
  EXPECT_EQ(Log.Decodes, 4);
  EXPECT_FALSE(Log.BadArgs);
  EXPECT_EQ(tfm_session_pos(S.S), 3 + 4);
  EXPECT_NE(timingLine(Stats).find("prompt: 3 tokens"), std::string::npos);
  EXPECT_NE(timingLine(Stats).find("generated: 5 tokens"), std::string::npos);
}

TEST(Generate, StopsAtStopToken) {
  TfmModelInfo M = fakeModel();
  SessionPtr S(M);
  std::vector<int32_t> Prompt = {1, 4};
  std::vector<int32_t> Full = expectedContinuation(Prompt, 6);
  // Stop at the first occurrence of the 4th token of the continuation.
  int32_t Stop = Full[3];
  size_t FirstStop =
      size_t(std::find(Full.begin(), Full.end(), Stop) - Full.begin());
  Sampler Samp(greedy());
  GenerateConfig C;
  C.nPredict = 6;
  C.stopTokens = {-1, Stop};
  std::vector<int32_t> Got;
  GenerateStats Stats;
  std::string Error;
  ASSERT_EQ(generateTokens(
                S.S, Prompt, C, Samp, [&](int32_t T) { Got.push_back(T); },
                Stats, Error),
            0);
  EXPECT_EQ(Got, std::vector<int32_t>(Full.begin(), Full.begin() + FirstStop));
  EXPECT_TRUE(Stats.stoppedByToken);
  EXPECT_EQ(Stats.generatedTokens, int64_t(FirstStop));
}

TEST(Generate, ContextLimits) {
  TfmModelInfo M = fakeModel();
  SessionPtr S(M);
  std::string Error;
  GenerateStats Stats;
  auto run = [&](std::vector<int32_t> Prompt, int64_t N, std::FILE *Diag,
                 std::vector<int32_t> &Got) {
    Sampler Samp(greedy());
    GenerateConfig C;
    C.nPredict = N;
    C.diag = Diag;
    Got.clear();
    return generateTokens(
        S.S, Prompt, C, Samp, [&](int32_t T) { Got.push_back(T); }, Stats,
        Error);
  };
  std::vector<int32_t> Got;
  // A prompt longer than the context is refused before anything runs.
  Log = CallLog();
  EXPECT_EQ(run(std::vector<int32_t>(Ctx + 1, 3), 1, nullptr, Got), 2);
  EXPECT_NE(Error.find("13 tokens"), std::string::npos) << Error;
  EXPECT_NE(Error.find("context length is 12"), std::string::npos) << Error;
  EXPECT_EQ(Log.Prefills, 0);
  // -n too large is cut to what fits (the last token needs no cache slot),
  // with a note.
  std::FILE *Diag = std::tmpfile();
  std::vector<int32_t> Prompt(9, 2);
  EXPECT_EQ(run(Prompt, 50, Diag, Got), 0) << Error;
  EXPECT_EQ(Got, expectedContinuation(Prompt, Ctx - 9 + 1));
  std::string Note = readFile(Diag);
  std::fclose(Diag);
  EXPECT_NE(Note.find("-n 50 does not fit"), std::string::npos) << Note;
  // -1: until the context is full; the session can be reused.
  EXPECT_EQ(run({1}, -1, nullptr, Got), 0);
  EXPECT_EQ(Got, expectedContinuation({1}, Ctx));
  EXPECT_FALSE(Log.BadArgs);
  // A prompt that exactly fills the context still yields one token, sampled
  // from the prompt's last logits.
  EXPECT_EQ(run(std::vector<int32_t>(Ctx, 1), 4, nullptr, Got), 0);
  EXPECT_EQ(Got, expectedContinuation(std::vector<int32_t>(Ctx, 1), 1));
  // Empty prompts and bad ids are errors.
  EXPECT_EQ(run({}, 4, nullptr, Got), 2);
  EXPECT_EQ(run({1, 16}, 4, nullptr, Got), 2);
  EXPECT_NE(Error.find("16"), std::string::npos);
}

TEST(Generate, LogitsOutHoldsEveryEvaluatedRow) {
  TfmModelInfo M = fakeModel();
  SessionPtr S(M);
  std::string Path = ::testing::TempDir() + "tfm_logits_out.bin";
  Sampler Samp(greedy());
  GenerateConfig C;
  C.nPredict = 4;
  C.logitsOut = Path;
  std::vector<int32_t> Prompt = {2, 9, 9}, Got;
  GenerateStats Stats;
  std::string Error;
  ASSERT_EQ(generateTokens(
                S.S, Prompt, C, Samp, [&](int32_t T) { Got.push_back(T); },
                Stats, Error),
            0)
      << Error;
  std::ifstream F(Path, std::ios::binary);
  std::vector<char> Bytes((std::istreambuf_iterator<char>(F)),
                          std::istreambuf_iterator<char>());
  int64_t Rows = 3 + 4 - 1;
  ASSERT_EQ(int64_t(Bytes.size()), Rows * V * 4);
  std::vector<float> L(size_t(Rows * V));
  std::memcpy(L.data(), Bytes.data(), Bytes.size());
  // Row r: logits after the first r + 1 tokens of prompt + generated.
  std::vector<int32_t> Seq = Prompt;
  Seq.insert(Seq.end(), Got.begin(), Got.end());
  for (int64_t R = 0; R < Rows; ++R) {
    int64_t Sum = 0;
    for (int64_t I = 0; I <= R; ++I)
      Sum += Seq[size_t(I)];
    for (int64_t Vv = 0; Vv < V; ++Vv)
      ASSERT_EQ(L[size_t(R * V + Vv)], -std::fabs(float(Vv - target(Sum))))
          << "row " << R;
  }
  std::remove(Path.c_str());
  // An unwritable path is a clear error.
  C.logitsOut = "/nonexistent-dir/x.bin";
  EXPECT_EQ(
      generateTokens(S.S, Prompt, C, Samp, [](int32_t) {}, Stats, Error), 2);
  EXPECT_NE(Error.find("/nonexistent-dir/x.bin"), std::string::npos);
}

TEST(Session, ValidatesModelAndInputs) {
  char Err[256];
  TfmModelInfo M = fakeModel();
  M.abi_version = 99;
  EXPECT_EQ(tfm_session_create(&M, 1, Err, sizeof Err), nullptr);
  EXPECT_NE(std::string(Err).find("ABI 99"), std::string::npos) << Err;
  M = fakeModel();
  M.kv_cache_floats = 5;
  EXPECT_EQ(tfm_session_create(&M, 1, Err, sizeof Err), nullptr);
  EXPECT_NE(std::string(Err).find("kv_cache_floats"), std::string::npos);
  M = fakeModel();
  M.weights = nullptr;
  M.weights_file = "definitely-missing-weights.bin";
  EXPECT_EQ(tfm_session_create(&M, 1, Err, sizeof Err), nullptr);
  EXPECT_NE(std::string(Err).find("definitely-missing-weights.bin"),
            std::string::npos);

  M = fakeModel();
  SessionPtr S(M);
  int32_t Bad[2] = {3, -1};
  EXPECT_EQ(tfm_session_eval(S.S, Bad, 2, nullptr), -1);
  EXPECT_NE(std::string(tfm_session_error(S.S)).find("-1"), std::string::npos);
  EXPECT_EQ(tfm_session_pos(S.S), 0);
  std::vector<int32_t> Many(Ctx + 1, 1);
  EXPECT_EQ(tfm_session_eval(S.S, Many.data(), Ctx + 1, nullptr), -1);
  EXPECT_EQ(tfm_session_eval(S.S, Many.data(), 0, nullptr), -1);
  EXPECT_EQ(tfm_session_eval(S.S, Many.data(), 3, nullptr), 0);
  EXPECT_EQ(tfm_session_pos(S.S), 3);
  EXPECT_EQ(tfm_session_last_logits(S.S)[target(3)], 0.0f);
}

TEST(Session, MapsSidecarWeights) {
  // Relative names resolve next to the executable (here: the test binary).
  char Exe[4096];
  ssize_t Len = readlink("/proc/self/exe", Exe, sizeof Exe - 1);
  ASSERT_GT(Len, 0);
  std::string Dir(Exe, size_t(Len));
  Dir = Dir.substr(0, Dir.rfind('/') + 1);
  std::string Name = "tfm_session_test_weights.bin";
  // The blob, then the trailer that says whose it is (ModelAbi.h).
  TfmWeightsTrailer Trailer{};
  std::memcpy(Trailer.magic, TFM_WEIGHTS_MAGIC, 8);
  Trailer.abi_version = TFM_ABI_VERSION;
  Trailer.trailer_bytes = sizeof Trailer;
  Trailer.weights_bytes = sizeof FakeWeights;
  Trailer.spec_id = 0x1234;
  Trailer.weights_id = 0x5678;
  auto writeSidecar = [&](const std::string &Path) {
    std::ofstream F(Path, std::ios::binary);
    F.write(reinterpret_cast<const char *>(FakeWeights), sizeof FakeWeights);
    F.write(reinterpret_cast<const char *>(&Trailer), sizeof Trailer);
  };
  writeSidecar(Dir + Name);
  TfmModelInfo M = fakeModel();
  M.weights = nullptr;
  M.weights_file = "tfm_session_test_weights.bin";
  M.spec_id = 0x1234;
  M.weights_id = 0x5678;
  {
    SessionPtr S(M);
    ASSERT_NE(S.S, nullptr);
    Log = CallLog();
    int32_t Tok = 4;
    ASSERT_EQ(tfm_session_eval(S.S, &Tok, 1, nullptr), 0);
    EXPECT_FALSE(Log.BadArgs); // the entry point saw the mapped bytes
  }
  char Err[512];
  // The embedding program's path comes first, then TFM_WEIGHTS.
  std::string Other = Dir + "tfm_session_test_other.bin";
  Trailer.weights_id = 0x9999;
  writeSidecar(Other);
  EXPECT_EQ(
      tfm_session_create_with_weights(&M, 1, Other.c_str(), Err, sizeof Err),
      nullptr);
  EXPECT_NE(
      std::string(Err).find("'" + Other + "' was written by another compile"),
      std::string::npos)
      << Err;
  setenv("TFM_WEIGHTS", Other.c_str(), 1);
  EXPECT_EQ(tfm_session_create(&M, 1, Err, sizeof Err), nullptr);
  EXPECT_NE(std::string(Err).find(Other), std::string::npos) << Err;
  {
    // The argument wins over the environment.
    std::string Right = Dir + Name;
    TfmSession *S =
        tfm_session_create_with_weights(&M, 1, Right.c_str(), Err, sizeof Err);
    EXPECT_NE(S, nullptr) << Err;
    tfm_session_destroy(S);
  }
  unsetenv("TFM_WEIGHTS");
  // Another model's file.
  M.spec_id = 0x4321;
  EXPECT_EQ(tfm_session_create(&M, 1, Err, sizeof Err), nullptr);
  EXPECT_NE(std::string(Err).find("belongs to another model"),
            std::string::npos)
      << Err;
  M.spec_id = 0x1234;
  // A size mismatch is refused.
  M.weights_bytes = 9;
  EXPECT_EQ(tfm_session_create(&M, 1, Err, sizeof Err), nullptr);
  EXPECT_NE(std::string(Err).find("has 72 bytes, the model expects 73"),
            std::string::npos)
      << Err;
  std::remove((Dir + Name).c_str());
  std::remove(Other.c_str());
}

/// Runs tfmMain with captured stdout/stderr.
struct MainRun {
  int Rc;
  std::string Out, Err;
};
MainRun runMain(const TfmModelInfo &M, std::vector<std::string> Args) {
  std::vector<const char *> Argv = {"fake-model"};
  for (const std::string &A : Args)
    Argv.push_back(A.c_str());
  std::FILE *Out = std::tmpfile(), *Err = std::tmpfile();
  MainRun R;
  R.Rc = tfmMain(M, int(Argv.size()), Argv.data(), Out, Err);
  R.Out = readFile(Out);
  R.Err = readFile(Err);
  std::fclose(Out);
  std::fclose(Err);
  return R;
}

TEST(Main, TokenIdsWithoutTokenizer) {
  TfmModelInfo M = fakeModel();
  MainRun R = runMain(M, {"-p", "1 7 2", "-n", "3", "--temp", "0"});
  ASSERT_EQ(R.Rc, 0) << R.Err;
  std::vector<int32_t> Cont = expectedContinuation({1, 7, 2}, 3);
  EXPECT_EQ(R.Out, "1 7 2 " + std::to_string(Cont[0]) + " " +
                       std::to_string(Cont[1]) + " " + std::to_string(Cont[2]) +
                       "\n");
  EXPECT_NE(R.Err.find("prompt: 3 tokens"), std::string::npos) << R.Err;
  // Greedy draws no random numbers: no seed line (issue 14, bug 10).
  EXPECT_EQ(R.Err.find("seed: "), std::string::npos) << R.Err;
  R = runMain(M, {"-p", "1 7 2", "-n", "3", "--temp", "1"});
  ASSERT_EQ(R.Rc, 0) << R.Err;
  EXPECT_NE(R.Err.find("seed: "), std::string::npos); // no -s: random seed

  R = runMain(M, {"-p", "1 7 2", "-n", "3", "--temp", "0", "-s", "5",
                  "--no-timing", "--no-display-prompt"});
  ASSERT_EQ(R.Rc, 0);
  EXPECT_EQ(R.Err, "");
  EXPECT_EQ(R.Out, std::to_string(Cont[0]) + " " + std::to_string(Cont[1]) +
                       " " + std::to_string(Cont[2]) + "\n");

  R = runMain(M, {"-p", "3 4", "--tokenize"});
  EXPECT_EQ(R.Rc, 0);
  EXPECT_EQ(R.Out, "3 4\n");
}

TEST(Main, Errors) {
  TfmModelInfo M = fakeModel();
  MainRun R = runMain(M, {"--bogus"});
  EXPECT_EQ(R.Rc, 2);
  EXPECT_NE(R.Err.find("unknown flag --bogus"), std::string::npos);
  EXPECT_EQ(R.Out, "");
  R = runMain(M, {"-p", "1 x"});
  EXPECT_EQ(R.Rc, 2);
  EXPECT_NE(R.Err.find("'x' is not a token id"), std::string::npos) << R.Err;
  R = runMain(M, {"-p", "1 99"});
  EXPECT_EQ(R.Rc, 2);
  EXPECT_NE(R.Err.find("99"), std::string::npos);
  R = runMain(M, {});
  EXPECT_EQ(R.Rc, 2);
  EXPECT_NE(R.Err.find("no tokenizer"), std::string::npos);
  R = runMain(M, {"-p", "1 1 1 1 1 1 1 1 1 1 1 1 1"});
  EXPECT_EQ(R.Rc, 2);
  EXPECT_NE(R.Err.find("context length is 12"), std::string::npos);
  EXPECT_EQ(R.Out, "");
  R = runMain(M, {"-f", "/nonexistent/prompt.txt"});
  EXPECT_EQ(R.Rc, 2);
  EXPECT_NE(R.Err.find("/nonexistent/prompt.txt"), std::string::npos);
  R = runMain(M, {"--version"});
  EXPECT_EQ(R.Rc, 0);
  EXPECT_NE(R.Out.find("fake (test)"), std::string::npos) << R.Out;
  R = runMain(M, {"--help"});
  EXPECT_EQ(R.Rc, 0);
  EXPECT_NE(R.Out.find("--n-predict"), std::string::npos);
}

// Text that cannot be written (stdout on a full disk; here /dev/full) makes
// the run fail with a message, whichever output it was.
TEST(Main, UnwritableOutputIsAnError) {
  TfmModelInfo M = fakeModel();
  std::vector<std::vector<std::string>> Runs = {
      {"-p", "1 7 2", "-n", "3", "--temp", "0", "-s", "1"},
      {"--help"},
      {"-p", "3 4", "--tokenize"}};
  for (const std::vector<std::string> &Args : Runs) {
    std::FILE *Out = std::fopen("/dev/full", "w");
    ASSERT_NE(Out, nullptr);
    std::FILE *Err = std::tmpfile();
    std::vector<const char *> Argv = {"fake-model"};
    for (const std::string &A : Args)
      Argv.push_back(A.c_str());
    int Rc = tfmMain(M, int(Argv.size()), Argv.data(), Out, Err);
    std::string Message = readFile(Err);
    std::fclose(Out);
    std::fclose(Err);
    EXPECT_EQ(Rc, 1) << Args[0];
    EXPECT_NE(Message.find("fake-model: error: cannot write the output: No "
                           "space left on device"),
              std::string::npos)
        << Message;
  }
}

TEST(Main, StreamsTextThroughTheTokenizer) {
  std::vector<std::string> Pieces = {"<unk>", "<s>", "</s>"};
  for (const char *W : {"Once", "upon", "a", "time", "there", "was", "cat",
                        "dog", "sun", "big", "red", "ran", "home"})
    Pieces.push_back(std::string("\xE2\x96\x81") + W); // "▁" + word
  std::vector<float> Scores(Pieces.size(), 0.0f);
  std::vector<TokenType> Types(Pieces.size(), TokenType::Normal);
  Types[0] = TokenType::Unknown;
  Types[1] = Types[2] = TokenType::Control;
  std::string Error;
  std::unique_ptr<Tokenizer> Tok =
      Tokenizer::createSentencePiece(Pieces, Scores, Types, 1, 2, Error);
  ASSERT_TRUE(Tok) << Error;
  std::vector<uint8_t> Bytes = Tok->serialize();
  TfmModelInfo M = fakeModel();
  M.tokenizer = Bytes.data();
  M.tokenizer_bytes = int64_t(Bytes.size());

  // Empty prompt: BOS alone. Output: decode of everything after BOS, up to
  // (not including) a sampled BOS/EOS.
  std::vector<int32_t> Cont = expectedContinuation({1}, 8);
  std::vector<int32_t> Shown = {1};
  for (int32_t T : Cont) {
    if (T == 1 || T == 2)
      break;
    Shown.push_back(T);
  }
  MainRun R = runMain(M, {"-n", "8", "--temp", "0", "-s", "1"});
  ASSERT_EQ(R.Rc, 0) << R.Err;
  EXPECT_EQ(R.Out, Tok->decode(Shown) + "\n");
  EXPECT_NE(R.Err.find("prompt: 1 tokens"), std::string::npos) << R.Err;

  R = runMain(M, {"-p", "", "--no-bos"});
  EXPECT_EQ(R.Rc, 2);
  EXPECT_NE(R.Err.find("empty"), std::string::npos);
}

// Outputs are checked before anything is printed or evaluated (issue 14,
// bug 7: a bad --logits-out failed after the prompt was shown).
TEST(Main, BadLogitsOutFailsBeforeAnyOutput) {
  TfmModelInfo M = fakeModel();
  Log = CallLog();
  MainRun R = runMain(M, {"-p", "1 7 2", "-n", "3", "--temp", "0",
                          "--logits-out", "/nonexistent-dir/l.bin"});
  EXPECT_EQ(R.Rc, 2);
  EXPECT_EQ(R.Out, "");
  EXPECT_NE(R.Err.find("cannot open '/nonexistent-dir/l.bin' for "
                       "--logits-out"),
            std::string::npos)
      << R.Err;
  EXPECT_EQ(Log.Prefills, 0);
}

// --attention-out needs the probe entry point (tfmc --probes=attention):
// without it, an error before anything is printed or evaluated.
TEST(Main, AttentionOutNeedsTheProbe) {
  TfmModelInfo M = fakeModel();
  ASSERT_EQ(M.probe_attention, nullptr);
  Log = CallLog();
  MainRun R = runMain(M, {"-p", "1 7 2", "-n", "3", "--temp", "0",
                          "--attention-out", "/nonexistent-dir/a.npy"});
  EXPECT_EQ(R.Rc, 2);
  EXPECT_EQ(R.Out, "");
  EXPECT_NE(R.Err.find("--attention-out needs a model compiled with tfmc "
                       "--probes=attention"),
            std::string::npos)
      << R.Err;
  EXPECT_EQ(Log.Prefills, 0);
}

// -c limits the positions of the run; more than compiled is an error.
TEST(Main, CtxSize) {
  TfmModelInfo M = fakeModel();
  MainRun R = runMain(M, {"-p", "1 7", "-n", "-1", "--temp", "0", "-c", "5",
                          "--no-display-prompt", "--no-timing"});
  ASSERT_EQ(R.Rc, 0) << R.Err;
  std::vector<int32_t> Cont = expectedContinuation({1, 7}, 4); // 5 - 2 + 1
  std::string Want;
  for (int32_t T : Cont)
    Want += (Want.empty() ? "" : " ") + std::to_string(T);
  EXPECT_EQ(R.Out, Want + "\n");
  R = runMain(M, {"-p", "1 7 2 3 4 5", "-c", "5"});
  EXPECT_EQ(R.Rc, 2);
  EXPECT_NE(R.Err.find("the prompt has 6 tokens but the context length is 5"),
            std::string::npos)
      << R.Err;
  R = runMain(M, {"-p", "1", "-c", "13"});
  EXPECT_EQ(R.Rc, 2);
  EXPECT_NE(R.Err.find("-c 13 exceeds the compiled context length 12"),
            std::string::npos)
      << R.Err;

  SessionPtr S(M);
  EXPECT_EQ(tfm_session_context(S.S), Ctx);
  EXPECT_EQ(tfm_session_set_context(S.S, 0), -1);
  EXPECT_EQ(tfm_session_set_context(S.S, Ctx + 1), -1);
  ASSERT_EQ(tfm_session_set_context(S.S, 3), 0);
  int32_t Toks[4] = {1, 2, 3, 4};
  EXPECT_EQ(tfm_session_eval(S.S, Toks, 4, nullptr), -1);
  EXPECT_NE(std::string(tfm_session_error(S.S)).find("context length 3"),
            std::string::npos);
  ASSERT_EQ(tfm_session_eval(S.S, Toks, 2, nullptr), 0);
  EXPECT_EQ(tfm_session_set_context(S.S, 1), -1); // below the position
  EXPECT_EQ(tfm_session_context(nullptr), -1);
  EXPECT_EQ(tfm_session_set_context(nullptr, 2), -1);
}

/// A SentencePiece vocabulary of whole words over the fake model's ids.
std::vector<uint8_t> wordTokenizer() {
  std::vector<std::string> Pieces = {"<unk>", "<s>", "</s>"};
  for (const char *W : {"Once", "upon", "a", "time", "there", "was", "cat",
                        "dog", "sun", "big", "red", "ran", "home"})
    Pieces.push_back(std::string("\xE2\x96\x81") + W);
  std::vector<float> Scores(Pieces.size(), 0.0f);
  std::vector<TokenType> Types(Pieces.size(), TokenType::Normal);
  Types[0] = TokenType::Unknown;
  Types[1] = Types[2] = TokenType::Control;
  std::string Error;
  auto Tok = Tokenizer::createSentencePiece(Pieces, Scores, Types, 1, 2, Error);
  EXPECT_TRUE(Tok) << Error;
  return Tok->serialize();
}

// -r stops when the text ends with one of the strings; --ignore-eos goes on
// past EOS/BOS.
TEST(Main, ReversePromptAndIgnoreEos) {
  std::vector<uint8_t> Bytes = wordTokenizer();
  TfmModelInfo M = fakeModel();
  M.tokenizer = Bytes.data();
  M.tokenizer_bytes = int64_t(Bytes.size());
  std::string Error;
  auto Tok = Tokenizer::deserialize(Bytes.data(), Bytes.size(), Error);
  std::vector<int32_t> Cont = expectedContinuation({1}, 8);
  ASSERT_GE(Cont[2], 3); // the fake model never samples BOS/EOS
  // Stop at the third generated word.
  std::string Third = Tok->decode({Cont[2]});
  MainRun R =
      runMain(M, {"-n", "8", "--temp", "0", "-r", Third, "--no-timing"});
  ASSERT_EQ(R.Rc, 0) << R.Err;
  EXPECT_EQ(R.Out, Tok->decode({1, Cont[0], Cont[1], Cont[2]}) + "\n");
  // A string never produced does not stop anything.
  R = runMain(M, {"-n", "8", "--temp", "0", "-r", "zebra", "--no-timing"});
  std::vector<int32_t> All = {1};
  All.insert(All.end(), Cont.begin(), Cont.end());
  EXPECT_EQ(R.Out, Tok->decode(All) + "\n");

  // A vocabulary whose EOS is a word the model samples: it stops there,
  // unless --ignore-eos.
  std::vector<std::string> Pieces;
  for (int32_t Id = 0; Id < int32_t(V); ++Id)
    Pieces.push_back(Id == 0   ? "<unk>"
                     : Id == 1 ? "<s>"
                               : "\xE2\x96\x81w" + std::to_string(Id));
  std::vector<TokenType> Types(Pieces.size(), TokenType::Normal);
  Types[0] = TokenType::Unknown;
  Types[1] = TokenType::Control;
  auto EosTok = Tokenizer::createSentencePiece(
      Pieces, std::vector<float>(Pieces.size(), 0.0f), Types, 1, Cont[3],
      Error);
  ASSERT_TRUE(EosTok) << Error;
  std::vector<uint8_t> EosBytes = EosTok->serialize();
  M.tokenizer = EosBytes.data();
  M.tokenizer_bytes = int64_t(EosBytes.size());
  size_t FirstEos =
      size_t(std::find(Cont.begin(), Cont.end(), Cont[3]) - Cont.begin());
  R = runMain(M, {"-n", "8", "--temp", "0", "--no-timing"});
  std::vector<int32_t> Shown = {1};
  Shown.insert(Shown.end(), Cont.begin(), Cont.begin() + FirstEos);
  EXPECT_EQ(R.Out, EosTok->decode(Shown) + "\n");
  R = runMain(M, {"-n", "8", "--temp", "0", "--no-timing", "--ignore-eos"});
  EXPECT_EQ(R.Out, EosTok->decode(All) + "\n");
}

// --n-probs: the top-N of softmax(logits) per generated token, on stderr.
TEST(Main, NProbs) {
  TfmModelInfo M = fakeModel();
  MainRun R = runMain(M, {"-p", "1 7", "-n", "2", "--temp", "0", "--n-probs",
                          "3", "--no-timing"});
  ASSERT_EQ(R.Rc, 0) << R.Err;
  std::vector<int32_t> Cont = expectedContinuation({1, 7}, 2);
  // Logits -|v - target|: the target, then its neighbours (lower id first).
  std::string Want;
  std::vector<int32_t> Seq = {1, 7};
  for (int32_t Next : Cont) {
    int64_t Sum = 0;
    for (int32_t T : Seq)
      Sum += T;
    int32_t Tg = target(Sum);
    double Z = 0;
    for (int64_t Vv = 0; Vv < V; ++Vv)
      Z += std::exp(-std::fabs(double(Vv - Tg)));
    char Line[256];
    std::snprintf(Line, sizeof Line, "probs: %d %.6g %d %.6g %d %.6g\n", Tg,
                  1 / Z, Tg - 1, std::exp(-1.0) / Z, Tg + 1,
                  std::exp(-1.0) / Z);
    Want += Line;
    Seq.push_back(Next);
  }
  EXPECT_EQ(R.Err, Want);
}

/// The fake decode that raises SIGINT (Ctrl-C) at its third call.
void interruptingDecode(TfmMemRefI8x1 *W, TfmMemRefI32x1 *Tok, int64_t Pos,
                        TfmMemRefF32x1 *Kv, TfmMemRefF32x2 *Logits) {
  if (++Log.Decodes == 3)
    std::raise(SIGINT);
  fakeEntry(W, Tok, Pos, Kv, Logits);
}

// Ctrl-C ends the generation cleanly: the text so far, the newline, the
// timing line, exit code 130.
TEST(Main, InterruptEndsCleanly) {
  TfmModelInfo M = fakeModel();
  M.decode = interruptingDecode;
  Log = CallLog();
  MainRun R = runMain(M, {"-p", "1 7", "-n", "8", "--temp", "0"});
  EXPECT_EQ(R.Rc, 130) << R.Err;
  std::vector<int32_t> Cont = expectedContinuation({1, 7}, 3);
  EXPECT_EQ(R.Out, "1 7 " + std::to_string(Cont[0]) + " " +
                       std::to_string(Cont[1]) + " " + std::to_string(Cont[2]) +
                       "\n");
  EXPECT_NE(R.Err.find("generated: 3 tokens"), std::string::npos) << R.Err;
  EXPECT_EQ(Log.Decodes, 3);
  // The handler is gone afterwards: SIGINT is ignored here, as before.
  struct sigaction Now;
  sigaction(SIGINT, nullptr, &Now);
  EXPECT_EQ(Now.sa_handler, SIG_DFL);
}

} // namespace
