//===- SessionTest.cpp - The C API under concurrent and careless callers --===//
//
// The fake model here runs on the session's pool as generated code does:
// its entry points compute logits = x * W^T through tfmrt_parallel_for,
// where row t of x depends on the token and on its absolute position, so a
// lost position or a split in the wrong place changes the numbers. The test
// recomputes them in double precision.
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

constexpr int64_t kVocab = 256, kDim = 64, kContext = 32;

/// W[v][k], the "LM head" of the fake model.
const std::vector<float> &headWeights() {
  static const std::vector<float> weights = [] {
    std::vector<float> w(size_t(kVocab * kDim));
    for (int64_t i = 0; i < kVocab * kDim; ++i)
      w[size_t(i)] = float(std::sin(0.37 * double(i)));
    return w;
  }();
  return weights;
}

float input(int32_t token, int64_t position, int64_t col) {
  return float(std::cos(0.11 * token + 0.05 * double(position) + 0.7 * col));
}

/// What the entry points saw, per calling thread.
thread_local int seenThreads = 0;
thread_local int64_t maxTokensPerCall = 0;

/// Columns [begin, end) of out = x * w^T, as an outlined body takes them.
void linearBody(int64_t begin, int64_t end, float *, float *out, int64_t outOff,
                int64_t rows, int64_t, int64_t outStride, int64_t, float *,
                float *x, int64_t xOff, int64_t, int64_t k, int64_t xStride,
                int64_t, float *, float *w, int64_t wOff, int64_t, int64_t,
                int64_t wStride, int64_t) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t n = begin; n < end; ++n) {
      float sum = 0;
      for (int64_t c = 0; c < k; ++c)
        sum += x[xOff + r * xStride + c] * w[wOff + n * wStride + c];
      out[outOff + r * outStride + n] = sum;
    }
}

void fakeEntry(TfmMemRefI8x1 *w, TfmMemRefI32x1 *tok, int64_t pos,
               TfmMemRefF32x1 *kv, TfmMemRefF32x2 *logits) {
  tfm::rt::ThreadPool *pool = tfm::rt::ThreadPool::current();
  seenThreads = pool ? pool->getNumThreads() : 0;
  int64_t t = tok->sizes[0];
  maxTokensPerCall = std::max(maxTokensPerCall, t);
  std::vector<float> x(size_t(t * kDim));
  for (int64_t r = 0; r < t; ++r) {
    int32_t id = tok->aligned[tok->offset + r];
    kv->aligned[pos + r] = float(id); // positions land in the cache
    for (int64_t c = 0; c < kDim; ++c)
      x[size_t(r * kDim + c)] = input(id, pos + r, c);
  }
  float *head = reinterpret_cast<float *>(w->aligned);
  TfmMemRefF32x2 xRef{x.data(), x.data(), 0, {t, kDim}, {kDim, 1}};
  TfmMemRefF32x2 wRef{head, head, 0, {kVocab, kDim}, {kDim, 1}};
  _mlir_ciface_tfmrt_parallel_for(linearBody, logits, &xRef, &wRef, kVocab,
                                  t * kDim);
}

TfmModelInfo fakeModel(int64_t prefillChunk = kContext) {
  TfmModelInfo m = tfm::test::fakeModelInfo<fakeEntry, fakeEntry>(
      "fake-linear", kVocab, kContext, headWeights().data(),
      int64_t(headWeights().size() * sizeof(float)), prefillChunk);
  m.dim = kDim;
  return m;
}

/// Largest difference between `logits` (rows for `tokens` starting at
/// `pos`) and the plain-loop result.
double logitsError(const std::vector<int32_t> &tokens, int64_t pos,
                   const float *logits) {
  const std::vector<float> &w = headWeights();
  double worst = 0;
  for (size_t r = 0; r < tokens.size(); ++r)
    for (int64_t vv = 0; vv < kVocab; ++vv) {
      double sum = 0;
      for (int64_t c = 0; c < kDim; ++c)
        sum += double(input(tokens[r], pos + int64_t(r), c)) *
               w[size_t(vv * kDim + c)];
      worst = std::max(worst, std::fabs(sum - logits[r * kVocab + size_t(vv)]));
    }
  return worst;
}

/// Resident set size of this process in bytes.
int64_t residentBytes() {
  std::FILE *f = std::fopen("/proc/self/statm", "r");
  long long size = 0, resident = 0;
  if (f) {
    if (std::fscanf(f, "%lld %lld", &size, &resident) != 2)
      resident = 0;
    std::fclose(f);
  }
  return resident * 4096;
}

