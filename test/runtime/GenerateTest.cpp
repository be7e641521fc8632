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

constexpr int64_t kVocab = 16, kContext = 12;
const uint8_t kFakeWeights[8] = {0xAB, 1, 2, 3, 4, 5, 6, 7};

struct CallLog {
  int prefills = 0, decodes = 0;
  bool badArgs = false;
} log;

int32_t target(int64_t sum) {
  return int32_t(3 + (5 * sum + 3) % (kVocab - 3));
}

void fakeEntry(TfmMemRefI8x1 *w, TfmMemRefI32x1 *tok, int64_t pos,
               TfmMemRefF32x1 *kv, TfmMemRefF32x2 *logits) {
  int64_t t = tok->sizes[0];
  if (w->sizes[0] != 8 || uint8_t(w->aligned[w->offset]) != 0xAB ||
      kv->sizes[0] % 2 != 0 || kv->sizes[0] > 2 * kContext ||
      logits->sizes[0] != t || logits->sizes[1] != kVocab ||
      pos + t > kv->sizes[0] / 2 ||
      reinterpret_cast<uintptr_t>(kv->aligned) % 64 != 0)
    log.badArgs = true;
  float *cache = kv->aligned + kv->offset;
  for (int64_t i = 0; i < t; ++i) {
    cache[pos + i] = float(tok->aligned[tok->offset + i]);
    int64_t sum = 0;
    for (int64_t s = 0; s <= pos + i; ++s)
      sum += int64_t(cache[s]);
    float *row = logits->aligned + logits->offset + i * logits->strides[0];
    for (int64_t vv = 0; vv < kVocab; ++vv)
      row[vv] = -std::fabs(float(vv - target(sum)));
  }
}
void fakePrefill(TfmMemRefI8x1 *w, TfmMemRefI32x1 *tok, int64_t pos,
                 TfmMemRefF32x1 *kv, TfmMemRefF32x2 *logits) {
  ++log.prefills;
  fakeEntry(w, tok, pos, kv, logits);
}
void fakeDecode(TfmMemRefI8x1 *w, TfmMemRefI32x1 *tok, int64_t pos,
                TfmMemRefF32x1 *kv, TfmMemRefF32x2 *logits) {
  ++log.decodes;
  if (tok->sizes[0] != 1)
    log.badArgs = true;
  fakeEntry(w, tok, pos, kv, logits);
}

TfmModelInfo fakeModel() {
  return tfm::test::fakeModelInfo<fakePrefill, fakeDecode>(
      "fake", kVocab, kContext, kFakeWeights, sizeof kFakeWeights);
}

/// The greedy continuation computed from the recurrence, not the runtime.
std::vector<int32_t> expectedContinuation(std::vector<int32_t> seq,
                                          int64_t count) {
  std::vector<int32_t> out;
  for (int64_t i = 0; i < count; ++i) {
    int64_t sum = 0;
    for (int32_t t : seq)
      sum += t;
    out.push_back(target(sum));
    seq.push_back(out.back());
  }
  return out;
}

struct SessionPtr {
  TfmSession *s;
  explicit SessionPtr(const TfmModelInfo &m) {
    char err[256] = "";
    s = tfm_session_create(&m, 1, err, sizeof err);
    EXPECT_NE(s, nullptr) << err;
  }
  ~SessionPtr() { tfm_session_destroy(s); }
};

SamplerParams greedy() {
  SamplerParams p;
  p.temperature = 0;
  return p;
}

std::string readFile(std::FILE *f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    s.append(buf, n);
  return s;
}

TEST(Generate, GreedyFollowsTheModelAndTheCache) {
  TfmModelInfo m = fakeModel();
  SessionPtr s(m);
  log = CallLog();
  Sampler samp(greedy());
  GenerateConfig c;
  c.nPredict = 5;
  std::vector<int32_t> got;
  GenerateStats stats;
  std::string error;
  std::vector<int32_t> prompt = {1, 7, 2};
  ASSERT_EQ(generateTokens(
                s.s, prompt, c, samp, [&](int32_t t) { got.push_back(t); },
                stats, error),
            0)
      << error;
  EXPECT_EQ(got, expectedContinuation(prompt, 5));
  EXPECT_EQ(stats.promptTokens, 3);
  EXPECT_EQ(stats.generatedTokens, 5);
  EXPECT_EQ(stats.decodeEvals, 4); // the last token is not evaluated
  EXPECT_EQ(log.prefills, 1);
  EXPECT_EQ(log.decodes, 4);
  EXPECT_FALSE(log.badArgs);
  EXPECT_EQ(tfm_session_pos(s.s), 3 + 4);
  EXPECT_NE(timingLine(stats).find("prompt: 3 tokens"), std::string::npos);
  EXPECT_NE(timingLine(stats).find("generated: 5 tokens"), std::string::npos);
}

