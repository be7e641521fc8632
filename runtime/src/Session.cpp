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
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct TfmSession {
  const TfmModelInfo *model = nullptr;
  const uint8_t *weights = nullptr;
  void *mapping = nullptr; ///< mmap of the sidecar file, if any.
  size_t mappingBytes = 0;
  float *kvCache = nullptr; ///< Anonymous mmap: zero pages until written.
  size_t kvBytes = 0;
  int64_t kvFloats = 0; ///< layers * 2 * kv_heads * context * head_dim.
  std::unique_ptr<tfm::rt::ThreadPool> pool;
  std::vector<float>
      scratch; ///< One chunk's logits when the caller gives no buffer.
  std::vector<float> last; ///< Last row of the last eval.
  bool haveLast = false;
  int64_t pos = 0;
  int64_t context = 0; ///< Positions this session may use (<= the model's).
  std::string error;
};

namespace {

std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

/// The runtime's status idiom (as parseArgs, Tokenizer::deserialize...):
/// true on success; false with the reason in `error`. Sets `error` to the
/// printf-style message and returns false.
bool failWith(std::string &error, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
bool failWith(std::string &error, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  error = buf;
  return false;
}

/// Directory of the running executable, with a trailing '/', or "" if
/// /proc/self/exe cannot be read.
std::string executableDir() {
  std::vector<char> buf(4096);
  ssize_t len = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (len <= 0)
    return "";
  std::string path(buf.data(), size_t(len));
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

bool validate(const TfmModelInfo *m, std::string &error) {
  if (!m)
    return failWith(error, "no model");
  if (m->abi_version != TFM_ABI_VERSION)
    return failWith(
        error, "model was compiled for runtime ABI %u, this runtime has %d",
        m->abi_version, TFM_ABI_VERSION);
  if (m->vocab_size <= 0 || m->context_length <= 0)
    return failWith(error,
                    "model has vocab_size %lld and context_length %lld; both "
                    "must be positive",
                    (long long)m->vocab_size, (long long)m->context_length);
  if (!m->prefill || !m->prefill_last)
    return failWith(error, "model has no prefill entry point");
  if (m->prefill_chunk < 1)
    return failWith(error, "model has prefill_chunk %lld; it must be positive",
                    (long long)m->prefill_chunk);
  int64_t expected = 0, logitsBytes = 0;
  bool overflow =
      __builtin_mul_overflow(m->n_layers, 2 * m->context_length, &expected) ||
      __builtin_mul_overflow(expected, m->n_kv_heads, &expected) ||
      __builtin_mul_overflow(expected, m->head_dim, &expected) ||
      __builtin_mul_overflow(m->context_length, m->vocab_size, &logitsBytes) ||
      __builtin_mul_overflow(logitsBytes, int64_t(sizeof(float)), &logitsBytes);
  if (overflow)
    return failWith(
        error, "model's context_length, vocab_size and KV cache dimensions "
               "overflow 64-bit sizes");
  if (m->kv_cache_floats < 0 || m->kv_cache_floats != expected)
    return failWith(error,
                    "model's kv_cache_floats is %lld, expected n_layers * 2 * "
                    "context_length * n_kv_heads * head_dim = %lld",
                    (long long)m->kv_cache_floats, (long long)expected);
  if (m->weights_bytes < 0)
    return failWith(error, "model has a negative weights_bytes");
  if (m->weights_bytes > 0 && !m->weights &&
      (!m->weights_file || !*m->weights_file))
    return failWith(error,
                    "model has neither embedded weights nor a weights file");
  return true;
}

uint64_t readLe(const unsigned char *p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i)
    v = v << 8 | p[i];
  return v;
}

/// Maps the pages of embedded weights now, as the sidecar's MAP_POPULATE
/// does: otherwise each token whose embedding row was not read yet takes
/// page faults in its decode step (~10 us each on virtual machines;
/// stories15M shape, 128 steps from an empty cache: ~1100 -> 132 faults).
void populate(const void *p, size_t bytes) {
  uintptr_t start = reinterpret_cast<uintptr_t>(p) & ~uintptr_t(4095);
  size_t length = reinterpret_cast<uintptr_t>(p) + bytes - start;
  if (madvise(reinterpret_cast<void *>(start), length, MADV_POPULATE_READ) == 0)
    return;
  // Kernels before 5.14: read a byte per page.
  volatile const uint8_t *bytesIn = static_cast<const uint8_t *>(p);
  for (size_t i = 0; i < bytes; i += 4096)
    (void)bytesIn[i];
}

/// Maps the sidecar: `weightsPath` (the embedding program's path), else
/// $TFM_WEIGHTS, else weights_file beside the executable. Its trailer must
/// say it is this model's blob (ModelAbi.h).
bool mapWeights(TfmSession &s, const char *weightsPath, std::string &error) {
  const TfmModelInfo &m = *s.model;
  if (m.weights || m.weights_bytes == 0 || !m.weights_file) {
    s.weights = m.weights;
    if (m.weights)
      populate(m.weights, size_t(m.weights_bytes));
    return true;
  }
  const char *env = std::getenv("TFM_WEIGHTS");
  std::string path;
  if (weightsPath && *weightsPath)
    path = weightsPath;
  else if (env && *env)
    path = env;
  else if (*m.weights_file == '/')
    path = m.weights_file;
  else
    path = executableDir() + m.weights_file;
  // O_NONBLOCK: a FIFO named by mistake must not block the open.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return failWith(error, "cannot open weights file '%s': %s", path.c_str(),
                    std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    failWith(error, "cannot stat weights file '%s': %s", path.c_str(),
             std::strerror(errno));
    close(fd);
    return false;
  }
  const int64_t trailerBytes = int64_t(sizeof(TfmWeightsTrailer));
  if (!S_ISREG(st.st_mode) ||
      int64_t(st.st_size) != m.weights_bytes + trailerBytes) {
    close(fd);
    return failWith(error,
                    "weights file '%s' has %lld bytes, the model expects %lld "
                    "(%lld of weights and a %lld-byte trailer): it is "
                    "truncated or belongs to another compile",
                    path.c_str(), (long long)st.st_size,
                    (long long)(m.weights_bytes + trailerBytes),
                    (long long)m.weights_bytes, (long long)trailerBytes);
  }
  unsigned char t[sizeof(TfmWeightsTrailer)];
  if (pread(fd, t, sizeof t, off_t(m.weights_bytes)) != ssize_t(sizeof t)) {
    failWith(error, "cannot read the trailer of weights file '%s': %s",
             path.c_str(), std::strerror(errno));
    close(fd);
    return false;
  }
  // The fields at their offsets in TfmWeightsTrailer, little-endian.
  uint64_t bytes = readLe(t + 16, 8), specId = readLe(t + 24, 8),
           weightsId = readLe(t + 32, 8);
  bool valid = true;
  if (std::memcmp(t, TFM_WEIGHTS_MAGIC, 8) != 0 ||
      readLe(t + 12, 4) != sizeof(TfmWeightsTrailer) ||
      bytes != uint64_t(m.weights_bytes))
    valid = failWith(error,
                     "weights file '%s' is not a tfmc weights file (it has no "
                     "valid trailer)",
                     path.c_str());
  else if (specId != m.spec_id)
    valid = failWith(error,
                     "weights file '%s' belongs to another model (model id "
                     "%016llx, this executable's is %016llx)",
                     path.c_str(), (unsigned long long)specId,
                     (unsigned long long)m.spec_id);
  else if (m.weights_id && weightsId != m.weights_id)
    valid =
        failWith(error,
                 "weights file '%s' was written by another compile of this "
                 "model (weights id %016llx, this executable's is %016llx): "
                 "use the file compiled with it",
                 path.c_str(), (unsigned long long)weightsId,
                 (unsigned long long)m.weights_id);
  if (!valid) {
    close(fd);
    return false;
  }
  // Populated now (as llama.cpp maps its models): every call reads all of
  // them, and the first would otherwise take their page faults.
  void *p = mmap(nullptr, size_t(m.weights_bytes), PROT_READ,
                 MAP_PRIVATE | MAP_POPULATE, fd, 0);
  close(fd); // the mapping keeps the file alive
  if (p == MAP_FAILED)
    return failWith(error, "cannot map weights file '%s': %s", path.c_str(),
                    std::strerror(errno));
  s.mapping = p;
  s.mappingBytes = size_t(m.weights_bytes);
  s.weights = static_cast<const uint8_t *>(p);
  return true;
}

/// Maps a KV cache of `context` positions, laid out [layer][k|v][kv_head]
/// [position][head_dim] (ModelAbi.h), and moves the first s.pos positions
/// of the current one into it. Anonymous pages are zero and cost nothing
/// until a position in them is written, so a long context does not zero
/// gigabytes at start-up. Page alignment suits every vector load.
bool mapKvCache(TfmSession &s, int64_t context, std::string &error) {
  const TfmModelInfo &m = *s.model;
  // validate() checked that the compiled context's size does not overflow.
  int64_t rowFloats = m.n_kv_heads * m.head_dim;
  int64_t floats = m.n_layers * 2 * rowFloats * context;
  if (floats == 0)
    return true;
  size_t bytes = size_t(floats) * sizeof(float);
  void *p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return failWith(error, "cannot map the KV cache (%zu bytes): %s", bytes,
                    std::strerror(errno));
  // Transparent huge pages where the system allows them on request: a
  // prefill writes every (layer, head) region of the cache, and a page fault
  // per 4 KiB cost more than the prefill's arithmetic on virtual machines.
  madvise(p, bytes, MADV_HUGEPAGE);
  float *cache = static_cast<float *>(p);
  if (s.kvCache) {
    // Each (layer, k|v, kv head) keeps its first pos positions.
    int64_t heads = m.n_layers * 2 * m.n_kv_heads;
    int64_t oldContext = s.kvFloats / (heads * m.head_dim);
    for (int64_t h = 0; h < heads; ++h)
      std::copy_n(s.kvCache + h * oldContext * m.head_dim, s.pos * m.head_dim,
                  cache + h * context * m.head_dim);
    munmap(s.kvCache, s.kvBytes);
  }
  s.kvCache = cache;
  s.kvBytes = bytes;
  s.kvFloats = floats;
  return true;
}

bool startPool(TfmSession &s, int threads, std::string &error) {
  using tfm::rt::ThreadPool;
  if (threads > ThreadPool::kMaxThreads)
    return failWith(error, "cannot run %d threads: a session runs at most %d",
                    threads, ThreadPool::kMaxThreads);
  int wanted = threads < 1 ? ThreadPool::hardwareThreads() : threads;
  s.pool = std::make_unique<ThreadPool>(wanted);
  if (s.pool->getNumThreads() < wanted)
    return failWith(error, "could start only %d of %d threads: %s",
                    s.pool->getNumThreads(), wanted,
                    std::strerror(s.pool->getStartError()));
  return true;
}

void destroy(TfmSession *s) {
  if (s->mapping)
    munmap(s->mapping, s->mappingBytes);
  if (s->kvCache)
    munmap(s->kvCache, s->kvBytes);
  delete s; // joins the pool's workers
}

/// Body(), or Failed(message) if it throws: no exception crosses the C API.
/// Failed must not throw.
template <typename Fn, typename FailFn>
auto noThrow(Fn &&body, FailFn &&failed) -> decltype(body()) {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return failed("out of memory");
  } catch (const std::exception &e) {
    return failed(e.what());
  } catch (...) {
    return failed("unknown C++ exception");
  }
}

