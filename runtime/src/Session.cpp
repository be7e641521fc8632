//===- Session.cpp - Plain C API to run a compiled model ------------------===//

#include "tfm/runtime/Session.h"
#include "tfm/runtime/ThreadPool.h"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct TfmSession {
  const TfmModelInfo *Model = nullptr;
  const uint8_t *Weights = nullptr;
  void *Mapping = nullptr; ///< mmap of the sidecar file, if any.
  size_t MappingBytes = 0;
  float *KvCache = nullptr;
  std::vector<float> Logits; ///< Used when the caller passes no buffer.
  std::vector<float> Last;   ///< Last row of the last eval.
  int64_t Pos = 0;
  std::string Error;
};

namespace {

std::string format(const char *Fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char *Fmt, ...) {
  char Buf[1024];
  va_list Ap;
  va_start(Ap, Fmt);
  std::vsnprintf(Buf, sizeof Buf, Fmt, Ap);
  va_end(Ap);
  return Buf;
}

/// Directory of the running executable, with a trailing '/', or "" if
/// /proc/self/exe cannot be read.
std::string executableDir() {
  std::vector<char> Buf(4096);
  ssize_t Len = readlink("/proc/self/exe", Buf.data(), Buf.size() - 1);
  if (Len <= 0)
    return "";
  std::string Path(Buf.data(), size_t(Len));
  size_t Slash = Path.rfind('/');
  return Slash == std::string::npos ? "" : Path.substr(0, Slash + 1);
}

std::string validate(const TfmModelInfo *M) {
  if (!M)
    return "no model";
  if (M->abi_version != TFM_ABI_VERSION)
    return format("model was compiled for runtime ABI %u, this runtime has %d",
                  M->abi_version, TFM_ABI_VERSION);
  if (M->vocab_size <= 0 || M->context_length <= 0)
    return format("model has vocab_size %lld and context_length %lld; both "
                  "must be positive",
                  (long long)M->vocab_size, (long long)M->context_length);
  if (!M->prefill)
    return "model has no prefill entry point";
  int64_t Expected =
      M->n_layers * 2 * M->context_length * M->n_kv_heads * M->head_dim;
  if (M->kv_cache_floats < 0 || M->kv_cache_floats != Expected)
    return format("model's kv_cache_floats is %lld, expected n_layers * 2 * "
                  "context_length * n_kv_heads * head_dim = %lld",
                  (long long)M->kv_cache_floats, (long long)Expected);
  if (M->weights_bytes < 0)
    return "model has a negative weights_bytes";
  if (M->weights_bytes > 0 && !M->weights &&
      (!M->weights_file || !*M->weights_file))
    return "model has neither embedded weights nor a weights file";
  return "";
}

std::string mapWeights(TfmSession &S) {
  const TfmModelInfo &M = *S.Model;
  if (M.weights || M.weights_bytes == 0 || !M.weights_file) {
    S.Weights = M.weights;
    return "";
  }
  std::string Path = M.weights_file;
  if (Path[0] != '/')
    Path = executableDir() + Path;
  int Fd = open(Path.c_str(), O_RDONLY | O_CLOEXEC);
  if (Fd < 0)
    return format("cannot open weights file '%s': %s", Path.c_str(),
                  std::strerror(errno));
  struct stat St;
  if (fstat(Fd, &St) != 0) {
    std::string E = format("cannot stat weights file '%s': %s", Path.c_str(),
                           std::strerror(errno));
    close(Fd);
    return E;
  }
  if (int64_t(St.st_size) != M.weights_bytes) {
    close(Fd);
    return format("weights file '%s' has %lld bytes, the model expects %lld "
                  "(was it produced by the same tfmc run?)",
                  Path.c_str(), (long long)St.st_size,
                  (long long)M.weights_bytes);
  }
  void *P =
      mmap(nullptr, size_t(M.weights_bytes), PROT_READ, MAP_PRIVATE, Fd, 0);
  close(Fd); // the mapping keeps the file alive
  if (P == MAP_FAILED)
    return format("cannot map weights file '%s': %s", Path.c_str(),
                  std::strerror(errno));
  S.Mapping = P;
  S.MappingBytes = size_t(M.weights_bytes);
  S.Weights = static_cast<const uint8_t *>(P);
  return "";
}

} // namespace