// --warmup: the prompt is evaluated twice, and the first pass leaves no trace
// in the cache (the continuation and the position are those of one pass).
TEST(Generate, WarmupEvaluatesThePromptOnceMoreAndForgetsIt) {
  TfmModelInfo m = fakeModel();
  SessionPtr s(m);
  log = CallLog();
  Sampler samp(greedy());
  GenerateConfig c;
  c.nPredict = 4;
  c.warmup = true;
  std::vector<int32_t> got;
  GenerateStats stats;
  std::string error;
  std::vector<int32_t> prompt = {1, 5, 9, 4};
  ASSERT_EQ(generateTokens(
                s.s, prompt, c, samp, [&](int32_t t) { got.push_back(t); },
                stats, error),
            0)
      << error;
  EXPECT_EQ(got, expectedContinuation(prompt, 4));
  EXPECT_EQ(log.prefills, 2);
  EXPECT_EQ(log.decodes, 3);
  EXPECT_EQ(stats.promptTokens, 4);
  EXPECT_EQ(tfm_session_pos(s.s), 4 + 3);
}

TEST(Generate, StopsAtStopToken) {
  TfmModelInfo m = fakeModel();
  SessionPtr s(m);
  std::vector<int32_t> prompt = {1, 4};
  std::vector<int32_t> full = expectedContinuation(prompt, 6);
  // Stop at the first occurrence of the 4th token of the continuation.
  int32_t stop = full[3];
  size_t firstStop =
      size_t(std::find(full.begin(), full.end(), stop) - full.begin());
  Sampler samp(greedy());
  GenerateConfig c;
  c.nPredict = 6;
  c.stopTokens = {-1, stop};
  std::vector<int32_t> got;
  GenerateStats stats;
  std::string error;
  ASSERT_EQ(generateTokens(
                s.s, prompt, c, samp, [&](int32_t t) { got.push_back(t); },
                stats, error),
            0);
  EXPECT_EQ(got, std::vector<int32_t>(full.begin(), full.begin() + firstStop));
  EXPECT_TRUE(stats.stoppedByToken);
  EXPECT_EQ(stats.generatedTokens, int64_t(firstStop));
}

TEST(Generate, ContextLimits) {
  TfmModelInfo m = fakeModel();
  SessionPtr s(m);
  std::string error;
  GenerateStats stats;
  auto run = [&](std::vector<int32_t> prompt, int64_t n, std::FILE *diag,
                 std::vector<int32_t> &got) {
    Sampler samp(greedy());
    GenerateConfig c;
    c.nPredict = n;
    c.diag = diag;
    got.clear();
    return generateTokens(
        s.s, prompt, c, samp, [&](int32_t t) { got.push_back(t); }, stats,
        error);
  };
  std::vector<int32_t> got;
  // A prompt longer than the context is refused before anything runs.
  log = CallLog();
  EXPECT_EQ(run(std::vector<int32_t>(kContext + 1, 3), 1, nullptr, got), 2);
  EXPECT_NE(error.find("13 tokens"), std::string::npos) << error;
  EXPECT_NE(error.find("context length is 12"), std::string::npos) << error;
  EXPECT_EQ(log.prefills, 0);
  // -n too large is cut to what fits (the last token needs no cache slot),
  // with a note.
  std::FILE *diag = std::tmpfile();
  std::vector<int32_t> prompt(9, 2);
  EXPECT_EQ(run(prompt, 50, diag, got), 0) << error;
  EXPECT_EQ(got, expectedContinuation(prompt, kContext - 9 + 1));
  std::string note = readFile(diag);
  std::fclose(diag);
  EXPECT_NE(note.find("-n 50 does not fit"), std::string::npos) << note;
  // -1: until the context is full; the session can be reused.
  EXPECT_EQ(run({1}, -1, nullptr, got), 0);
  EXPECT_EQ(got, expectedContinuation({1}, kContext));
  EXPECT_FALSE(log.badArgs);
  // A prompt that exactly fills the context still yields one token, sampled
  // from the prompt's last logits.
  EXPECT_EQ(run(std::vector<int32_t>(kContext, 1), 4, nullptr, got), 0);
  EXPECT_EQ(got, expectedContinuation(std::vector<int32_t>(kContext, 1), 1));
  // Empty prompts and bad ids are errors.
  EXPECT_EQ(run({}, 4, nullptr, got), 2);
  EXPECT_EQ(run({1, 16}, 4, nullptr, got), 2);
  EXPECT_NE(error.find("16"), std::string::npos);
}