const char *const kNullSessionError = "no session (NULL)";

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
  TfmSession *s = nullptr;
  auto fail = [&](const char *msg) -> TfmSession * {
    if (s)
      destroy(s);
    if (err && errlen)
      std::snprintf(err, errlen, "%s", msg);
    return nullptr;
  };
  return noThrow(
      [&]() -> TfmSession * {
        std::string error;
        if (!validate(model, error))
          return fail(error.c_str());
        s = new TfmSession();
        s->model = model;
        s->context = model->context_length;
        if (!mapWeights(*s, weights_path, error) ||
            !mapKvCache(*s, s->context, error) ||
            !startPool(*s, threads, error))
          return fail(error.c_str());
        s->last.resize(size_t(model->vocab_size));
        return s;
      },
      fail);
}

namespace {

/// tfm_session_eval, and with `attention` tfm_session_eval_attention.
int eval(TfmSession *s, const int32_t *tokens, int64_t n, float *logits,
         float *attention) {
  if (!s)
    return -1;
  auto fail = [&](const char *msg) {
    try {
      s->error = msg;
    } catch (...) {
      s->error.clear(); // not even the message fits
    }
    return -1;
  };
  return noThrow(
      [&] {
        const TfmModelInfo &m = *s->model;
        const int64_t v = m.vocab_size;
        s->error.clear();
        if (attention && !m.probe_attention) {
          s->error = "the model was compiled without the attention probe "
                     "(tfmc --probes=attention)";
          return -1;
        }
        if (n < 1 || !tokens) {
          s->error = "no tokens to evaluate";
          return -1;
        }
        // Pos <= Context always, so the difference cannot overflow.
        if (n > s->context - s->pos) {
          s->error =
              format("%lld tokens at position %lld exceed the context "
                     "length %lld",
                     (long long)n, (long long)s->pos, (long long)s->context);
          return -1;
        }
        for (int64_t i = 0; i < n; ++i)
          if (tokens[i] < 0 || tokens[i] >= v) {
            s->error = format("token id %d is out of range [0, %lld)",
                              tokens[i], (long long)v);
            return -1;
          }
        // The entry points' activation memory holds prefill_chunk tokens.
        // Without a caller's buffer only the last row is kept, so every
        // call computes one row of logits (prefill_last or decode); the
        // attention probe has no last-row variant and writes all T rows.
        const int64_t chunk = std::min(m.prefill_chunk, n);
        const int64_t scratchRows = attention ? chunk : 1;
        if (!logits && int64_t(s->scratch.size()) < scratchRows * v) {
          try {
            s->scratch.resize(size_t(scratchRows * v));
          } catch (const std::bad_alloc &) {
            s->error = format(
                "cannot allocate %lld bytes for the logits of %lld tokens",
                (long long)(scratchRows * v * int64_t(sizeof(float))),
                (long long)scratchRows);
            return -1;
          }
        }

        uint8_t *w = const_cast<uint8_t *>(s->weights);
        TfmMemRefI8x1 weightsRef{reinterpret_cast<int8_t *>(w),
                                 reinterpret_cast<int8_t *>(w),
                                 0,
                                 {m.weights_bytes},
                                 {1}};
        // The cache's size tells the entry points the context (ABI 5).
        TfmMemRefF32x1 kvRef{s->kvCache, s->kvCache, 0, {s->kvFloats}, {1}};
        tfm::rt::ThreadPool::Scope usePool(*s->pool);
        // The probe writes rows [done, done + t) of each [n, pos0 + n]
        // matrix, columns [0, pos + t); the rest (later keys) stays zero.
        const int64_t keys = s->pos + n;
        if (attention)
          std::fill(attention, attention + m.n_layers * m.n_heads * n * keys,
                    0.0f);
        for (int64_t done = 0; done < n;) {
          int64_t t = std::min(chunk, n - done);
          float *rows = logits ? logits + done * v : s->scratch.data();
          const int64_t rowsOut = (logits || attention) ? t : 1;
          int32_t *tok = const_cast<int32_t *>(tokens + done);
          TfmMemRefI32x1 tokensRef{tok, tok, 0, {t}, {1}};
          TfmMemRefF32x2 logitsRef{rows, rows, 0, {rowsOut, v}, {v, 1}};
          if (attention) {
            TfmMemRefF32x4 attnRef{attention,
                                   attention,
                                   done * keys,
                                   {m.n_layers, m.n_heads, t, s->pos + t},
                                   {m.n_heads * n * keys, n * keys, keys, 1}};
            m.probe_attention(&weightsRef, &tokensRef, s->pos, &kvRef,
                              &logitsRef, &attnRef);
          } else {
            TfmEntryFn fn = (t == 1 && m.decode) ? m.decode
                            : logits             ? m.prefill
                                                 : m.prefill_last;
            fn(&weightsRef, &tokensRef, s->pos, &kvRef, &logitsRef);
          }
          s->pos += t;
          done += t;
          if (done == n)
            std::copy(rows + (rowsOut - 1) * v, rows + rowsOut * v,
                      s->last.begin());
        }
        s->haveLast = true;
        return 0;
      },
      fail);
}

} // namespace

