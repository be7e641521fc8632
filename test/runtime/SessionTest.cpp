//===- SessionTest.cpp - The C API under concurrent and careless callers --===//
//
// The fake model here runs a real kernel: its entry points compute
// logits = x * W^T with tfmrt_linear, where row t of x depends on the token
// and on its absolute position, so a lost position or a split in the wrong
// place changes the numbers. The test recomputes them with plain loops.
// (GenerateTest.cpp covers validation and sidecar weights with a fake model
// built for the generation loop.)
//
//===----------------------------------------------------------------------===//

#include "FakeModel.h"

#include "tfm/runtime/Kernels.h"
#include "tfm/runtime/Session.h"
#include "tfm/runtime/ThreadPool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZER_ALLOCATOR 1
#elif defined(__has_feature)
#define SANITIZER_ALLOCATOR                                                    \
  (__has_feature(address_sanitizer) || __has_feature(thread_sanitizer))
#else
#define SANITIZER_ALLOCATOR 0
#endif

namespace {

constexpr int64_t V = 256, K = 64, Ctx = 32;

/// W[v][k], the "LM head" of the fake model.
const std::vector<float> &headWeights() {
  static const std::vector<float> W = [] {
    std::vector<float> W(size_t(V * K));
    for (int64_t I = 0; I < V * K; ++I)
      W[size_t(I)] = float(std::sin(0.37 * double(I)));
    return W;
  }();
  return W;
}

float input(int32_t Token, int64_t Position, int64_t Col) {
  return float(std::cos(0.11 * Token + 0.05 * double(Position) + 0.7 * Col));
}

/// What the entry points saw, per calling thread.
thread_local int SeenThreads = 0;
thread_local int64_t MaxTokensPerCall = 0;

void fakeEntry(TfmMemRefI8x1 *W, TfmMemRefI32x1 *Tok, int64_t Pos,
               TfmMemRefF32x1 *Kv, TfmMemRefF32x2 *Logits) {
  tfm::rt::ThreadPool *Pool = tfm::rt::ThreadPool::current();
  SeenThreads = Pool ? Pool->numThreads() : 0;
  int64_t T = Tok->sizes[0];
  MaxTokensPerCall = std::max(MaxTokensPerCall, T);
  std::vector<float> X(size_t(T * K));
  for (int64_t R = 0; R < T; ++R) {
    int32_t Id = Tok->aligned[Tok->offset + R];
    Kv->aligned[Pos + R] = float(Id); // positions land in the cache
    for (int64_t C = 0; C < K; ++C)
      X[size_t(R * K + C)] = input(Id, Pos + R, C);
  }
  float *Head = reinterpret_cast<float *>(W->aligned);
  TfmMemRefF32x2 XRef{X.data(), X.data(), 0, {T, K}, {K, 1}};
  TfmMemRefF32x2 WRef{Head, Head, 0, {V, K}, {K, 1}};
  _mlir_ciface_tfmrt_linear(Logits, &XRef, &WRef, 0);
}

TfmModelInfo fakeModel(int64_t PrefillChunk = Ctx) {
  TfmModelInfo M =
      tfm::test::fakeModelInfo("fake-linear", V, Ctx, headWeights().data(),
                               int64_t(headWeights().size() * sizeof(float)),
                               fakeEntry, fakeEntry, PrefillChunk);
  M.dim = K;
  return M;
}

/// Largest difference between `Logits` (rows for `Tokens` starting at
/// `Pos`) and the plain-loop result.
double logitsError(const std::vector<int32_t> &Tokens, int64_t Pos,
                   const float *Logits) {
  const std::vector<float> &W = headWeights();
  double Worst = 0;
  for (size_t R = 0; R < Tokens.size(); ++R)
    for (int64_t Vv = 0; Vv < V; ++Vv) {
      double Sum = 0;
      for (int64_t C = 0; C < K; ++C)
        Sum += double(input(Tokens[R], Pos + int64_t(R), C)) *
               W[size_t(Vv * K + C)];
      Worst = std::max(Worst, std::fabs(Sum - Logits[R * V + size_t(Vv)]));
    }
  return Worst;
}

/// Resident set size of this process in bytes.
int64_t residentBytes() {
  std::FILE *F = std::fopen("/proc/self/statm", "r");
  long long Size = 0, Resident = 0;
  if (F) {
    if (std::fscanf(F, "%lld %lld", &Size, &Resident) != 2)
      Resident = 0;
    std::fclose(F);
  }
  return Resident * 4096;
}

// Sessions with different thread counts are created, run and destroyed on
// several threads at once. With one process-wide pool, creating a session
// replaced the pool under the kernels of another (SIGSEGV, TSan races).
TEST(Session, ConcurrentSessionsKeepTheirOwnThreads) {
  TfmModelInfo M = fakeModel();
  std::atomic<int> Failures{0};
  std::vector<std::string> Messages(3);
  auto Worker = [&](int Index, int Threads) {
    std::vector<int32_t> Prompt = {3, 1, 4, 1, 5, 9, 2};
    for (int32_t &T : Prompt)
      T = (T * (Index + 3)) % int32_t(V);
    std::vector<float> Logits(Prompt.size() * V);
    for (int Rep = 0; Rep < 40; ++Rep) {
      char Err[256] = "";
      TfmSession *S = tfm_session_create(&M, Threads, Err, sizeof Err);
      if (!S) {
        Messages[size_t(Index)] = Err;
        ++Failures;
        return;
      }
      bool Ok =
          tfm_session_eval(S, Prompt.data(), int64_t(Prompt.size()),
                           Logits.data()) == 0 &&
          SeenThreads == Threads &&
          logitsError(Prompt, 0, Logits.data()) < 1e-4;
      int32_t Next = int32_t(Rep % V);
      Ok = Ok && tfm_session_eval(S, &Next, 1, Logits.data()) == 0 &&
           SeenThreads == Threads &&
           logitsError({Next}, int64_t(Prompt.size()), Logits.data()) < 1e-4;
      if (!Ok) {
        Messages[size_t(Index)] =
            "rep " + std::to_string(Rep) + ": threads seen " +
            std::to_string(SeenThreads) + ", error '" +
            tfm_session_error(S) + "'";
        ++Failures;
      }
      tfm_session_destroy(S);
      if (!Ok)
        return;
    }
  };
  std::vector<std::thread> Threads;
  for (int I = 0; I < 3; ++I)
    Threads.emplace_back(Worker, I, I + 1);
  for (std::thread &T : Threads)
    T.join();
  EXPECT_EQ(Failures.load(), 0) << Messages[0] << " | " << Messages[1]
                                << " | " << Messages[2];
}

// A long eval runs in calls of at most prefill_chunk tokens, each at its
// own position, and gives the same logits as the plain loops.
TEST(Session, LongEvalsRunInChunks) {
  for (int64_t Chunk : {int64_t(1), int64_t(3), Ctx}) {
    TfmModelInfo M = fakeModel(Chunk);
    char Err[256] = "";
    TfmSession *S = tfm_session_create(&M, 2, Err, sizeof Err);
    ASSERT_NE(S, nullptr) << Err;
    std::vector<int32_t> First = {7, 8, 9, 10, 11, 12, 13, 14};
    std::vector<int32_t> Second = {200, 201, 202, 203, 204};
    std::vector<float> Logits(First.size() * V);
    MaxTokensPerCall = 0;
    ASSERT_EQ(tfm_session_eval(S, First.data(), 8, Logits.data()), 0);
    EXPECT_LT(logitsError(First, 0, Logits.data()), 1e-4) << "chunk " << Chunk;
    // Without a logits buffer only the last row is kept.
    ASSERT_EQ(tfm_session_eval(S, Second.data(), 5, nullptr), 0);
    EXPECT_LT(logitsError({Second.back()}, 8 + 4, tfm_session_last_logits(S)),
              1e-4);
    EXPECT_EQ(MaxTokensPerCall, std::min<int64_t>(Chunk, 8)) << "chunk " << Chunk;
    EXPECT_EQ(tfm_session_pos(S), 13);
    tfm_session_destroy(S);
  }
}

/// A fake attention probe: prefill, and every (layer, head, query, key)
/// cell of the window it is given, [layers, heads, T, pos + T], set to a
/// value naming it (query and key as absolute positions).
void fakeProbe(TfmMemRefI8x1 *W, TfmMemRefI32x1 *Tok, int64_t Pos,
               TfmMemRefF32x1 *Kv, TfmMemRefF32x2 *Logits, TfmMemRefF32x4 *A) {
  fakeEntry(W, Tok, Pos, Kv, Logits);
  ASSERT_EQ(A->sizes[2], Tok->sizes[0]);
  ASSERT_EQ(A->sizes[3], Pos + Tok->sizes[0]);
  for (int64_t L = 0; L < A->sizes[0]; ++L)
    for (int64_t H = 0; H < A->sizes[1]; ++H)
      for (int64_t Q = 0; Q < A->sizes[2]; ++Q)
        for (int64_t Key = 0; Key < A->sizes[3]; ++Key)
          A->aligned[A->offset + L * A->strides[0] + H * A->strides[1] +
                     Q * A->strides[2] + Key * A->strides[3]] =
              float(L * 1000000 + H * 10000 + (Pos + Q) * 100 + Key);
}

// tfm_session_eval_attention hands the probe, chunk by chunk, the rows of
// one [layers, heads, n, pos0 + n] matrix: each chunk writes its queries'
// rows up to its last key; later keys stay zero.
TEST(Session, AttentionProbeFillsRowsChunkByChunk) {
  for (int64_t Chunk : {int64_t(1), int64_t(3), Ctx}) {
    TfmModelInfo M = fakeModel(Chunk);
    M.n_layers = 2;
    M.n_heads = 3;
    M.kv_cache_floats = 2 * 2 * Ctx; // two layers of one head of width 1
    char Err[256] = "";
    TfmSession *S = tfm_session_create(&M, 1, Err, sizeof Err);
    ASSERT_NE(S, nullptr) << Err;
    std::vector<int32_t> First = {7, 8}, Second = {9, 10, 11, 12, 13};
    std::vector<float> Attn(2 * 3 * 5 * 7, -1.0f), Logits(5 * V);
    EXPECT_EQ(
        tfm_session_eval_attention(S, First.data(), 2, nullptr, Attn.data()),
        -1); // compiled without the probe
    M.probe_attention = fakeProbe;
    ASSERT_EQ(tfm_session_eval(S, First.data(), 2, nullptr), 0);
    ASSERT_EQ(tfm_session_eval_attention(S, Second.data(), 5, Logits.data(),
                                         Attn.data()),
              0)
        << tfm_session_error(S);
    EXPECT_LT(logitsError(Second, 2, Logits.data()), 1e-4);
    for (int64_t L = 0; L < 2; ++L)
      for (int64_t H = 0; H < 3; ++H)
        for (int64_t Q = 0; Q < 5; ++Q)
          for (int64_t Key = 0; Key < 7; ++Key) {
            // The chunk of query Q ends at key 2 + (its chunk's end) - 1.
            int64_t ChunkEnd = std::min<int64_t>((Q / Chunk + 1) * Chunk, 5);
            float Want =
                Key < 2 + ChunkEnd
                    ? float(L * 1000000 + H * 10000 + (2 + Q) * 100 + Key)
                    : 0.0f;
            EXPECT_EQ(Attn[size_t(((L * 3 + H) * 5 + Q) * 7 + Key)], Want)
                << "chunk " << Chunk << " at " << L << " " << H << " " << Q
                << " " << Key;
          }
    tfm_session_destroy(S);
  }
}

// Untouched KV cache pages cost nothing: a 1 GiB cache is not zeroed (and
// so not made resident) when the session starts.
TEST(Session, KvCacheIsMappedLazily) {
  TfmModelInfo M = fakeModel();
  M.context_length = int64_t(1) << 27;
  M.kv_cache_floats = 2 * M.context_length; // 1 GiB
  int64_t Before = residentBytes();
  char Err[256] = "";
  TfmSession *S = tfm_session_create(&M, 1, Err, sizeof Err);
  ASSERT_NE(S, nullptr) << Err;
  int64_t Grown = residentBytes() - Before;
  EXPECT_LT(Grown, int64_t(64) << 20) << Grown << " bytes became resident";
  int32_t Tok = 5;
  std::vector<float> Logits(V);
  ASSERT_EQ(tfm_session_eval(S, &Tok, 1, Logits.data()), 0);
  EXPECT_LT(logitsError({Tok}, 0, Logits.data()), 1e-4);
  tfm_session_destroy(S);
}

TEST(Session, CarelessCallersGetErrorCodes) {
  // No session at all.
  int32_t Tok = 1;
  float Row[V];
  EXPECT_EQ(tfm_session_eval(nullptr, &Tok, 1, Row), -1);
  EXPECT_EQ(tfm_session_pos(nullptr), -1);
  EXPECT_EQ(tfm_session_last_logits(nullptr), nullptr);
  EXPECT_EQ(tfm_session_model(nullptr), nullptr);
  EXPECT_STRNE(tfm_session_error(nullptr), "");
  tfm_session_reset(nullptr);
  tfm_session_destroy(nullptr);

  // More threads than a pool runs: an error, not std::system_error.
  TfmModelInfo M = fakeModel();
  char Err[256] = "";
  EXPECT_EQ(tfm_session_create(&M, 100000, Err, sizeof Err), nullptr);
  EXPECT_NE(std::string(Err).find("at most 4096"), std::string::npos) << Err;

  TfmSession *S = tfm_session_create(&M, 1, Err, sizeof Err);
  ASSERT_NE(S, nullptr) << Err;
  EXPECT_EQ(tfm_session_eval(S, nullptr, 1, Row), -1);
  ASSERT_EQ(tfm_session_eval(S, &Tok, 1, Row), 0);
  // pos + n wraps around for n = INT64_MAX: refused before any token is read.
  EXPECT_EQ(tfm_session_eval(S, &Tok, INT64_MAX, nullptr), -1);
  const char *Message = tfm_session_error(S);
  EXPECT_NE(std::string(Message).find("exceed the context"), std::string::npos)
      << Message;
  EXPECT_EQ(tfm_session_pos(S), 1);
  tfm_session_destroy(S);
}

// What the C++ library throws inside the API (here std::bad_alloc for a
// vocabulary too large to hold one logits row) comes back as an error.
TEST(Session, NoExceptionCrossesTheCApi) {
#if SANITIZER_ALLOCATOR
  GTEST_SKIP() << "the sanitizer's operator new reports an impossible "
                  "allocation instead of throwing";
#else
  TfmModelInfo M = fakeModel();
  M.vocab_size = int64_t(1) << 55; // 128 PiB of floats per row
  char Err[256] = "";
  TfmSession *S = nullptr;
  EXPECT_NO_THROW(S = tfm_session_create(&M, 1, Err, sizeof Err));
  if (S) {
    int32_t Tok = 1;
    EXPECT_NO_THROW(EXPECT_EQ(tfm_session_eval(S, &Tok, 1, nullptr), -1));
    tfm_session_destroy(S);
  } else {
    EXPECT_NE(std::string(Err).find("memory"), std::string::npos) << Err;
  }
#endif
}

} // namespace
