//===- PlanMemoryTest.cpp - tfm-plan-memory on random programs ------------===//
//
// Two levels: the interval colouring alone on random intervals, and the whole
// analysis + rewrite on random straight-line programs whose liveness the
// generator knows. The property is the same: buffers live at the same time
// never share a byte, and every offset is aligned.
//
//===----------------------------------------------------------------------===//

#include "tfm/Transforms/MemoryPlan.h"
#include "tfm/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/MathExtras.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <sstream>

namespace {

bool liveTogether(const tfm::BufferInterval &a, const tfm::BufferInterval &b) {
  return a.first <= b.last && b.first <= a.last;
}

bool overlapInMemory(const tfm::BufferInterval &a,
                     const tfm::BufferInterval &b) {
  return a.offset < b.offset + b.size && b.offset < a.offset + a.size;
}

/// No two buffers live at once overlap; offsets aligned and inside the
/// arena; the arena is at least the largest live set and at most the sum.
void checkPlan(llvm::ArrayRef<tfm::BufferInterval> buffers, int64_t arena,
               int64_t alignment) {
  int64_t naive = 0, maxEnd = 0;
  for (size_t i = 0; i < buffers.size(); ++i) {
    const auto &a = buffers[i];
    naive += int64_t(llvm::alignTo(a.size, alignment));
    ASSERT_GE(a.offset, 0);
    ASSERT_EQ(a.offset % alignment, 0);
    maxEnd = std::max(maxEnd, a.offset + a.size);
    for (size_t j = i + 1; j < buffers.size(); ++j)
      if (liveTogether(a, buffers[j])) {
        ASSERT_FALSE(overlapInMemory(a, buffers[j]))
            << "buffers " << i << " and " << j << " are live together at "
            << "offsets " << a.offset << " and " << buffers[j].offset;
      }
  }
  EXPECT_LE(maxEnd, arena);
  EXPECT_LE(arena, naive);
  // Lower bound: the bytes live at any one position.
  std::map<int64_t, int64_t> live;
  for (const auto &a : buffers)
    for (int64_t p = a.first; p <= a.last; ++p)
      live[p] += a.size;
  for (auto [pos, bytes] : live)
    EXPECT_GE(arena, bytes) << "at position " << pos;
}

TEST(PlanMemory, Empty) { EXPECT_EQ(tfm::assignOffsets({}, 64), 0); }

TEST(PlanMemory, DisjointIntervalsShareOffsetZero) {
  std::vector<tfm::BufferInterval> b = {{100, 0, 1}, {200, 2, 3}, {50, 4, 9}};
  int64_t arena = tfm::assignOffsets(b, 64);
  EXPECT_EQ(arena, 256);
  for (const auto &x : b)
    EXPECT_EQ(x.offset, 0);
}

TEST(PlanMemory, BestFitTakesTheSmallestHole) {
  // Long-lived L1 [0,1024), L2 [1536,1792), L3 [1920,2048) leave two holes
  // once H1 and H2 die: 512 bytes at 1024 and 128 bytes at 1792. A 64-byte
  // buffer born later takes the smaller hole (first fit would take 1024).
  std::vector<tfm::BufferInterval> b = {{1024, 0, 10}, {512, 0, 1},
                                        {256, 0, 10},  {128, 0, 1},
                                        {128, 0, 10},  {64, 5, 6}};
  int64_t arena = tfm::assignOffsets(b, 64);
  checkPlan(b, arena, 64);
  EXPECT_EQ(b[1].offset, 1024);
  EXPECT_EQ(b[3].offset, 1792);
  EXPECT_EQ(b[5].offset, 1792);
  EXPECT_EQ(arena, 2048);
}

TEST(PlanMemory, GapBetweenLiveBuffersIsReused) {
  std::vector<tfm::BufferInterval> b = {{256, 0, 1}, {256, 0, 10}, {64, 5, 6}};
  int64_t arena = tfm::assignOffsets(b, 64);
  checkPlan(b, arena, 64);
  EXPECT_EQ(b[2].offset, 0);
  EXPECT_EQ(arena, 512);
}

TEST(PlanMemory, RandomIntervals) {
  std::mt19937 rng(12345);
  for (int trial = 0; trial < 500; ++trial) {
    int n = 1 + rng() % 60;
    int64_t alignment = int64_t(1) << (rng() % 8);
    std::vector<tfm::BufferInterval> b;
    for (int i = 0; i < n; ++i) {
      int64_t first = rng() % 100, len = rng() % 30;
      b.push_back({int64_t(1 + rng() % 5000), first, first + len});
    }
    int64_t arena = tfm::assignOffsets(b, alignment);
    checkPlan(b, arena, alignment);
    if (HasFatalFailure())
      return;
  }
}

/// A random straight-line function: allocs, uses of live buffers and of
/// aliases (an unregistered op returning a memref), deallocs at the end as
/// the deallocation pipeline puts them. Records each buffer's real interval.
struct RandomProgram {
  std::string text;
  std::vector<tfm::BufferInterval> expected; // by alloc order
  std::vector<int64_t> elements;
};

RandomProgram makeProgram(std::mt19937 &rng) {
  RandomProgram p;
  std::ostringstream os;
  os << "func.func @f(%n: index) attributes {tfm.context_length = 16 : i64} "
        "{\n";
  int64_t pos = 0;
  struct Buf {
    std::string name, type;
    std::vector<std::string> aliases;
    bool dead = false;
  };
  std::vector<Buf> bufs;
  int steps = 5 + rng() % 40, values = 0;
  for (int s = 0; s < steps; ++s) {
    int kind = rng() % 4;
    std::vector<size_t> live;
    for (size_t i = 0; i < bufs.size(); ++i)
      if (!bufs[i].dead)
        live.push_back(i);
    if (kind == 0 || live.empty()) {
      bool dynamic = rng() % 3 == 0;
      int64_t cols = 1 + rng() % 64;
      std::string type = dynamic ? "memref<?x" + std::to_string(cols) + "xf32>"
                                 : "memref<" + std::to_string(cols) + "xf32>";
      std::string name = "%b" + std::to_string(bufs.size());
      os << "  " << name << " = memref.alloc(" << (dynamic ? "%n" : "")
         << ") : " << type << "\n";
      bufs.push_back({name, type, {name}});
      p.expected.push_back({(dynamic ? 16 : 1) * cols * 4, -1, -1});
      ++pos;
      continue;
    }
    size_t i = live[rng() % live.size()];
    Buf &b = bufs[i];
    auto touch = [&] {
      auto &e = p.expected[i];
      if (e.first < 0)
        e.first = pos;
      e.last = pos;
    };
    if (kind == 1) { // an alias
      std::string v = "%v" + std::to_string(values++);
      os << "  " << v << " = \"test.alias\"("
         << b.aliases[rng() % b.aliases.size()] << ") : (" << b.type << ") -> "
         << b.type << "\n";
      b.aliases.push_back(v);
      touch();
    } else if (kind == 2) { // a use, maybe of two buffers
      size_t j = live[rng() % live.size()];
      os << "  \"test.use\"(" << b.aliases[rng() % b.aliases.size()] << ", "
         << bufs[j].aliases[rng() % bufs[j].aliases.size()] << ") : (" << b.type
         << ", " << bufs[j].type << ") -> ()\n";
      touch();
      auto &e = p.expected[j];
      if (e.first < 0)
        e.first = pos;
      e.last = pos;
    } else { // the buffer is not used again
      b.dead = true;
      continue;
    }
    ++pos;
  }
  for (size_t i = 0; i < bufs.size(); ++i) {
    os << "  memref.dealloc " << bufs[i].name << " : " << bufs[i].type << "\n";
    ++pos;
  }
  os << "  return\n}\n";
  // A buffer never used is live at its alloc only.
  p.text = os.str();
  return p;
}

TEST(PlanMemory, RandomPrograms) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::func::FuncDialect, mlir::memref::MemRefDialect,
                  mlir::arith::ArithDialect, mlir::cf::ControlFlowDialect>();
  mlir::MLIRContext ctx(registry);
  ctx.allowUnregisteredDialects();
  ctx.loadAllAvailableDialects();
  std::mt19937 rng(777);
  for (int trial = 0; trial < 200; ++trial) {
    RandomProgram program = makeProgram(rng);
    auto module = mlir::parseSourceString<mlir::ModuleOp>(program.text, &ctx);
    ASSERT_TRUE(module) << program.text;
    auto fn = *module->getOps<mlir::func::FuncOp>().begin();
    tfm::MemoryPlan plan = tfm::planFunctionMemory(fn);
    ASSERT_EQ(plan.buffers.size(), program.expected.size()) << program.text;
    std::vector<tfm::BufferInterval> got;
    for (size_t i = 0; i < plan.buffers.size(); ++i) {
      const tfm::BufferInterval &e = program.expected[i];
      const tfm::BufferInterval &g = plan.buffers[i].interval;
      EXPECT_EQ(g.size, e.size);
      if (e.first >= 0) {
        EXPECT_EQ(g.first, e.first) << "buffer " << i << "\n" << program.text;
        EXPECT_EQ(g.last, e.last) << "buffer " << i << "\n" << program.text;
      }
      got.push_back(g);
    }
    checkPlan(got, plan.arenaSize, plan.alignment);
    if (HasFailure())
      return;

    // The rewrite: no alloc but the arena, no dealloc but its own, valid IR.
    mlir::PassManager pm(&ctx);
    pm.addNestedPass<mlir::func::FuncOp>(mlir::tfm::createTfmPlanMemoryPass());
    ASSERT_TRUE(mlir::succeeded(pm.run(*module))) << program.text;
    ASSERT_TRUE(mlir::succeeded(mlir::verify(*module)));
    int allocs = 0, deallocs = 0, views = 0;
    module->walk([&](mlir::Operation *op) {
      allocs += mlir::isa<mlir::memref::AllocOp>(op);
      deallocs += mlir::isa<mlir::memref::DeallocOp>(op);
      views += mlir::isa<mlir::memref::ViewOp>(op);
    });
    EXPECT_EQ(allocs, plan.buffers.empty() ? 0 : 1);
    EXPECT_EQ(deallocs, allocs);
    EXPECT_EQ(views, (int)plan.buffers.size());
  }
}

} // namespace