// Sessions with different thread counts are created, run and destroyed on
// several threads at once. With one process-wide pool, creating a session
// replaced the pool under the kernels of another (SIGSEGV, TSan races).
TEST(Session, ConcurrentSessionsKeepTheirOwnThreads) {
  TfmModelInfo m = fakeModel();
  std::atomic<int> failures{0};
  std::vector<std::string> messages(3);
  auto worker = [&](int index, int threads) {
    std::vector<int32_t> prompt = {3, 1, 4, 1, 5, 9, 2};
    for (int32_t &t : prompt)
      t = (t * (index + 3)) % int32_t(kVocab);
    std::vector<float> logits(prompt.size() * kVocab);
    for (int rep = 0; rep < 40; ++rep) {
      char err[256] = "";
      TfmSession *s = tfm_session_create(&m, threads, err, sizeof err);
      if (!s) {
        messages[size_t(index)] = err;
        ++failures;
        return;
      }
      bool ok = tfm_session_eval(s, prompt.data(), int64_t(prompt.size()),
                                 logits.data()) == 0 &&
                seenThreads == threads &&
                logitsError(prompt, 0, logits.data()) < 1e-4;
      int32_t next = int32_t(rep % kVocab);
      ok = ok && tfm_session_eval(s, &next, 1, logits.data()) == 0 &&
           seenThreads == threads &&
           logitsError({next}, int64_t(prompt.size()), logits.data()) < 1e-4;
      if (!ok) {
        messages[size_t(index)] = "rep " + std::to_string(rep) +
                                  ": threads seen " +
                                  std::to_string(seenThreads) + ", error '" +
                                  tfm_session_error(s) + "'";
        ++failures;
      }
      tfm_session_destroy(s);
      if (!ok)
        return;
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i)
    threads.emplace_back(worker, i, i + 1);
  for (std::thread &t : threads)
    t.join();
  EXPECT_EQ(failures.load(), 0)
      << messages[0] << " | " << messages[1] << " | " << messages[2];
}

// A long eval runs in calls of at most prefill_chunk tokens, each at its
// own position, and gives the same logits as the plain loops.
TEST(Session, LongEvalsRunInChunks) {
  for (int64_t chunk : {int64_t(1), int64_t(3), kContext}) {
    TfmModelInfo m = fakeModel(chunk);
    char err[256] = "";
    TfmSession *s = tfm_session_create(&m, 2, err, sizeof err);
    ASSERT_NE(s, nullptr) << err;
    std::vector<int32_t> first = {7, 8, 9, 10, 11, 12, 13, 14};
    std::vector<int32_t> second = {200, 201, 202, 203, 204};
    std::vector<float> logits(first.size() * kVocab);
    maxTokensPerCall = 0;
    ASSERT_EQ(tfm_session_eval(s, first.data(), 8, logits.data()), 0);
    EXPECT_LT(logitsError(first, 0, logits.data()), 1e-4) << "chunk " << chunk;
    // Without a logits buffer only the last row is kept.
    ASSERT_EQ(tfm_session_eval(s, second.data(), 5, nullptr), 0);
    EXPECT_LT(logitsError({second.back()}, 8 + 4, tfm_session_last_logits(s)),
              1e-4);
    EXPECT_EQ(maxTokensPerCall, std::min<int64_t>(chunk, 8))
        << "chunk " << chunk;
    EXPECT_EQ(tfm_session_pos(s), 13);
    tfm_session_destroy(s);
  }
}

/// A fake attention probe: prefill, and every (layer, head, query, key)
/// cell of the window it is given, [layers, heads, T, pos + T], set to a
/// value naming it (query and key as absolute positions).
void fakeProbe(TfmMemRefI8x1 *w, TfmMemRefI32x1 *tok, int64_t pos,
               TfmMemRefF32x1 *kv, TfmMemRefF32x2 *logits, TfmMemRefF32x4 *a) {
  fakeEntry(w, tok, pos, kv, logits);
  ASSERT_EQ(a->sizes[2], tok->sizes[0]);
  ASSERT_EQ(a->sizes[3], pos + tok->sizes[0]);
  for (int64_t l = 0; l < a->sizes[0]; ++l)
    for (int64_t h = 0; h < a->sizes[1]; ++h)
      for (int64_t q = 0; q < a->sizes[2]; ++q)
        for (int64_t key = 0; key < a->sizes[3]; ++key)
          a->aligned[a->offset + l * a->strides[0] + h * a->strides[1] +
                     q * a->strides[2] + key * a->strides[3]] =
              float(l * 1000000 + h * 10000 + (pos + q) * 100 + key);
}

// tfm_session_eval_attention hands the probe, chunk by chunk, the rows of
// one [layers, heads, n, pos0 + n] matrix: each chunk writes its queries'
// rows up to its last key; later keys stay zero.
TEST(Session, AttentionProbeFillsRowsChunkByChunk) {
  for (int64_t chunk : {int64_t(1), int64_t(3), kContext}) {
    TfmModelInfo m = fakeModel(chunk);
    m.n_layers = 2;
    m.n_heads = 3;
    m.kv_cache_floats = 2 * 2 * kContext; // two layers of one head of width 1
    char err[256] = "";
    TfmSession *s = tfm_session_create(&m, 1, err, sizeof err);
    ASSERT_NE(s, nullptr) << err;
    std::vector<int32_t> first = {7, 8}, second = {9, 10, 11, 12, 13};
    std::vector<float> attn(2 * 3 * 5 * 7, -1.0f), logits(5 * kVocab);
    EXPECT_EQ(
        tfm_session_eval_attention(s, first.data(), 2, nullptr, attn.data()),
        -1); // compiled without the probe
    m.probe_attention = fakeProbe;
    ASSERT_EQ(tfm_session_eval(s, first.data(), 2, nullptr), 0);
    ASSERT_EQ(tfm_session_eval_attention(s, second.data(), 5, logits.data(),
                                         attn.data()),
              0)
        << tfm_session_error(s);
    EXPECT_LT(logitsError(second, 2, logits.data()), 1e-4);
    for (int64_t l = 0; l < 2; ++l)
      for (int64_t h = 0; h < 3; ++h)
        for (int64_t q = 0; q < 5; ++q)
          for (int64_t key = 0; key < 7; ++key) {
            // The chunk of query q ends at key 2 + (its chunk's end) - 1.
            int64_t chunkEnd = std::min<int64_t>((q / chunk + 1) * chunk, 5);
            float want =
                key < 2 + chunkEnd
                    ? float(l * 1000000 + h * 10000 + (2 + q) * 100 + key)
                    : 0.0f;
            EXPECT_EQ(attn[size_t(((l * 3 + h) * 5 + q) * 7 + key)], want)
                << "chunk " << chunk << " at " << l << " " << h << " " << q
                << " " << key;
          }
    tfm_session_destroy(s);
  }
}

// Untouched KV cache pages cost nothing: a 1 GiB cache is not zeroed (and
// so not made resident) when the session starts.
TEST(Session, KvCacheIsMappedLazily) {
  TfmModelInfo m = fakeModel();
  m.context_length = int64_t(1) << 27;
  m.kv_cache_floats = 2 * m.context_length; // 1 GiB
  int64_t before = residentBytes();
  char err[256] = "";
  TfmSession *s = tfm_session_create(&m, 1, err, sizeof err);
  ASSERT_NE(s, nullptr) << err;
  int64_t grown = residentBytes() - before;
  EXPECT_LT(grown, int64_t(64) << 20) << grown << " bytes became resident";
  int32_t tok = 5;
  std::vector<float> logits(kVocab);
  ASSERT_EQ(tfm_session_eval(s, &tok, 1, logits.data()), 0);
  EXPECT_LT(logitsError({tok}, 0, logits.data()), 1e-4);
  tfm_session_destroy(s);
}

TEST(Session, CarelessCallersGetErrorCodes) {
  // No session at all.
  int32_t tok = 1;
  float row[kVocab];
  EXPECT_EQ(tfm_session_eval(nullptr, &tok, 1, row), -1);
  EXPECT_EQ(tfm_session_pos(nullptr), -1);
  EXPECT_EQ(tfm_session_last_logits(nullptr), nullptr);
  EXPECT_EQ(tfm_session_model(nullptr), nullptr);
  EXPECT_STRNE(tfm_session_error(nullptr), "");
  tfm_session_reset(nullptr);
  tfm_session_destroy(nullptr);

  // More threads than a pool runs: an error, not std::system_error.
  TfmModelInfo m = fakeModel();
  char err[256] = "";
  EXPECT_EQ(tfm_session_create(&m, 100000, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("at most 4096"), std::string::npos) << err;

  TfmSession *s = tfm_session_create(&m, 1, err, sizeof err);
  ASSERT_NE(s, nullptr) << err;
  EXPECT_EQ(tfm_session_eval(s, nullptr, 1, row), -1);
  ASSERT_EQ(tfm_session_eval(s, &tok, 1, row), 0);
  // pos + n wraps around for n = INT64_MAX: refused before any token is read.
  EXPECT_EQ(tfm_session_eval(s, &tok, INT64_MAX, nullptr), -1);
  const char *message = tfm_session_error(s);
  EXPECT_NE(std::string(message).find("exceed the context"), std::string::npos)
      << message;
  EXPECT_EQ(tfm_session_pos(s), 1);
  tfm_session_destroy(s);
}

// What the C++ library throws inside the API (here std::bad_alloc for a
// vocabulary too large to hold one logits row) comes back as an error.
TEST(Session, NoExceptionCrossesTheCApi) {
#if SANITIZER_ALLOCATOR
  GTEST_SKIP() << "the sanitizer's operator new reports an impossible "
                  "allocation instead of throwing";
#else
  TfmModelInfo m = fakeModel();
  m.vocab_size = int64_t(1) << 55; // 128 PiB of floats per row
  char err[256] = "";
  TfmSession *s = nullptr;
  EXPECT_NO_THROW(s = tfm_session_create(&m, 1, err, sizeof err));
  if (s) {
    int32_t tok = 1;
    EXPECT_NO_THROW(EXPECT_EQ(tfm_session_eval(s, &tok, 1, nullptr), -1));
    tfm_session_destroy(s);
  } else {
    EXPECT_NE(std::string(err).find("memory"), std::string::npos) << err;
  }
#endif
}

} // namespace