extern "C" int tfm_session_eval(TfmSession *s, const int32_t *tokens, int64_t n,
                                float *logits) {
  return eval(s, tokens, n, logits, nullptr);
}

extern "C" int tfm_session_eval_attention(TfmSession *s, const int32_t *tokens,
                                          int64_t n, float *logits,
                                          float *attention) {
  if (s && !attention) {
    s->error = "no buffer for the attention probabilities";
    return -1;
  }
  return eval(s, tokens, n, logits, attention);
}

extern "C" const float *tfm_session_last_logits(const TfmSession *s) {
  return s && s->haveLast ? s->last.data() : nullptr;
}

extern "C" int64_t tfm_session_pos(const TfmSession *s) {
  return s ? s->pos : -1;
}

extern "C" int tfm_session_set_context(TfmSession *s, int64_t n) {
  if (!s)
    return -1;
  const int64_t max = s->model->context_length;
  if (n < 1 || n > max || n < s->pos) {
    s->error = format("context %lld is outside [%lld, %lld] (1 or the "
                      "current position, up to the compiled context length)",
                      (long long)n, (long long)std::max<int64_t>(1, s->pos),
                      (long long)max);
    return -1;
  }
  if (n != s->context) {
    std::string error;
    bool mapped = noThrow([&] { return mapKvCache(*s, n, error); },
                          [&](const char *msg) {
                            error = msg;
                            return false;
                          });
    if (!mapped) {
      s->error = error;
      return -1;
    }
  }
  s->context = n;
  s->error.clear();
  return 0;
}

