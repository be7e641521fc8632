//===- ThreadPool.h - Persistent worker pool for the kernels ----*- C++ -*-===//
//
// A small fork-join pool: `parallelFor(n, fn)` splits [0, n) into a few
// contiguous chunks per thread, which the persistent workers and the calling
// thread claim dynamically, and returns when all are done.
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
//===----------------------------------------------------------------------===//

#ifndef TFM_RUNTIME_THREADPOOL_H
#define TFM_RUNTIME_THREADPOOL_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace tfm {
namespace rt {

class ThreadPool {
public:
  /// Creates a pool that runs bodies on \p numThreads threads in total (the
  /// caller counts as one). Values < 1 mean hardwareThreads().
  explicit ThreadPool(int numThreads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  /// Number of threads a parallelFor uses (including the caller).
  int numThreads() const { return NumThreads; }

  /// Calls fn(begin, end) on disjoint contiguous ranges covering [0, n), at
  /// most 4 ranges per thread, ranges no smaller than \p minChunk items
  /// (so tiny loops stay on one thread). Blocks until every range is done.
  template <typename Fn>
  void parallelFor(int64_t n, Fn &&fn, int64_t minChunk = 1) {
    auto Thunk = [](void *Ctx, int64_t B, int64_t E) {
      (*static_cast<std::remove_reference_t<Fn> *>(Ctx))(B, E);
    };
    run(n, minChunk, Thunk, const_cast<void *>(static_cast<const void *>(&fn)));
  }

  /// std::thread::hardware_concurrency(), at least 1.
  static int hardwareThreads();

private:
  using RangeFn = void (*)(void *, int64_t, int64_t);
  void run(int64_t n, int64_t minChunk, RangeFn fn, void *ctx);
  void workerLoop(int index);
  void runChunks();

  int NumThreads;
  std::vector<std::thread> Workers;

  // The current job, published by bumping Generation.
  RangeFn JobFn = nullptr;
  void *JobCtx = nullptr;
  int64_t JobN = 0;
  int64_t JobChunks = 0;
  std::atomic<int64_t> NextChunk{0}; // next chunk to claim
  std::atomic<int64_t> Remaining{0}; // chunks not finished
  std::atomic<uint64_t> Generation{0};
  std::atomic<bool> Stop{false};
  std::atomic<int> Sleepers{0}; // workers blocked on WakeCv
  std::mutex Mutex;
  std::condition_variable WakeCv;
  std::mutex RunMutex; // serialises concurrent callers of run()
};

/// The pool the kernels use. Created on first use with hardwareThreads().
ThreadPool &globalPool();

/// Replaces the global pool with one of \p numThreads threads (< 1 means
/// hardware threads). Not to be called while kernels are running.
void setNumThreads(int numThreads);

} // namespace rt
} // namespace tfm

extern "C" {
/// C entry to tfm::rt::setNumThreads, for embedders and generated code.
void tfmrt_set_num_threads(int numThreads);
/// Number of threads of the global pool.
int tfmrt_get_num_threads(void);
}

#endif // TFM_RUNTIME_THREADPOOL_H
