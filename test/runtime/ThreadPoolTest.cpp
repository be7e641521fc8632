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
  for (int Threads : {1, 2, 3, 5}) {
    ThreadPool Pool(Threads);
    EXPECT_EQ(Pool.numThreads(), Threads);
    for (int64_t N : {0, 1, 2, 3, 7, 64, 1000}) {
      std::vector<std::atomic<int>> Hits(size_t(N) + 1);
      std::atomic<int> Calls{0};
      Pool.parallelFor(N, [&](int64_t B, int64_t E) {
        ++Calls;
        EXPECT_LE(B, E);
        for (int64_t I = B; I < E; ++I)
          ++Hits[size_t(I)];
      });
      for (int64_t I = 0; I < N; ++I)
        ASSERT_EQ(Hits[size_t(I)].load(), 1) << "N=" << N << " i=" << I;
      EXPECT_LE(Calls.load(), 4 * Threads);
      EXPECT_LE(Calls.load(), std::max<int64_t>(N, 0));
    }
  }
}

TEST(ThreadPool, UsesSeveralThreadsAndRespectsMinChunk) {
  ThreadPool Pool(2);
  std::mutex M;
  std::set<std::thread::id> Ids;
  // Chunks are claimed dynamically, so the caller may take them all if the
  // worker is slow to wake; over many slow-ish loops the worker must help.
  for (int Rep = 0; Rep < 200 && Ids.size() < 2; ++Rep)
    Pool.parallelFor(8, [&](int64_t, int64_t) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      std::lock_guard<std::mutex> L(M);
      Ids.insert(std::this_thread::get_id());
    });
  EXPECT_EQ(Ids.size(), 2u);
  std::atomic<int> Calls{0};
  Pool.parallelFor(
      10, [&](int64_t B, int64_t E) { ++Calls; }, /*minChunk=*/16);
  EXPECT_EQ(Calls.load(), 1); // too small to split
}

TEST(ThreadPool, NestedCallsRunSerially) {
  ThreadPool Pool(2);
  std::atomic<int64_t> Sum{0};
  Pool.parallelFor(4, [&](int64_t B, int64_t E) {
    for (int64_t I = B; I < E; ++I)
      Pool.parallelFor(10, [&](int64_t B2, int64_t E2) {
        for (int64_t J = B2; J < E2; ++J)
          Sum += I * 10 + J;
      });
  });
  EXPECT_EQ(Sum.load(), 780); // sum of 0..39
}

TEST(ThreadPool, ManyQuickDispatches) {
  ThreadPool Pool(2);
  int64_t Total = 0;
  std::vector<int64_t> Part(2);
  for (int Rep = 0; Rep < 2000; ++Rep) {
    Pool.parallelFor(2, [&](int64_t B, int64_t E) { Part[size_t(B)] = B + 1; });
    Total += Part[0] + Part[1];
    Part[0] = Part[1] = 0;
  }
  EXPECT_EQ(Total, 2000 * 3);
}

TEST(ThreadPool, SleepingWorkersWakeUp) {
  ThreadPool Pool(2);
  std::this_thread::sleep_for(std::chrono::milliseconds(50)); // workers sleep
  std::atomic<int> Count{0};
  Pool.parallelFor(2, [&](int64_t B, int64_t E) { Count += int(E - B); });
  EXPECT_EQ(Count.load(), 2);
}

TEST(ThreadPool, ScopesChooseTheCurrentPool) {
  EXPECT_EQ(ThreadPool::current(), nullptr);
  // Without a current pool the free parallelFor runs serially in one call.
  int Calls = 0;
  tfm::rt::parallelFor(100, [&](int64_t B, int64_t E) {
    ++Calls;
    EXPECT_EQ(B, 0);
    EXPECT_EQ(E, 100);
  });
  EXPECT_EQ(Calls, 1);
  ThreadPool A(2), B(3);
  {
    ThreadPool::Scope UseA(A);
    EXPECT_EQ(ThreadPool::current(), &A);
    {
      ThreadPool::Scope UseB(B);
      EXPECT_EQ(ThreadPool::current(), &B);
    }
    EXPECT_EQ(ThreadPool::current(), &A);
    // The current pool belongs to the thread: another thread has none.
    ThreadPool *Elsewhere = &A;
    std::thread([&] { Elsewhere = ThreadPool::current(); }).join();
    EXPECT_EQ(Elsewhere, nullptr);
    std::atomic<int64_t> Sum{0};
    tfm::rt::parallelFor(1000, [&](int64_t Begin, int64_t End) {
      for (int64_t I = Begin; I < End; ++I)
        Sum += I;
    });
    EXPECT_EQ(Sum.load(), 999 * 1000 / 2);
  }
  EXPECT_EQ(ThreadPool::current(), nullptr);
}

} // namespace

// Back-to-back jobs of different chunk counts: a worker still leaving the
// previous job must not claim a chunk of the next one twice (it once did,
// leaving run() waiting forever). A hang here fails the test by timeout.
TEST(ThreadPool, BackToBackJobsOfDifferentSizes) {
  ThreadPool Pool(2);
  std::atomic<long> Sum{0};
  const long Jobs = 200000;
  for (long It = 0; It < Jobs; ++It) {
    long N = (It & 1) ? 2 : 8;
    Pool.parallelFor(
        N, [&](int64_t B, int64_t E) { Sum += E - B; }, 1);
  }
  EXPECT_EQ(Sum.load(), Jobs / 2 * 10);
}