TEST(Generate, LogitsOutHoldsEveryEvaluatedRow) {
  TfmModelInfo m = fakeModel();
  SessionPtr s(m);
  std::string path = ::testing::TempDir() + "tfm_logits_out.bin";
  Sampler samp(greedy());
  GenerateConfig c;
  c.nPredict = 4;
  c.logitsOut = path;
  std::vector<int32_t> prompt = {2, 9, 9}, got;
  GenerateStats stats;
  std::string error;
  ASSERT_EQ(generateTokens(
                s.s, prompt, c, samp, [&](int32_t t) { got.push_back(t); },
                stats, error),
            0)
      << error;
  std::ifstream f(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)),
                          std::istreambuf_iterator<char>());
  int64_t rows = 3 + 4 - 1;
  ASSERT_EQ(int64_t(bytes.size()), rows * kVocab * 4);
  std::vector<float> l(size_t(rows * kVocab));
  std::memcpy(l.data(), bytes.data(), bytes.size());
  // Row r: logits after the first r + 1 tokens of prompt + generated.
  std::vector<int32_t> seq = prompt;
  seq.insert(seq.end(), got.begin(), got.end());
  for (int64_t r = 0; r < rows; ++r) {
    int64_t sum = 0;
    for (int64_t i = 0; i <= r; ++i)
      sum += seq[size_t(i)];
    for (int64_t vv = 0; vv < kVocab; ++vv)
      ASSERT_EQ(l[size_t(r * kVocab + vv)], -std::fabs(float(vv - target(sum))))
          << "row " << r;
  }
  std::remove(path.c_str());
  // An unwritable path is a clear error.
  c.logitsOut = "/nonexistent-dir/x.bin";
  EXPECT_EQ(
      generateTokens(s.s, prompt, c, samp, [](int32_t) {}, stats, error), 2);
  EXPECT_NE(error.find("/nonexistent-dir/x.bin"), std::string::npos);
}

/// Positions from which the poisoned model's logits hold a NaN (token 5).
int64_t poisonFrom = 0;

void poisonedEntry(TfmMemRefI8x1 *w, TfmMemRefI32x1 *tok, int64_t pos,
                   TfmMemRefF32x1 *kv, TfmMemRefF32x2 *logits) {
  fakeEntry(w, tok, pos, kv, logits);
  for (int64_t i = 0; i < tok->sizes[0]; ++i)
    if (pos + i >= poisonFrom)
      logits->aligned[logits->offset + i * logits->strides[0] + 5] = NAN;
}

TEST(Generate, NonFiniteLogitsStopAtTheirPosition) {
  // Issue 13, finding 9: NaN logits printed <unk> and exited 0.
  TfmModelInfo m = tfm::test::fakeModelInfo<poisonedEntry, poisonedEntry>(
      "poisoned", kVocab, kContext, kFakeWeights, sizeof kFakeWeights);
  SessionPtr session(m);
  Sampler samp(greedy());
  GenerateConfig c;
  c.nPredict = 8;
  std::vector<int32_t> prompt = {2, 9, 9}, got;
  GenerateStats stats;
  std::string error;
  auto collect = [&](int32_t t) { got.push_back(t); };
  // The prompt fills positions 0-2; generated tokens are evaluated at 3, 4,
  // 5: the third's logits are the first with a NaN, after three tokens.
  poisonFrom = 5;
  EXPECT_EQ(generateTokens(session.s, prompt, c, samp, collect, stats, error),
            1);
  EXPECT_EQ(error, "the logits at position 5 are not finite (NaN for token "
                   "5): the model's weights or activations hold NaN or "
                   "infinity");
  EXPECT_EQ(got, expectedContinuation(prompt, 3));
  // In the prompt: its last row is what generation would sample from.
  poisonFrom = 1;
  got.clear();
  EXPECT_EQ(generateTokens(session.s, prompt, c, samp, collect, stats, error),
            1);
  EXPECT_NE(error.find("the logits at position 2 are not finite"),
            std::string::npos)
      << error;
  EXPECT_TRUE(got.empty());
  // With --logits-out every row is checked, after it is written.
  std::string path = ::testing::TempDir() + "tfm_nan_logits.bin";
  c.logitsOut = path;
  EXPECT_EQ(generateTokens(session.s, prompt, c, samp, collect, stats, error),
            1);
  EXPECT_NE(error.find("the logits at position 1 are not finite"),
            std::string::npos)
      << error;
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  EXPECT_EQ(int64_t(f.tellg()), 3 * kVocab * 4);
  std::remove(path.c_str());
}

