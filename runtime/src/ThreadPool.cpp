//===- ThreadPool.cpp - Persistent worker pool for the kernels ------------===//
//
// Job hand-off: the caller writes the job fields, resets `nextChunk` and
// bumps `generation`. Workers spin on `generation` for a short while, then
// sleep on `wakeCv`. All threads, the caller included, claim chunks with a
// fetch_add on `nextChunk`; the caller returns when `remaining` (chunks not
// yet finished) reaches zero. A worker that wakes late finds nextChunk past
// the end (or claims a chunk of the next job, whose fields its fetch_add
// has acquired), so it never runs a stale job.
//
//===----------------------------------------------------------------------===//

#include "tfm/runtime/ThreadPool.h"

#include <algorithm>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TFM_CPU_RELAX() _mm_pause()
#else
#define TFM_CPU_RELAX() ((void)0)
#endif

namespace tfm {
namespace rt {

namespace {
/// True on threads currently executing a parallelFor body; nested calls then
/// run serially instead of waiting on workers that are busy with the outer
/// loop.
thread_local bool inParallelRegion = false;
/// The pool of the innermost live ThreadPool::Scope on this thread.
thread_local ThreadPool *currentPool = nullptr;
/// Pause iterations before a waiting worker goes to sleep. Short, because the
/// cores are shared and the gaps between decode kernels are microseconds.
constexpr int kSpinIterations = 1 << 13;
/// One range per thread: each is one contiguous stream of weight tiles,
/// which a one-row layer's prefetchers follow from tile to tile. Fewer cuts
/// were faster each time: 4 -> 2 per thread (session 10, stories110M shape,
/// -t 2, 7 alternated runs: Q4_K_M 325 -> 353 tok/s, q4_0 472 -> 499), and
/// 2 -> 1 with one-tile integer decode bodies (Zen 5, 5 alternated runs:
/// Q4_K_M 704 -> 779, q4_0 755 -> 844, q8_0 547 -> 579, TinyLlama shape
/// Q4_K_M +4%; f32, bf16 and 128-token prefill within the noise). The cost:
/// a preempted thread's range waits for it, where a second range could
/// have gone to the other thread.
constexpr int kChunksPerThread = 1;
} // namespace

int ThreadPool::hardwareThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

ThreadPool *ThreadPool::current() { return currentPool; }

ThreadPool::Scope::Scope(ThreadPool &pool) : previous(currentPool) {
  currentPool = &pool;
}

ThreadPool::Scope::~Scope() { currentPool = previous; }

ThreadPool::ThreadPool(int requested) {
  int wanted =
      requested < 1 ? hardwareThreads() : std::min(requested, kMaxThreads);
  workers.reserve(size_t(wanted - 1));
  for (int i = 1; i < wanted; ++i) {
    pthread_t thread;
    if (int rc = pthread_create(&thread, nullptr, workerMain, this)) {
      startError = rc;
      break;
    }
    workers.push_back(thread);
  }
  // Workers never read numThreads; only run() on the owner's thread does.
  numThreads = int(workers.size()) + 1;
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stop.store(true);
    generation.fetch_add(1);
  }
  wakeCv.notify_all();
  for (pthread_t thread : workers)
    pthread_join(thread, nullptr);
}

void *ThreadPool::workerMain(void *pool) {
  static_cast<ThreadPool *>(pool)->workerLoop();
  return nullptr;
}

void ThreadPool::runChunks() {
  // Claim chunks until none is left. Whoever is running claims work, so a
  // worker that the OS has not scheduled yet delays nothing.
  for (;;) {
    // The chunk count travels with the index (count << 32 | index), so a
    // claim on a finished job's stale counter is recognised as such without
    // reading JobChunks, which run() may be rewriting for the next job.
    int64_t v = nextChunk.fetch_add(1, std::memory_order_acq_rel);
    int64_t c = v & 0xffffffff;
    if (c >= (v >> 32))
      return;
    // Contiguous, balanced split: the first (N % chunks) ranges get one more.
    int64_t base = jobN / jobChunks, extra = jobN % jobChunks;
    int64_t begin = c * base + std::min<int64_t>(c, extra);
    int64_t end = begin + base + (c < extra ? 1 : 0);
    inParallelRegion = true;
    jobFn(jobCtx, begin, end);
    inParallelRegion = false;
    remaining.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::workerLoop() {
  uint64_t seen = 0;
  for (;;) {
    int spins = 0;
    while (generation.load(std::memory_order_acquire) == seen &&
           spins < kSpinIterations) {
      TFM_CPU_RELAX();
      ++spins;
    }
    if (generation.load(std::memory_order_acquire) == seen) {
      std::unique_lock<std::mutex> lock(mutex);
      sleepers.fetch_add(1);
      wakeCv.wait(lock, [&] { return generation.load() != seen; });
      sleepers.fetch_sub(1);
    }
    seen = generation.load(std::memory_order_acquire);
    if (stop.load())
      return;
    runChunks();
  }
}

void ThreadPool::run(int64_t n, int64_t minChunk, RangeFn fn, void *ctx) {
  if (n <= 0)
    return;
  minChunk = std::max<int64_t>(minChunk, 1);
  // kChunksPerThread per thread, no smaller than minChunk.
  int64_t chunks = std::min<int64_t>(int64_t(numThreads) * kChunksPerThread,
                                     (n + minChunk - 1) / minChunk);
  if (chunks <= 1 || numThreads == 1 || inParallelRegion) {
    fn(ctx, 0, n);
    return;
  }
  std::lock_guard<std::mutex> runLock(runMutex);
  jobFn = fn;
  jobCtx = ctx;
  jobN = n;
  jobChunks = chunks;
  remaining.store(chunks, std::memory_order_relaxed);
  // Publishing nextChunk = 0 releases the job fields to any thread whose
  // fetch_add reads it, including a worker still finishing the last job.
  nextChunk.store(chunks << 32, std::memory_order_release);
  generation.fetch_add(1); // seq_cst: pairs with the Sleepers check below
  if (sleepers.load() > 0) {
    std::lock_guard<std::mutex> lock(mutex);
    wakeCv.notify_all();
  }
  runChunks();
  int spins = 0;
  while (remaining.load(std::memory_order_acquire) != 0) {
    if (++spins < kSpinIterations)
      TFM_CPU_RELAX();
    else
      std::this_thread::yield(); // a worker holding a chunk was preempted
  }
}

} // namespace rt
} // namespace tfm
