//===- Session.cpp - Plain C API to run a compiled model ------------------===//
//
// This file is compiled with exceptions (the rest of libtfmrt is not): every
// C entry point catches whatever the C++ library throws (std::bad_alloc
// above all) and turns it into an error code, so no exception reaches a C
// caller.
//
//===----------------------------------------------------------------------===//

#include "tfm/runtime/Session.h"
#include "tfm/runtime/ThreadPool.h"

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
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
  float *KvCache = nullptr; ///< Anonymous mmap: zero pages until written.
  size_t KvBytes = 0;
  std::unique_ptr<tfm::rt::ThreadPool> Pool;
  std::vector<float> Scratch; ///< One chunk's logits when the caller gives no buffer.
  std::vector<float> Last;    ///< Last row of the last eval.
  bool HaveLast = false;
  int64_t Pos = 0;
  int64_t Context = 0; ///< Positions this session may use (<= the model's).
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
  if (M->prefill_chunk < 1)
    return format("model has prefill_chunk %lld; it must be positive",
                  (long long)M->prefill_chunk);
  int64_t Expected = 0, LogitsBytes = 0;
  bool Overflow =
      __builtin_mul_overflow(M->n_layers, 2 * M->context_length, &Expected) ||
      __builtin_mul_overflow(Expected, M->n_kv_heads, &Expected) ||
      __builtin_mul_overflow(Expected, M->head_dim, &Expected) ||
      __builtin_mul_overflow(M->context_length, M->vocab_size, &LogitsBytes) ||
      __builtin_mul_overflow(LogitsBytes, int64_t(sizeof(float)), &LogitsBytes);
  if (Overflow)
    return "model's context_length, vocab_size and KV cache dimensions "
           "overflow 64-bit sizes";
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

uint64_t readLe(const unsigned char *P, int Bytes) {
  uint64_t V = 0;
  for (int I = Bytes - 1; I >= 0; --I)
    V = V << 8 | P[I];
  return V;
}