TEST(Session, ValidatesModelAndInputs) {
  char err[256];
  TfmModelInfo m = fakeModel();
  m.abi_version = 99;
  EXPECT_EQ(tfm_session_create(&m, 1, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("ABI 99"), std::string::npos) << err;
  m = fakeModel();
  m.kv_cache_floats = 5;
  EXPECT_EQ(tfm_session_create(&m, 1, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("kv_cache_floats"), std::string::npos);
  m = fakeModel();
  m.weights = nullptr;
  m.weights_file = "definitely-missing-weights.bin";
  EXPECT_EQ(tfm_session_create(&m, 1, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("definitely-missing-weights.bin"),
            std::string::npos);

  m = fakeModel();
  SessionPtr s(m);
  int32_t bad[2] = {3, -1};
  EXPECT_EQ(tfm_session_eval(s.s, bad, 2, nullptr), -1);
  EXPECT_NE(std::string(tfm_session_error(s.s)).find("-1"), std::string::npos);
  EXPECT_EQ(tfm_session_pos(s.s), 0);
  std::vector<int32_t> many(kContext + 1, 1);
  EXPECT_EQ(tfm_session_eval(s.s, many.data(), kContext + 1, nullptr), -1);
  EXPECT_EQ(tfm_session_eval(s.s, many.data(), 0, nullptr), -1);
  EXPECT_EQ(tfm_session_eval(s.s, many.data(), 3, nullptr), 0);
  EXPECT_EQ(tfm_session_pos(s.s), 3);
  EXPECT_EQ(tfm_session_last_logits(s.s)[target(3)], 0.0f);
}

TEST(Session, MapsSidecarWeights) {
  // Relative names resolve next to the executable (here: the test binary).
  char exe[4096];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  ASSERT_GT(len, 0);
  std::string dir(exe, size_t(len));
  dir = dir.substr(0, dir.rfind('/') + 1);
  std::string name = "tfm_session_test_weights.bin";
  // The blob, then the trailer that says whose it is (ModelAbi.h).
  TfmWeightsTrailer trailer{};
  std::memcpy(trailer.magic, TFM_WEIGHTS_MAGIC, 8);
  trailer.abi_version = TFM_ABI_VERSION;
  trailer.trailer_bytes = sizeof trailer;
  trailer.weights_bytes = sizeof kFakeWeights;
  trailer.spec_id = 0x1234;
  trailer.weights_id = 0x5678;
  auto writeSidecar = [&](const std::string &path) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char *>(kFakeWeights), sizeof kFakeWeights);
    f.write(reinterpret_cast<const char *>(&trailer), sizeof trailer);
  };
  writeSidecar(dir + name);
  TfmModelInfo m = fakeModel();
  m.weights = nullptr;
  m.weights_file = "tfm_session_test_weights.bin";
  m.spec_id = 0x1234;
  m.weights_id = 0x5678;
  {
    SessionPtr s(m);
    ASSERT_NE(s.s, nullptr);
    log = CallLog();
    int32_t tok = 4;
    ASSERT_EQ(tfm_session_eval(s.s, &tok, 1, nullptr), 0);
    EXPECT_FALSE(log.badArgs); // the entry point saw the mapped bytes
  }
  char err[512];
  // The embedding program's path comes first, then TFM_WEIGHTS.
  std::string other = dir + "tfm_session_test_other.bin";
  trailer.weights_id = 0x9999;
  writeSidecar(other);
  EXPECT_EQ(
      tfm_session_create_with_weights(&m, 1, other.c_str(), err, sizeof err),
      nullptr);
  EXPECT_NE(
      std::string(err).find("'" + other + "' was written by another compile"),
      std::string::npos)
      << err;
  setenv("TFM_WEIGHTS", other.c_str(), 1);
  EXPECT_EQ(tfm_session_create(&m, 1, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find(other), std::string::npos) << err;
  {
    // The argument wins over the environment.
    std::string right = dir + name;
    TfmSession *s =
        tfm_session_create_with_weights(&m, 1, right.c_str(), err, sizeof err);
    EXPECT_NE(s, nullptr) << err;
    tfm_session_destroy(s);
  }
  unsetenv("TFM_WEIGHTS");
  // Another model's file.
  m.spec_id = 0x4321;
  EXPECT_EQ(tfm_session_create(&m, 1, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("belongs to another model"),
            std::string::npos)
      << err;
  m.spec_id = 0x1234;
  // A size mismatch is refused.
  m.weights_bytes = 9;
  EXPECT_EQ(tfm_session_create(&m, 1, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("has 72 bytes, the model expects 73"),
            std::string::npos)
      << err;
  std::remove((dir + name).c_str());
  std::remove(other.c_str());
}

/// Runs tfmMain with captured stdout/stderr.
struct MainRun {
  int rc;
  std::string out, err;
};
MainRun runMain(const TfmModelInfo &m, std::vector<std::string> args) {
  std::vector<const char *> argv = {"fake-model"};
  for (const std::string &a : args)
    argv.push_back(a.c_str());
  std::FILE *out = std::tmpfile(), *err = std::tmpfile();
  MainRun r;
  r.rc = tfmMain(m, int(argv.size()), argv.data(), out, err);
  r.out = readFile(out);
  r.err = readFile(err);
  std::fclose(out);
  std::fclose(err);
  return r;
}

TEST(Main, TokenIdsWithoutTokenizer) {
  TfmModelInfo m = fakeModel();
  MainRun r = runMain(m, {"-p", "1 7 2", "-n", "3", "--temp", "0"});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::vector<int32_t> cont = expectedContinuation({1, 7, 2}, 3);
  EXPECT_EQ(r.out, "1 7 2 " + std::to_string(cont[0]) + " " +
                       std::to_string(cont[1]) + " " + std::to_string(cont[2]) +
                       "\n");
  EXPECT_NE(r.err.find("prompt: 3 tokens"), std::string::npos) << r.err;
  // Greedy draws no random numbers: no seed line (issue 14, bug 10).
  EXPECT_EQ(r.err.find("seed: "), std::string::npos) << r.err;
  r = runMain(m, {"-p", "1 7 2", "-n", "3", "--temp", "1"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("seed: "), std::string::npos); // no -s: random seed

  r = runMain(m, {"-p", "1 7 2", "-n", "3", "--temp", "0", "-s", "5",
                  "--no-timing", "--no-display-prompt"});
  ASSERT_EQ(r.rc, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, std::to_string(cont[0]) + " " + std::to_string(cont[1]) +
                       " " + std::to_string(cont[2]) + "\n");

  r = runMain(m, {"-p", "3 4", "--tokenize"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, "3 4\n");
}

TEST(Main, Errors) {
  TfmModelInfo m = fakeModel();
  MainRun r = runMain(m, {"--bogus"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("unknown flag --bogus"), std::string::npos);
  EXPECT_EQ(r.out, "");
  r = runMain(m, {"-p", "1 x"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("'x' is not a token id"), std::string::npos) << r.err;
  r = runMain(m, {"-p", "1 99"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("99"), std::string::npos);
  r = runMain(m, {});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("no tokenizer"), std::string::npos);
  r = runMain(m, {"-p", "1 1 1 1 1 1 1 1 1 1 1 1 1"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("context length is 12"), std::string::npos);
  EXPECT_EQ(r.out, "");
  r = runMain(m, {"-f", "/nonexistent/prompt.txt"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("/nonexistent/prompt.txt"), std::string::npos);
  r = runMain(m, {"--version"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("fake (test)"), std::string::npos) << r.out;
  r = runMain(m, {"--help"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("--n-predict"), std::string::npos);
}

// Text that cannot be written (stdout on a full disk; here /dev/full) makes
// the run fail with a message, whichever output it was.
TEST(Main, UnwritableOutputIsAnError) {
  TfmModelInfo m = fakeModel();
  std::vector<std::vector<std::string>> runs = {
      {"-p", "1 7 2", "-n", "3", "--temp", "0", "-s", "1"},
      {"--help"},
      {"-p", "3 4", "--tokenize"}};
  // Longer than stdio's buffer: the failure shows in a write, not a flush.
  std::string manyIds;
  for (int i = 0; i < 4000; ++i)
    manyIds += "3 ";
  runs.push_back({"-p", manyIds, "--tokenize"});
  for (const std::vector<std::string> &args : runs) {
    std::FILE *out = std::fopen("/dev/full", "w");
    ASSERT_NE(out, nullptr);
    std::FILE *err = std::tmpfile();
    std::vector<const char *> argv = {"fake-model"};
    for (const std::string &a : args)
      argv.push_back(a.c_str());
    int rc = tfmMain(m, int(argv.size()), argv.data(), out, err);
    std::string message = readFile(err);
    std::fclose(out);
    std::fclose(err);
    EXPECT_EQ(rc, 1) << args[0];
    EXPECT_NE(message.find("fake-model: error: cannot write the output: No "
                           "space left on device"),
              std::string::npos)
        << message;
  }
}

TEST(Main, StreamsTextThroughTheTokenizer) {
  std::vector<std::string> pieces = {"<unk>", "<s>", "</s>"};
  for (const char *w : {"Once", "upon", "a", "time", "there", "was", "cat",
                        "dog", "sun", "big", "red", "ran", "home"})
    pieces.push_back(std::string("\xE2\x96\x81") + w); // "▁" + word
  std::vector<float> scores(pieces.size(), 0.0f);
  std::vector<TokenType> types(pieces.size(), TokenType::Normal);
  types[0] = TokenType::Unknown;
  types[1] = types[2] = TokenType::Control;
  std::string error;
  std::unique_ptr<Tokenizer> tok =
      Tokenizer::createSentencePiece(pieces, scores, types, 1, 2, error);
  ASSERT_TRUE(tok) << error;
  std::vector<uint8_t> bytes = tok->serialize();
  TfmModelInfo m = fakeModel();
  m.tokenizer = bytes.data();
  m.tokenizer_bytes = int64_t(bytes.size());

  // Empty prompt: BOS alone. Output: decode of everything after BOS, up to
  // (not including) a sampled BOS/EOS.
  std::vector<int32_t> cont = expectedContinuation({1}, 8);
  std::vector<int32_t> shown = {1};
  for (int32_t t : cont) {
    if (t == 1 || t == 2)
      break;
    shown.push_back(t);
  }
  MainRun r = runMain(m, {"-n", "8", "--temp", "0", "-s", "1"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, tok->decode(shown) + "\n");
  EXPECT_NE(r.err.find("prompt: 1 tokens"), std::string::npos) << r.err;

  r = runMain(m, {"-p", "", "--no-bos"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("empty"), std::string::npos);
}

/// A run that must exit 2 with `message`, before it prints or evaluates
/// anything.
void expectRefusedBeforeOutput(const TfmModelInfo &m,
                               std::vector<std::string> args,
                               const std::string &message) {
  log = CallLog();
  MainRun r = runMain(m, std::move(args));
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  EXPECT_EQ(log.prefills, 0);
}

// Outputs are checked before anything is printed or evaluated (issue 14,
// bug 7: a bad --logits-out failed after the prompt was shown).
TEST(Main, BadLogitsOutFailsBeforeAnyOutput) {
  expectRefusedBeforeOutput(
      fakeModel(),
      {"-p", "1 7 2", "-n", "3", "--temp", "0", "--logits-out",
       "/nonexistent-dir/l.bin"},
      "cannot open '/nonexistent-dir/l.bin' for --logits-out");
}

// --attention-out needs the probe entry point (tfmc --probes=attention):
// without it, an error before anything is printed or evaluated.
TEST(Main, AttentionOutNeedsTheProbe) {
  TfmModelInfo m = fakeModel();
  ASSERT_EQ(m.probe_attention, nullptr);
  expectRefusedBeforeOutput(
      m,
      {"-p", "1 7 2", "-n", "3", "--temp", "0", "--attention-out",
       "/nonexistent-dir/a.npy"},
      "--attention-out needs a model compiled with tfmc --probes=attention");
}

// -c limits the positions of the run; more than compiled is an error.
TEST(Main, CtxSize) {
  TfmModelInfo m = fakeModel();
  MainRun r = runMain(m, {"-p", "1 7", "-n", "-1", "--temp", "0", "-c", "5",
                          "--no-display-prompt", "--no-timing"});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::vector<int32_t> cont = expectedContinuation({1, 7}, 4); // 5 - 2 + 1
  std::string want;
  for (int32_t t : cont)
    want += (want.empty() ? "" : " ") + std::to_string(t);
  EXPECT_EQ(r.out, want + "\n");
  r = runMain(m, {"-p", "1 7 2 3 4 5", "-c", "5"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("the prompt has 6 tokens but the context length is 5"),
            std::string::npos)
      << r.err;
  r = runMain(m, {"-p", "1", "-c", "13"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("-c 13 exceeds the compiled context length 12"),
            std::string::npos)
      << r.err;

  SessionPtr s(m);
  EXPECT_EQ(tfm_session_context(s.s), kContext);
  EXPECT_EQ(tfm_session_kv_cache_floats(s.s), 2 * kContext);
  EXPECT_EQ(tfm_session_set_context(s.s, 0), -1);
  EXPECT_EQ(tfm_session_set_context(s.s, kContext + 1), -1);
  ASSERT_EQ(tfm_session_set_context(s.s, 3), 0);
  // The cache is allocated for 3 positions, and the entry points see it.
  EXPECT_EQ(tfm_session_kv_cache_floats(s.s), 2 * 3);
  int32_t toks[4] = {1, 2, 3, 4};
  EXPECT_EQ(tfm_session_eval(s.s, toks, 4, nullptr), -1);
  EXPECT_NE(std::string(tfm_session_error(s.s)).find("context length 3"),
            std::string::npos);
  log = CallLog();
  ASSERT_EQ(tfm_session_eval(s.s, toks, 2, nullptr), 0);
  EXPECT_FALSE(log.badArgs);
  EXPECT_EQ(tfm_session_set_context(s.s, 1), -1); // below the position
  // Growing the context keeps the cached positions: the continuation is
  // the one of a session that never changed its context.
  ASSERT_EQ(tfm_session_set_context(s.s, kContext), 0);
  EXPECT_EQ(tfm_session_kv_cache_floats(s.s), 2 * kContext);
  SessionPtr full(m);
  ASSERT_EQ(tfm_session_eval(full.s, toks, 2, nullptr), 0);
  ASSERT_EQ(tfm_session_eval(s.s, toks + 2, 2, nullptr), 0);
  ASSERT_EQ(tfm_session_eval(full.s, toks + 2, 2, nullptr), 0);
  EXPECT_EQ(std::vector<float>(tfm_session_last_logits(s.s),
                               tfm_session_last_logits(s.s) + kVocab),
            std::vector<float>(tfm_session_last_logits(full.s),
                               tfm_session_last_logits(full.s) + kVocab));
  EXPECT_FALSE(log.badArgs);
  EXPECT_EQ(tfm_session_kv_cache_floats(nullptr), -1);
  EXPECT_EQ(tfm_session_context(nullptr), -1);
  EXPECT_EQ(tfm_session_set_context(nullptr, 2), -1);
}

/// A SentencePiece vocabulary of whole words over the fake model's ids.
std::vector<uint8_t> wordTokenizer() {
  std::vector<std::string> pieces = {"<unk>", "<s>", "</s>"};
  for (const char *w : {"Once", "upon", "a", "time", "there", "was", "cat",
                        "dog", "sun", "big", "red", "ran", "home"})
    pieces.push_back(std::string("\xE2\x96\x81") + w);
  std::vector<float> scores(pieces.size(), 0.0f);
  std::vector<TokenType> types(pieces.size(), TokenType::Normal);
  types[0] = TokenType::Unknown;
  types[1] = types[2] = TokenType::Control;
  std::string error;
  auto tok = Tokenizer::createSentencePiece(pieces, scores, types, 1, 2, error);
  EXPECT_TRUE(tok) << error;
  return tok->serialize();
}

// -r stops when the text ends with one of the strings; --ignore-eos goes on
// past EOS/BOS.
TEST(Main, ReversePromptAndIgnoreEos) {
  std::vector<uint8_t> bytes = wordTokenizer();
  TfmModelInfo m = fakeModel();
  m.tokenizer = bytes.data();
  m.tokenizer_bytes = int64_t(bytes.size());
  std::string error;
  auto tok = Tokenizer::deserialize(bytes.data(), bytes.size(), error);
  std::vector<int32_t> cont = expectedContinuation({1}, 8);
  ASSERT_GE(cont[2], 3); // the fake model never samples BOS/EOS
  // Stop at the third generated word.
  std::string third = tok->decode({cont[2]});
  MainRun r =
      runMain(m, {"-n", "8", "--temp", "0", "-r", third, "--no-timing"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, tok->decode({1, cont[0], cont[1], cont[2]}) + "\n");
  // A string never produced does not stop anything.
  r = runMain(m, {"-n", "8", "--temp", "0", "-r", "zebra", "--no-timing"});
  std::vector<int32_t> all = {1};
  all.insert(all.end(), cont.begin(), cont.end());
  EXPECT_EQ(r.out, tok->decode(all) + "\n");

  // A vocabulary whose EOS is a word the model samples: it stops there,
  // unless --ignore-eos.
  std::vector<std::string> pieces;
  for (int32_t id = 0; id < int32_t(kVocab); ++id)
    pieces.push_back(id == 0   ? "<unk>"
                     : id == 1 ? "<s>"
                               : "\xE2\x96\x81w" + std::to_string(id));
  std::vector<TokenType> types(pieces.size(), TokenType::Normal);
  types[0] = TokenType::Unknown;
  types[1] = TokenType::Control;
  auto eosTok = Tokenizer::createSentencePiece(
      pieces, std::vector<float>(pieces.size(), 0.0f), types, 1, cont[3],
      error);
  ASSERT_TRUE(eosTok) << error;
  std::vector<uint8_t> eosBytes = eosTok->serialize();
  m.tokenizer = eosBytes.data();
  m.tokenizer_bytes = int64_t(eosBytes.size());
  size_t firstEos =
      size_t(std::find(cont.begin(), cont.end(), cont[3]) - cont.begin());
  r = runMain(m, {"-n", "8", "--temp", "0", "--no-timing"});
  std::vector<int32_t> shown = {1};
  shown.insert(shown.end(), cont.begin(), cont.begin() + firstEos);
  EXPECT_EQ(r.out, eosTok->decode(shown) + "\n");
  r = runMain(m, {"-n", "8", "--temp", "0", "--no-timing", "--ignore-eos"});
  EXPECT_EQ(r.out, eosTok->decode(all) + "\n");
}

// --n-probs: the top-N of softmax(logits) per generated token, on stderr.
TEST(Main, NProbs) {
  TfmModelInfo m = fakeModel();
  MainRun r = runMain(m, {"-p", "1 7", "-n", "2", "--temp", "0", "--n-probs",
                          "3", "--no-timing"});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::vector<int32_t> cont = expectedContinuation({1, 7}, 2);
  // Logits -|v - target|: the target, then its neighbours (lower id first).
  std::string want;
  std::vector<int32_t> seq = {1, 7};
  for (int32_t next : cont) {
    int64_t sum = 0;
    for (int32_t t : seq)
      sum += t;
    int32_t tg = target(sum);
    double z = 0;
    for (int64_t vv = 0; vv < kVocab; ++vv)
      z += std::exp(-std::fabs(double(vv - tg)));
    char line[256];
    std::snprintf(line, sizeof line, "probs: %d %.6g %d %.6g %d %.6g\n", tg,
                  1 / z, tg - 1, std::exp(-1.0) / z, tg + 1,
                  std::exp(-1.0) / z);
    want += line;
    seq.push_back(next);
  }
  EXPECT_EQ(r.err, want);
}

/// The fake decode that raises SIGINT (Ctrl-C) at its third call.
void interruptingDecode(TfmMemRefI8x1 *w, TfmMemRefI32x1 *tok, int64_t pos,
                        TfmMemRefF32x1 *kv, TfmMemRefF32x2 *logits) {
  if (++log.decodes == 3)
    std::raise(SIGINT);
  fakeEntry(w, tok, pos, kv, logits);
}

// Ctrl-C ends the generation cleanly: the text so far, the newline, the
// timing line, exit code 130.
TEST(Main, InterruptEndsCleanly) {
  TfmModelInfo m = fakeModel();
  m.decode = interruptingDecode;
  log = CallLog();
  MainRun r = runMain(m, {"-p", "1 7", "-n", "8", "--temp", "0"});
  EXPECT_EQ(r.rc, 130) << r.err;
  std::vector<int32_t> cont = expectedContinuation({1, 7}, 3);
  EXPECT_EQ(r.out, "1 7 " + std::to_string(cont[0]) + " " +
                       std::to_string(cont[1]) + " " + std::to_string(cont[2]) +
                       "\n");
  EXPECT_NE(r.err.find("generated: 3 tokens"), std::string::npos) << r.err;
  EXPECT_EQ(log.decodes, 3);
  // The handler is gone afterwards: SIGINT is ignored here, as before.
  struct sigaction now;
  sigaction(SIGINT, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_DFL);
}

} // namespace
