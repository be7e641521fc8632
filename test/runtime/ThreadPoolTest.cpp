//===- ThreadPoolTest.cpp - parallelFor coverage, nesting, reuse ----------===//

#include "tfm/runtime/ThreadPool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using tfm::rt::ThreadPool;

namespace {

TEST(ThreadPool, CoversEveryIndexOnce) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.getNumThreads(), threads);
    for (int64_t n : {0, 1, 2, 3, 7, 64, 1000}) {
      std::vector<std::atomic<int>> hits(size_t(n) + 1);
      std::atomic<int> calls{0};
      pool.parallelFor(n, [&](int64_t b, int64_t e) {
        ++calls;
        EXPECT_LE(b, e);
        for (int64_t i = b; i < e; ++i)
          ++hits[size_t(i)];
      });
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(hits[size_t(i)].load(), 1) << "N=" << n << " i=" << i;
      EXPECT_LE(calls.load(), 2 * threads);
      EXPECT_LE(calls.load(), std::max<int64_t>(n, 0));
    }
  }
}

TEST(ThreadPool, UsesSeveralThreadsAndRespectsMinChunk) {
  ThreadPool pool(2);
  std::mutex m;
  std::set<std::thread::id> ids;
  // Chunks are claimed dynamically, so the caller may take them all if the
  // worker is slow to wake; over many slow-ish loops the worker must help.
  for (int rep = 0; rep < 200 && ids.size() < 2; ++rep)
    pool.parallelFor(8, [&](int64_t, int64_t) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      std::lock_guard<std::mutex> l(m);
      ids.insert(std::this_thread::get_id());
    });
  EXPECT_EQ(ids.size(), 2u);
  std::atomic<int> calls{0};
  pool.parallelFor(10, [&](int64_t b, int64_t e) { ++calls; }, /*minChunk=*/16);
  EXPECT_EQ(calls.load(), 1); // too small to split
}

TEST(ThreadPool, NestedCallsRunSerially) {
  ThreadPool pool(2);
  std::atomic<int64_t> sum{0};
  pool.parallelFor(4, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      pool.parallelFor(10, [&](int64_t b2, int64_t e2) {
        for (int64_t j = b2; j < e2; ++j)
          sum += i * 10 + j;
      });
  });
  EXPECT_EQ(sum.load(), 780); // sum of 0..39
}

TEST(ThreadPool, ManyQuickDispatches) {
  ThreadPool pool(2);
  int64_t total = 0;
  std::vector<int64_t> part(2);
  for (int rep = 0; rep < 2000; ++rep) {
    pool.parallelFor(2, [&](int64_t b, int64_t e) { part[size_t(b)] = b + 1; });
    total += part[0] + part[1];
    part[0] = part[1] = 0;
  }
  EXPECT_EQ(total, 2000 * 3);
}

TEST(ThreadPool, SleepingWorkersWakeUp) {
  ThreadPool pool(2);
  std::this_thread::sleep_for(std::chrono::milliseconds(50)); // workers sleep
  std::atomic<int> count{0};
  pool.parallelFor(2, [&](int64_t b, int64_t e) { count += int(e - b); });
  EXPECT_EQ(count.load(), 2);
}

TEST(ThreadPool, ScopesChooseTheCurrentPool) {
  EXPECT_EQ(ThreadPool::current(), nullptr);
  // Without a current pool the free parallelFor runs serially in one call.
  int calls = 0;
  tfm::rt::parallelFor(100, [&](int64_t b, int64_t e) {
    ++calls;
    EXPECT_EQ(b, 0);
    EXPECT_EQ(e, 100);
  });
  EXPECT_EQ(calls, 1);
  ThreadPool a(2), b(3);
  {
    ThreadPool::Scope useA(a);
    EXPECT_EQ(ThreadPool::current(), &a);
    {
      ThreadPool::Scope useB(b);
      EXPECT_EQ(ThreadPool::current(), &b);
    }
    EXPECT_EQ(ThreadPool::current(), &a);
    // The current pool belongs to the thread: another thread has none.
    ThreadPool *elsewhere = &a;
    std::thread([&] { elsewhere = ThreadPool::current(); }).join();
    EXPECT_EQ(elsewhere, nullptr);
    std::atomic<int64_t> sum{0};
    tfm::rt::parallelFor(1000, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        sum += i;
    });
    EXPECT_EQ(sum.load(), 999 * 1000 / 2);
  }
  EXPECT_EQ(ThreadPool::current(), nullptr);
}

} // namespace

// Back-to-back jobs of different chunk counts: a worker still leaving the
// previous job must not claim a chunk of the next one twice (it once did,
// leaving run() waiting forever). A hang here fails the test by timeout.
TEST(ThreadPool, BackToBackJobsOfDifferentSizes) {
  ThreadPool pool(2);
  std::atomic<long> sum{0};
  const long jobs = 200000;
  for (long it = 0; it < jobs; ++it) {
    long n = (it & 1) ? 2 : 8;
    pool.parallelFor(n, [&](int64_t b, int64_t e) { sum += e - b; }, 1);
  }
  EXPECT_EQ(sum.load(), jobs / 2 * 10);
}