extern "C" TfmSession *tfm_session_create(const TfmModelInfo *model,
                                          int threads, char *err,
                                          size_t errlen) {
  auto fail = [&](const std::string &Msg) -> TfmSession * {
    if (err && errlen)
      std::snprintf(err, errlen, "%s", Msg.c_str());
    return nullptr;
  };
  std::string Problem = validate(model);
  if (!Problem.empty())
    return fail(Problem);
  auto *S = new TfmSession();
  S->Model = model;
  Problem = mapWeights(*S);
  if (!Problem.empty()) {
    delete S;
    return fail(Problem);
  }
  // 64-byte alignment suits AVX-512 loads and cache lines; aligned_alloc
  // wants a multiple of the alignment.
  size_t Bytes = size_t(model->kv_cache_floats) * sizeof(float);
  size_t Rounded = (Bytes + 63) / 64 * 64;
  if (Rounded) {
    S->KvCache = static_cast<float *>(std::aligned_alloc(64, Rounded));
    if (!S->KvCache) {
      tfm_session_destroy(S);
      return fail(format("cannot allocate the KV cache (%zu bytes)", Rounded));
    }
    std::memset(S->KvCache, 0, Rounded);
  }
  tfm::rt::setNumThreads(threads);
  return S;
}

extern "C" int tfm_session_eval(TfmSession *S, const int32_t *tokens, int64_t n,
                                float *logits) {
  const TfmModelInfo &M = *S->Model;
  if (n < 1 || !tokens) {
    S->Error = "no tokens to evaluate";
    return -1;
  }
  if (S->Pos + n > M.context_length) {
    S->Error =
        format("%lld tokens at position %lld exceed the context "
               "length %lld",
               (long long)n, (long long)S->Pos, (long long)M.context_length);
    return -1;
  }
  for (int64_t I = 0; I < n; ++I)
    if (tokens[I] < 0 || tokens[I] >= M.vocab_size) {
      S->Error = format("token id %d is out of range [0, %lld)", tokens[I],
                        (long long)M.vocab_size);
      return -1;
    }

  float *Out = logits;
  if (!Out) {
    S->Logits.resize(size_t(n * M.vocab_size));
    Out = S->Logits.data();
  }
  uint8_t *W = const_cast<uint8_t *>(S->Weights);
  TfmMemRefI8x1 WeightsRef{reinterpret_cast<int8_t *>(W),
                           reinterpret_cast<int8_t *>(W),
                           0,
                           {M.weights_bytes},
                           {1}};
  int32_t *Tok = const_cast<int32_t *>(tokens);
  TfmMemRefI32x1 TokensRef{Tok, Tok, 0, {n}, {1}};
  TfmMemRefF32x1 KvRef{S->KvCache, S->KvCache, 0, {M.kv_cache_floats}, {1}};
  TfmMemRefF32x2 LogitsRef{Out, Out, 0, {n, M.vocab_size}, {M.vocab_size, 1}};
  TfmEntryFn Fn = (n == 1 && M.decode) ? M.decode : M.prefill;
  Fn(&WeightsRef, &TokensRef, S->Pos, &KvRef, &LogitsRef);
  S->Pos += n;
  const float *LastRow = Out + (n - 1) * M.vocab_size;
  S->Last.assign(LastRow, LastRow + M.vocab_size);
  S->Error.clear();
  return 0;
}

extern "C" const float *tfm_session_last_logits(const TfmSession *S) {
  return S->Last.empty() ? nullptr : S->Last.data();
}

extern "C" int64_t tfm_session_pos(const TfmSession *S) { return S->Pos; }

extern "C" void tfm_session_reset(TfmSession *S) {
  S->Pos = 0;
  S->Last.clear();
}

extern "C" const TfmModelInfo *tfm_session_model(const TfmSession *S) {
  return S->Model;
}

extern "C" const char *tfm_session_error(const TfmSession *S) {
  return S->Error.c_str();
}

extern "C" void tfm_session_destroy(TfmSession *S) {
  if (!S)
    return;
  if (S->Mapping)
    munmap(S->Mapping, S->MappingBytes);
  std::free(S->KvCache);
  delete S;
}
