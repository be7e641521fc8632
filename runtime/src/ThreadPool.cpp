//===- ThreadPool.cpp - Persistent worker pool for the kernels ------------===//
//
// Job hand-off: the caller writes the job fields, resets `NextChunk` and
// bumps `Generation`. Workers spin on `Generation` for a short while, then
// sleep on `WakeCv`. All threads, the caller included, claim chunks with a
// fetch_add on `NextChunk`; the caller returns when `Remaining` (chunks not
// yet finished) reaches zero. A worker that wakes late finds NextChunk past
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
thread_local bool InParallelRegion = false;
/// The pool of the innermost live ThreadPool::Scope on this thread.
thread_local ThreadPool *CurrentPool = nullptr;
/// Pause iterations before a waiting worker goes to sleep. Short, because the
/// cores are shared and the gaps between decode kernels are microseconds.
constexpr int SpinIterations = 1 << 13;
constexpr int ChunksPerThread = 4;
} // namespace

int ThreadPool::hardwareThreads() {
  unsigned N = std::thread::hardware_concurrency();
  return N == 0 ? 1 : static_cast<int>(N);
}

ThreadPool *ThreadPool::current() { return CurrentPool; }

ThreadPool::Scope::Scope(ThreadPool &pool) : Previous(CurrentPool) {
  CurrentPool = &pool;
}

ThreadPool::Scope::~Scope() { CurrentPool = Previous; }

ThreadPool::ThreadPool(int numThreads) {
  int Wanted = numThreads < 1 ? hardwareThreads()
                              : std::min(numThreads, MaxThreads);
  Workers.reserve(size_t(Wanted - 1));
  for (int I = 1; I < Wanted; ++I) {
    pthread_t Thread;
    if (int Rc = pthread_create(&Thread, nullptr, workerMain, this)) {
      StartError = Rc;
      break;
    }
    Workers.push_back(Thread);
  }
  // Workers never read NumThreads; only run() on the owner's thread does.
  NumThreads = int(Workers.size()) + 1;
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> Lock(Mutex);
    Stop.store(true);
    Generation.fetch_add(1);
  }
  WakeCv.notify_all();
  for (pthread_t Thread : Workers)
    pthread_join(Thread, nullptr);
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
    int64_t V = NextChunk.fetch_add(1, std::memory_order_acq_rel);
    int64_t C = V & 0xffffffff;
    if (C >= (V >> 32))
      return;
    // Contiguous, balanced split: the first (N % chunks) ranges get one more.
    int64_t Base = JobN / JobChunks, Extra = JobN % JobChunks;
    int64_t Begin = C * Base + std::min<int64_t>(C, Extra);
    int64_t End = Begin + Base + (C < Extra ? 1 : 0);
    InParallelRegion = true;
    JobFn(JobCtx, Begin, End);
    InParallelRegion = false;
    Remaining.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::workerLoop() {
  uint64_t Seen = 0;
  for (;;) {
    int Spins = 0;
    while (Generation.load(std::memory_order_acquire) == Seen &&
           Spins < SpinIterations) {
      TFM_CPU_RELAX();
      ++Spins;
    }
    if (Generation.load(std::memory_order_acquire) == Seen) {
      std::unique_lock<std::mutex> Lock(Mutex);
      Sleepers.fetch_add(1);
      WakeCv.wait(Lock, [&] { return Generation.load() != Seen; });
      Sleepers.fetch_sub(1);
    }
    Seen = Generation.load(std::memory_order_acquire);
    if (Stop.load())
      return;
    runChunks();
  }
}

void ThreadPool::run(int64_t n, int64_t minChunk, RangeFn fn, void *ctx) {
  if (n <= 0)
    return;
  minChunk = std::max<int64_t>(minChunk, 1);
  // A few chunks per thread so that late or preempted threads (the cores
  // may be shared) leave their share to the others.
  int64_t Chunks = std::min<int64_t>(int64_t(NumThreads) * ChunksPerThread,
                                     (n + minChunk - 1) / minChunk);
  if (Chunks <= 1 || NumThreads == 1 || InParallelRegion) {
    fn(ctx, 0, n);
    return;
  }
  std::lock_guard<std::mutex> RunLock(RunMutex);
  JobFn = fn;
  JobCtx = ctx;
  JobN = n;
  JobChunks = Chunks;
  Remaining.store(Chunks, std::memory_order_relaxed);
  // Publishing NextChunk = 0 releases the job fields to any thread whose
  // fetch_add reads it, including a worker still finishing the last job.
  NextChunk.store(Chunks << 32, std::memory_order_release);
  Generation.fetch_add(1); // seq_cst: pairs with the Sleepers check below
  if (Sleepers.load() > 0) {
    std::lock_guard<std::mutex> Lock(Mutex);
    WakeCv.notify_all();
  }
  runChunks();
  int Spins = 0;
  while (Remaining.load(std::memory_order_acquire) != 0) {
    if (++Spins < SpinIterations)
      TFM_CPU_RELAX();
    else
      std::this_thread::yield(); // a worker holding a chunk was preempted
  }
}

} // namespace rt
} // namespace tfm