/// Maps the sidecar: `Override` (the embedding program's path), else
/// $TFM_WEIGHTS, else weights_file beside the executable. Its trailer must
/// say it is this model's blob (ModelAbi.h).
std::string mapWeights(TfmSession &S, const char *Override) {
  const TfmModelInfo &M = *S.Model;
  if (M.weights || M.weights_bytes == 0 || !M.weights_file) {
    S.Weights = M.weights;
    return "";
  }
  const char *Env = std::getenv("TFM_WEIGHTS");
  std::string Path;
  if (Override && *Override)
    Path = Override;
  else if (Env && *Env)
    Path = Env;
  else if (*M.weights_file == '/')
    Path = M.weights_file;
  else
    Path = executableDir() + M.weights_file;
  // O_NONBLOCK: a FIFO named by mistake must not block the open.
  int Fd = open(Path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
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
  const int64_t TrailerBytes = int64_t(sizeof(TfmWeightsTrailer));
  if (!S_ISREG(St.st_mode) ||
      int64_t(St.st_size) != M.weights_bytes + TrailerBytes) {
    close(Fd);
    return format("weights file '%s' has %lld bytes, the model expects %lld "
                  "(%lld of weights and a %lld-byte trailer): it is "
                  "truncated or belongs to another compile",
                  Path.c_str(), (long long)St.st_size,
                  (long long)(M.weights_bytes + TrailerBytes),
                  (long long)M.weights_bytes, (long long)TrailerBytes);
  }
  unsigned char T[sizeof(TfmWeightsTrailer)];
  if (pread(Fd, T, sizeof T, off_t(M.weights_bytes)) != ssize_t(sizeof T)) {
    std::string E = format("cannot read the trailer of weights file '%s': %s",
                           Path.c_str(), std::strerror(errno));
    close(Fd);
    return E;
  }
  // The fields at their offsets in TfmWeightsTrailer, little-endian.
  uint64_t Bytes = readLe(T + 16, 8), SpecId = readLe(T + 24, 8),
           WeightsId = readLe(T + 32, 8);
  std::string Why;
  if (std::memcmp(T, TFM_WEIGHTS_MAGIC, 8) != 0 ||
      readLe(T + 12, 4) != sizeof(TfmWeightsTrailer) ||
      Bytes != uint64_t(M.weights_bytes))
    Why = format("weights file '%s' is not a tfmc weights file (it has no "
                 "valid trailer)",
                 Path.c_str());
  else if (SpecId != M.spec_id)
    Why = format("weights file '%s' belongs to another model (model id "
                 "%016llx, this executable's is %016llx)",
                 Path.c_str(), (unsigned long long)SpecId,
                 (unsigned long long)M.spec_id);
  else if (M.weights_id && WeightsId != M.weights_id)
    Why = format("weights file '%s' was written by another compile of this "
                 "model (weights id %016llx, this executable's is %016llx): "
                 "use the file compiled with it",
                 Path.c_str(), (unsigned long long)WeightsId,
                 (unsigned long long)M.weights_id);
  if (!Why.empty()) {
    close(Fd);
    return Why;
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

/// Maps the KV cache: anonymous pages are zero and cost nothing until a
/// position in them is written, so a long context does not zero gigabytes
/// at start-up. Page alignment suits every vector load.
std::string mapKvCache(TfmSession &S) {
  int64_t Floats = S.Model->kv_cache_floats;
  if (Floats == 0)
    return "";
  if (uint64_t(Floats) > SIZE_MAX / sizeof(float))
    return format("the KV cache (%lld floats) exceeds the address space",
                  (long long)Floats);
  size_t Bytes = size_t(Floats) * sizeof(float);
  void *P = mmap(nullptr, Bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (P == MAP_FAILED)
    return format("cannot map the KV cache (%zu bytes): %s", Bytes,
                  std::strerror(errno));
  S.KvCache = static_cast<float *>(P);
  S.KvBytes = Bytes;
  return "";
}

std::string startPool(TfmSession &S, int Threads) {
  using tfm::rt::ThreadPool;
  if (Threads > ThreadPool::MaxThreads)
    return format("cannot run %d threads: a session runs at most %d", Threads,
                  ThreadPool::MaxThreads);
  int Wanted = Threads < 1 ? ThreadPool::hardwareThreads() : Threads;
  S.Pool = std::make_unique<ThreadPool>(Wanted);
  if (S.Pool->numThreads() < Wanted)
    return format("could start only %d of %d threads: %s",
                  S.Pool->numThreads(), Wanted,
                  std::strerror(S.Pool->startError()));
  return "";
}

void destroy(TfmSession *S) {
  if (S->Mapping)
    munmap(S->Mapping, S->MappingBytes);
  if (S->KvCache)
    munmap(S->KvCache, S->KvBytes);
  delete S; // joins the pool's workers
}

/// Body(), or Failed(message) if it throws: no exception crosses the C API.
/// Failed must not throw.
template <typename Fn, typename FailFn>
auto noThrow(Fn &&Body, FailFn &&Failed) -> decltype(Body()) {
  try {
    return Body();
  } catch (const std::bad_alloc &) {
    return Failed("out of memory");
  } catch (const std::exception &E) {
    return Failed(E.what());
  } catch (...) {
    return Failed("unknown C++ exception");
  }
}

const char *const NullSessionError = "no session (NULL)";

} // namespace

extern "C" TfmSession *tfm_session_create(const TfmModelInfo *model,
                                          int threads, char *err,
                                          size_t errlen) {
  return tfm_session_create_with_weights(model, threads, nullptr, err, errlen);
}

extern "C" TfmSession *
tfm_session_create_with_weights(const TfmModelInfo *model, int threads,
                                const char *weights_path, char *err,
                                size_t errlen) {
  TfmSession *S = nullptr;
  auto fail = [&](const char *Msg) -> TfmSession * {
    if (S)
      destroy(S);
    if (err && errlen)
      std::snprintf(err, errlen, "%s", Msg);
    return nullptr;
  };
  return noThrow(
      [&]() -> TfmSession * {
        std::string Why = validate(model);
        if (!Why.empty())
          return fail(Why.c_str());
        S = new TfmSession();
        S->Model = model;
        S->Context = model->context_length;
        if (Why = mapWeights(*S, weights_path); !Why.empty())
          return fail(Why.c_str());
        if (Why = mapKvCache(*S); !Why.empty())
          return fail(Why.c_str());
        if (Why = startPool(*S, threads); !Why.empty())
          return fail(Why.c_str());
        S->Last.resize(size_t(model->vocab_size));
        return S;
      },
      fail);
}

namespace {

/// tfm_session_eval, and with `attention` tfm_session_eval_attention.
int eval(TfmSession *S, const int32_t *tokens, int64_t n, float *logits,
         float *attention) {
  if (!S)
    return -1;
  auto fail = [&](const char *Msg) {
    try {
      S->Error = Msg;
    } catch (...) {
      S->Error.clear(); // not even the message fits
    }
    return -1;
  };
  return noThrow([&] {
    const TfmModelInfo &M = *S->Model;
    const int64_t V = M.vocab_size;
    S->Error.clear();
    if (attention && !M.probe_attention) {
      S->Error = "the model was compiled without the attention probe "
                 "(tfmc --probes=attention)";
      return -1;
    }
    if (n < 1 || !tokens) {
      S->Error = "no tokens to evaluate";
      return -1;
    }
    // Pos <= Context always, so the difference cannot overflow.
    if (n > S->Context - S->Pos) {
      S->Error = format("%lld tokens at position %lld exceed the context "
                        "length %lld",
                        (long long)n, (long long)S->Pos, (long long)S->Context);
      return -1;
    }
    for (int64_t I = 0; I < n; ++I)
      if (tokens[I] < 0 || tokens[I] >= V) {
        S->Error = format("token id %d is out of range [0, %lld)", tokens[I],
                          (long long)V);
        return -1;
      }
    // The entry points' activation memory holds prefill_chunk tokens.
    const int64_t Chunk = std::min(M.prefill_chunk, n);
    if (!logits && int64_t(S->Scratch.size()) < Chunk * V) {
      try {
        S->Scratch.resize(size_t(Chunk * V));
      } catch (const std::bad_alloc &) {
        S->Error = format("cannot allocate %lld bytes for the logits of %lld "
                          "tokens",
                          (long long)(Chunk * V * int64_t(sizeof(float))),
                          (long long)Chunk);
        return -1;
      }
    }

    uint8_t *W = const_cast<uint8_t *>(S->Weights);
    TfmMemRefI8x1 WeightsRef{reinterpret_cast<int8_t *>(W),
                             reinterpret_cast<int8_t *>(W),
                             0,
                             {M.weights_bytes},
                             {1}};
    TfmMemRefF32x1 KvRef{S->KvCache, S->KvCache, 0, {M.kv_cache_floats}, {1}};
    tfm::rt::ThreadPool::Scope UsePool(*S->Pool);
    // The probe writes rows [Done, Done + T) of each [n, Pos0 + n] matrix,
    // columns [0, Pos + T); the rest (later keys) stays zero.
    const int64_t Keys = S->Pos + n;
    if (attention)
      std::fill(attention, attention + M.n_layers * M.n_heads * n * Keys, 0.0f);
    for (int64_t Done = 0; Done < n;) {
      int64_t T = std::min(Chunk, n - Done);
      float *Rows = logits ? logits + Done * V : S->Scratch.data();
      int32_t *Tok = const_cast<int32_t *>(tokens + Done);
      TfmMemRefI32x1 TokensRef{Tok, Tok, 0, {T}, {1}};
      TfmMemRefF32x2 LogitsRef{Rows, Rows, 0, {T, V}, {V, 1}};
      if (attention) {
        TfmMemRefF32x4 AttnRef{attention,
                               attention,
                               Done * Keys,
                               {M.n_layers, M.n_heads, T, S->Pos + T},
                               {M.n_heads * n * Keys, n * Keys, Keys, 1}};
        M.probe_attention(&WeightsRef, &TokensRef, S->Pos, &KvRef, &LogitsRef,
                          &AttnRef);
      } else {
        TfmEntryFn Fn = (T == 1 && M.decode) ? M.decode : M.prefill;
        Fn(&WeightsRef, &TokensRef, S->Pos, &KvRef, &LogitsRef);
      }
      S->Pos += T;
      Done += T;
      if (Done == n)
        std::copy(Rows + (T - 1) * V, Rows + T * V, S->Last.begin());
    }
    S->HaveLast = true;
    return 0;
  }, fail);
}

} // namespace

extern "C" int tfm_session_eval(TfmSession *S, const int32_t *tokens, int64_t n,
                                float *logits) {
  return eval(S, tokens, n, logits, nullptr);
}

extern "C" int tfm_session_eval_attention(TfmSession *S, const int32_t *tokens,
                                          int64_t n, float *logits,
                                          float *attention) {
  if (S && !attention) {
    S->Error = "no buffer for the attention probabilities";
    return -1;
  }
  return eval(S, tokens, n, logits, attention);
}

extern "C" const float *tfm_session_last_logits(const TfmSession *S) {
  return S && S->HaveLast ? S->Last.data() : nullptr;
}

extern "C" int64_t tfm_session_pos(const TfmSession *S) {
  return S ? S->Pos : -1;
}

extern "C" int tfm_session_set_context(TfmSession *S, int64_t n) {
  if (!S)
    return -1;
  const int64_t Max = S->Model->context_length;
  if (n < 1 || n > Max || n < S->Pos) {
    S->Error = format("context %lld is outside [%lld, %lld] (1 or the "
                      "current position, up to the compiled context length)",
                      (long long)n, (long long)std::max<int64_t>(1, S->Pos),
                      (long long)Max);
    return -1;
  }
  S->Context = n;
  S->Error.clear();
  return 0;
}

extern "C" int64_t tfm_session_context(const TfmSession *S) {
  return S ? S->Context : -1;
}

extern "C" void tfm_session_reset(TfmSession *S) {
  if (!S)
    return;
  S->Pos = 0;
  S->HaveLast = false;
}

extern "C" const TfmModelInfo *tfm_session_model(const TfmSession *S) {
  return S ? S->Model : nullptr;
}

extern "C" const char *tfm_session_error(const TfmSession *S) {
  return S ? S->Error.c_str() : NullSessionError;
}

extern "C" void tfm_session_destroy(TfmSession *S) {
  if (S)
    destroy(S);
}

extern "C" void *_mlir_memref_to_llvm_alloc(uint64_t size) {
  void *P = std::malloc(size ? size_t(size) : 1);
  if (!P) {
    std::fprintf(stderr,
                 "tfmrt: out of memory: cannot allocate %llu bytes for the "
                 "activations of a model call\n",
                 (unsigned long long)size);
    std::_Exit(1);
  }
  return P;
}

extern "C" void _mlir_memref_to_llvm_free(void *ptr) { std::free(ptr); }
