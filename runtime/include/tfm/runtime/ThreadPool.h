//===- ThreadPool.h - Persistent worker pool for the kernels ----*- C++ -*-===//
//
// A small fork-join pool: `parallelFor(n, fn)` splits [0, n) into one
// contiguous chunk per thread (ThreadPool.cpp says why), which the
// persistent workers and the calling thread claim dynamically, and returns
// when all are done.
//
// Why our own pool rather than OpenMP:
//  * Generated executables are linked by tfmc with the system linker; an
//    OpenMP dependency would add libgomp/libomp to every link line and tie
//    the runtime to one compiler's OpenMP ABI.
//  * Decode calls a kernel ~10 times per layer per token; each dispatch must
//    cost microseconds. Workers spin briefly on an atomic generation counter
//    before sleeping on a condition variable, which keeps dispatch cheap
//    without burning a core between tokens.
//  * Chunk boundaries depend only on n, so results never depend on which
//    thread ran what; claiming chunks dynamically keeps a preempted thread
//    (the cores are shared with other processes) from stalling a call.
//
// A parallelFor issued from inside a running parallelFor body runs serially
// on the calling thread (no nested parallelism, no deadlock).
//
// There is no process-wide pool: each session owns one (Session.cpp) and
// makes it the calling thread's current pool while it runs the model, so
// sessions with different thread counts never share or resize a pool. The
// kernels call the free tfm::rt::parallelFor, which uses the current pool,
// or runs serially on a thread that has none.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_RUNTIME_THREADPOOL_H
#define TFM_RUNTIME_THREADPOOL_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include <pthread.h>

namespace tfm {
namespace rt {

class ThreadPool {
public:
  /// Most threads one pool runs (the executable's -t takes at most this).
  static constexpr int kMaxThreads = 4096;

  /// Creates a pool that runs bodies on \p requested threads in total (the
  /// caller counts as one). Values < 1 mean hardwareThreads(), values above
  /// kMaxThreads mean kMaxThreads. If the system refuses to start a thread, the
  /// pool keeps the ones it has: getNumThreads() says how many, getStartError()
  /// why (an errno value, 0 if every thread started).
  explicit ThreadPool(int requested);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  /// Number of threads a parallelFor uses (including the caller).
  int getNumThreads() const { return numThreads; }
  int getStartError() const { return startError; }

  /// Calls fn(begin, end) on disjoint contiguous ranges covering [0, n), at
  /// most 2 ranges per thread, ranges no smaller than \p minChunk items
  /// (so tiny loops stay on one thread). Blocks until every range is done.
  template <typename Fn>
  void parallelFor(int64_t n, Fn &&fn, int64_t minChunk = 1) {
    auto thunk = [](void *ctx, int64_t b, int64_t e) {
      (*static_cast<std::remove_reference_t<Fn> *>(ctx))(b, e);
    };
    run(n, minChunk, thunk, const_cast<void *>(static_cast<const void *>(&fn)));
  }

  /// std::thread::hardware_concurrency(), at least 1.
  static int hardwareThreads();

  /// The calling thread's current pool (see Scope), or nullptr.
  static ThreadPool *current();

  /// Makes a pool the calling thread's current pool for the lifetime of the
  /// scope (scopes nest; the previous pool is restored).
  class Scope {
  public:
    explicit Scope(ThreadPool &pool);
    ~Scope();
    Scope(const Scope &) = delete;
    Scope &operator=(const Scope &) = delete;

  private:
    ThreadPool *previous;
  };

private:
  using RangeFn = void (*)(void *, int64_t, int64_t);
  void run(int64_t n, int64_t minChunk, RangeFn fn, void *ctx);
  static void *workerMain(void *pool);
  void workerLoop();
  void runChunks();

  int numThreads = 1;
  int startError = 0;
  // pthreads rather than std::thread: the runtime is built without
  // exceptions, and a refused thread must not become an escaping
  // std::system_error.
  std::vector<pthread_t> workers;

  // The current job, published by bumping generation.
  RangeFn jobFn = nullptr;
  void *jobCtx = nullptr;
  int64_t jobN = 0;
  int64_t jobChunks = 0;
  std::atomic<int64_t> nextChunk{0}; // next chunk to claim
  std::atomic<int64_t> remaining{0}; // chunks not finished
  std::atomic<uint64_t> generation{0};
  std::atomic<bool> stop{false};
  std::atomic<int> sleepers{0}; // workers blocked on wakeCv
  std::mutex mutex;
  std::condition_variable wakeCv;
  std::mutex runMutex; // serialises concurrent callers of run()
};

/// ThreadPool::parallelFor on the calling thread's current pool; without
/// one, fn(0, n) on the calling thread.
template <typename Fn>
void parallelFor(int64_t n, Fn &&fn, int64_t minChunk = 1) {
  if (ThreadPool *pool = ThreadPool::current())
    pool->parallelFor(n, fn, minChunk);
  else if (n > 0)
    fn(int64_t(0), n);
}

} // namespace rt
} // namespace tfm

#endif // TFM_RUNTIME_THREADPOOL_H