extern "C" int64_t tfm_session_kv_cache_floats(const TfmSession *s) {
  return s ? s->kvFloats : -1;
}

extern "C" int64_t tfm_session_context(const TfmSession *s) {
  return s ? s->context : -1;
}

extern "C" void tfm_session_reset(TfmSession *s) {
  if (!s)
    return;
  s->pos = 0;
  s->haveLast = false;
}

extern "C" const TfmModelInfo *tfm_session_model(const TfmSession *s) {
  return s ? s->model : nullptr;
}

extern "C" const char *tfm_session_error(const TfmSession *s) {
  return s ? s->error.c_str() : kNullSessionError;
}

extern "C" void tfm_session_destroy(TfmSession *s) {
  if (s)
    destroy(s);
}

namespace {

/// Activation arenas of at least this size come from huge-page mappings
/// that are kept for reuse after their free. From malloc, every call of a
/// fresh process took a page fault per 4 KiB of a prefill block's arena
/// (megabytes; most of a small model's first prefill on a virtual machine),
/// and a decode step's (~100 KiB at the stories15M shape) went back to the
/// system at its free (glibc trims the heap's top) and faulted in again at
/// the next step's malloc: 3 brk calls and a few dozen faults a token.
constexpr size_t kHugeArenaBytes = size_t(64) << 10;
constexpr size_t kHugePage = size_t(2) << 20;

/// The mappings handed out and those free for reuse (a handful: one per
/// nesting level of entry point and block function per running session).
struct ArenaCache {
  std::mutex mutex;
  struct Block {
    void *p;
    size_t bytes;
    bool inUse;
  };
  std::vector<Block> blocks;
};

ArenaCache &arenaCache() {
  static ArenaCache *cache = new ArenaCache; // outlives every session
  return *cache;
}

void *allocHugeArena(size_t size) {
  size_t bytes = (size + kHugePage - 1) / kHugePage * kHugePage;
  ArenaCache &c = arenaCache();
  std::lock_guard<std::mutex> lock(c.mutex);
  ArenaCache::Block *best = nullptr;
  for (ArenaCache::Block &b : c.blocks)
    if (!b.inUse && b.bytes >= bytes && (!best || b.bytes < best->bytes))
      best = &b;
  if (best) {
    best->inUse = true;
    return best->p;
  }
  // Aligned to the huge page: map one more and trim the ends.
  void *raw = mmap(nullptr, bytes + kHugePage, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED)
    return nullptr;
  uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > start)
    munmap(raw, aligned - start);
  if (size_t tail = start + kHugePage - aligned)
    munmap(reinterpret_cast<void *>(aligned + bytes), tail);
  void *p = reinterpret_cast<void *>(aligned);
  madvise(p, bytes, MADV_HUGEPAGE);
  c.blocks.push_back({p, bytes, true});
  return p;
}

/// Returns true when `p` is a cached arena (now free for reuse).
bool freeHugeArena(void *p) {
  ArenaCache &c = arenaCache();
  std::lock_guard<std::mutex> lock(c.mutex);
  for (ArenaCache::Block &b : c.blocks)
    if (b.p == p) {
      b.inUse = false;
      return true;
    }
  return false;
}

} // namespace

extern "C" void *_mlir_memref_to_llvm_alloc(uint64_t size) {
  void *p = size >= kHugeArenaBytes ? allocHugeArena(size_t(size))
                                    : std::malloc(size ? size_t(size) : 1);
  if (!p) {
    std::fprintf(stderr,
                 "tfmrt: out of memory: cannot allocate %llu bytes for the "
                 "activations of a model call\n",
                 (unsigned long long)size);
    std::_Exit(1);
  }
  return p;
}

extern "C" void _mlir_memref_to_llvm_free(void *ptr) {
  if (ptr && freeHugeArena(ptr))
    return;
  std::free(ptr);
}
