//===- PlanMemory.cpp - All activations of a call in one arena ------------===//
//
// tfm-plan-memory: after bufferization every intermediate of a function (an
// entry point or a block function) is a memref.alloc, and the deallocation
// pipeline frees them all at the end of the function. This pass computes
// when each buffer is really live (first to last use of any alias), gives
// each one an offset in a single arena so that buffers live at the same time
// never overlap, and rewrites the allocs into memref.views of that arena.
//
//===----------------------------------------------------------------------===//

#include "tfm/Transforms/MemoryPlan.h"
#include "tfm/Transforms/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <numeric>

namespace mlir::tfm {
#define GEN_PASS_DEF_TFMPLANMEMORYPASS
#include "tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;

namespace tfm {

int64_t assignOffsets(llvm::MutableArrayRef<BufferInterval> buffers,
                      int64_t alignment) {
  if (alignment < 1)
    alignment = 1;
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  // Largest first: big buffers get the low, contiguous space; small ones
  // fill the holes. Ties by start so the result is deterministic.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (buffers[a].size != buffers[b].size)
      return buffers[a].size > buffers[b].size;
    return buffers[a].first < buffers[b].first;
  });
  std::vector<size_t> placed;
  int64_t arena = 0;
  for (size_t i : order) {
    BufferInterval &buf = buffers[i];
    int64_t need =
        int64_t(llvm::alignTo(std::max<int64_t>(buf.size, 1), alignment));
    // The placed buffers live at the same time as `buf`, by offset.
    std::vector<size_t> busy;
    for (size_t j : placed)
      if (buffers[j].first <= buf.last && buf.first <= buffers[j].last)
        busy.push_back(j);
    std::sort(busy.begin(), busy.end(), [&](size_t a, size_t b) {
      return buffers[a].offset < buffers[b].offset;
    });
    int64_t cursor = 0, best = -1, bestGap = 0;
    for (size_t j : busy) {
      int64_t gap = buffers[j].offset - cursor;
      if (gap >= need && (best < 0 || gap < bestGap)) {
        best = cursor;
        bestGap = gap;
      }
      cursor = std::max(
          cursor, int64_t(llvm::alignTo(buffers[j].offset + buffers[j].size,
                                        alignment)));
    }
    buf.offset = best >= 0 ? best : cursor;
    arena = std::max(arena, buf.offset + need);
    placed.push_back(i);
  }
  return arena;
}

/// Bytes of one element, or 0 when not a whole number of bytes (or index,
/// whose width the data layout decides later).
static int64_t elementBytes(Type type) {
  if (!type.isIntOrFloat())
    return 0;
  unsigned bits = type.getIntOrFloatBitWidth();
  return bits % 8 == 0 ? bits / 8 : 0;
}

int64_t dynamicSizeBound(const MemoryPlan &plan, Value size) {
  // The token count is the one dynamic dimension of the entry points'
  // arguments (tokens, logits).
  if (plan.maxTokens > 0)
    if (auto dim = size.getDefiningOp<memref::DimOp>())
      if (auto arg = dyn_cast<BlockArgument>(dim.getSource()))
        if (isa<func::FuncOp>(arg.getOwner()->getParentOp()))
          return plan.maxTokens;
  return plan.contextLength;
}

MemoryPlan planFunctionMemory(func::FuncOp fn, int64_t contextLength,
                              int64_t alignment, int64_t maxTokens) {
  MemoryPlan plan;
  plan.function = fn.getSymName().str();
  plan.alignment = alignment;
  auto fromAttr = [&](int64_t &value, StringRef name) {
    if (value <= 0)
      if (auto attr = fn->getAttrOfType<IntegerAttr>(name))
        value = attr.getInt();
  };
  fromAttr(contextLength, "tfm.context_length");
  fromAttr(maxTokens, "tfm.max_tokens");
  plan.contextLength = contextLength;
  plan.maxTokens = maxTokens;
  if (fn.isExternal())
    return plan;
  if (!fn.getBody().hasOneBlock()) {
    plan.skipped.push_back("the function has more than one block");
    return plan;
  }
  Block &entry = fn.getBody().front();
  llvm::DenseMap<Operation *, int64_t> position;
  int64_t n = 0;
  for (Operation &op : entry)
    position[&op] = n++;

  AsmState asmState(fn);
  auto nameOf = [&](Value v) {
    std::string s;
    llvm::raw_string_ostream os(s);
    v.printAsOperand(os, asmState);
    return s;
  };

  fn.walk([&](memref::AllocOp alloc) {
    std::string name = nameOf(alloc.getResult());
    auto skip = [&](const char *why) {
      plan.skipped.push_back(name + ": " + why);
    };
    if (alloc->getBlock() != &entry)
      return skip("inside a nested region");
    MemRefType type = alloc.getType();
    if (!type.getLayout().isIdentity() || type.getMemorySpace())
      return skip("non-identity layout or a memory space");
    int64_t bytes = elementBytes(type.getElementType());
    if (!bytes)
      return skip("element size is not a whole number of bytes");
    if (alloc.getAlignment() && (int64_t)*alloc.getAlignment() > alignment)
      return skip("asks for more alignment than the arena gives");
    auto dynamicSizes = alloc.getDynamicSizes().begin();
    for (int64_t dim : type.getShape()) {
      if (ShapedType::isDynamic(dim)) {
        dim = dynamicSizeBound(plan, *dynamicSizes++);
        if (dim <= 0)
          return skip("dynamic size and no context length to bound it");
      }
      if (llvm::MulOverflow(bytes, dim, bytes))
        return skip("size overflows 64 bits");
    }

    // Liveness over every alias: any memref- or tensor-typed result of an op
    // that uses an alias is itself an alias (views, casts, transposes,
    // reshapes, region results).
    PlannedAlloc buffer;
    buffer.alloc = alloc;
    buffer.name = name;
    llvm::raw_string_ostream(buffer.type) << type;
    int64_t first = -1, last = -1;
    llvm::SetVector<Value> aliases;
    aliases.insert(alloc.getResult());
    for (size_t i = 0; i < aliases.size(); ++i) {
      for (OpOperand &use : aliases[i].getUses()) {
        Operation *user = use.getOwner();
        if (isa<memref::DeallocOp>(user)) {
          buffer.deallocs.push_back(user);
          continue;
        }
        Operation *top = entry.findAncestorOpInBlock(*user);
        if (!top || isa<func::ReturnOp>(user))
          return skip("escapes the function");
        int64_t pos = position.lookup(top);
        first = first < 0 ? pos : std::min(first, pos);
        last = std::max(last, pos);
        for (Value result : user->getResults())
          if (isa<ShapedType>(result.getType()))
            aliases.insert(result);
      }
    }
    if (first < 0)
      first = last = position.lookup(alloc);
    buffer.interval = {bytes, first, last, -1};
    plan.buffers.push_back(std::move(buffer));
  });

  SmallVector<BufferInterval> intervals;
  for (PlannedAlloc &b : plan.buffers)
    intervals.push_back(b.interval);
  plan.arenaSize = assignOffsets(intervals, alignment);
  for (auto [b, interval] : llvm::zip(plan.buffers, intervals)) {
    b.interval = interval;
    plan.naiveSize += interval.size;
  }
  return plan;
}

void printMemoryPlan(const MemoryPlan &plan, llvm::raw_ostream &os) {
  os << "memory plan of @" << plan.function << " (";
  if (plan.maxTokens > 0)
    os << "tokens at most " << plan.maxTokens << ", other ";
  os << "dynamic sizes at context length " << plan.contextLength
     << ", alignment " << plan.alignment << ")\n";
  size_t nameWidth = 6, typeWidth = 4;
  for (const PlannedAlloc &b : plan.buffers) {
    nameWidth = std::max(nameWidth, b.name.size());
    typeWidth = std::max(typeWidth, b.type.size());
  }
  os << "  " << llvm::left_justify("buffer", nameWidth) << "  "
     << llvm::left_justify("type", typeWidth) << "  "
     << llvm::right_justify("bytes", 12) << "  "
     << llvm::right_justify("first", 6) << "  "
     << llvm::right_justify("last", 6) << "  "
     << llvm::right_justify("offset", 12) << "\n";
  for (const PlannedAlloc &b : plan.buffers)
    os << "  " << llvm::left_justify(b.name, nameWidth) << "  "
       << llvm::left_justify(b.type, typeWidth) << "  "
       << llvm::format_decimal(b.interval.size, 12) << "  "
       << llvm::format_decimal(b.interval.first, 6) << "  "
       << llvm::format_decimal(b.interval.last, 6) << "  "
       << llvm::format_decimal(b.interval.offset, 12) << "\n";
  for (const std::string &s : plan.skipped)
    os << "  not planned: " << s << "\n";
  if (plan.buffers.empty()) {
    os << "  arena: none (nothing to plan)\n";
    return;
  }
  os << "  arena: " << plan.arenaSize
     << " bytes in 1 allocation; naive sum: " << plan.naiveSize << " bytes in "
     << plan.buffers.size() << " allocations";
  if (plan.naiveSize > 0)
    os << " (arena = "
       << llvm::format("%.1f", 100.0 * plan.arenaSize / plan.naiveSize)
       << "% of naive)";
  os << "\n";
}

void printMemoryPlans(ModuleOp module, llvm::raw_ostream &os) {
  module.walk([&](func::FuncOp fn) {
    if (!fn.isExternal())
      printMemoryPlan(planFunctionMemory(fn), os);
  });
}

} // namespace tfm

namespace {

struct TfmPlanMemoryPass
    : mlir::tfm::impl::TfmPlanMemoryPassBase<TfmPlanMemoryPass> {
  using TfmPlanMemoryPassBase::TfmPlanMemoryPassBase;

  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.isExternal())
      return;
    ::tfm::MemoryPlan plan =
        ::tfm::planFunctionMemory(fn, contextLength, alignment, maxTokens);
    if (print)
      ::tfm::printMemoryPlan(plan, llvm::outs());
    if (plan.buffers.empty())
      return;

    Block &entry = fn.getBody().front();
    Location loc = fn.getLoc();
    OpBuilder b(fn.getContext());
    b.setInsertionPointToStart(&entry);
    auto arenaType = MemRefType::get({plan.arenaSize}, b.getI8Type());
    Value arena = b.create<memref::AllocOp>(loc, arenaType,
                                            b.getI64IntegerAttr(alignment));

    // A dynamic size above the bound would make buffers overlap: abort.
    llvm::SetVector<Value> dynamicSizes;
    for (::tfm::PlannedAlloc &buffer : plan.buffers)
      for (Value size : buffer.alloc.getDynamicSizes())
        dynamicSizes.insert(size);
    for (Value size : dynamicSizes) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointAfterValue(size);
      Value bound = b.create<arith::ConstantIndexOp>(
          loc, ::tfm::dynamicSizeBound(plan, size));
      Value ok =
          b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ule, size, bound);
      b.create<cf::AssertOp>(
          loc, ok,
          "tfm-plan-memory: a dynamic size exceeds the bound the arena was "
          "planned for");
    }

    for (::tfm::PlannedAlloc &buffer : plan.buffers) {
      memref::AllocOp alloc = buffer.alloc;
      b.setInsertionPoint(alloc);
      Value offset = b.create<arith::ConstantIndexOp>(alloc.getLoc(),
                                                      buffer.interval.offset);
      Value view =
          b.create<memref::ViewOp>(alloc.getLoc(), alloc.getType(), arena,
                                   offset, alloc.getDynamicSizes());
      for (Operation *dealloc : buffer.deallocs)
        dealloc->erase();
      alloc.getResult().replaceAllUsesWith(view);
      alloc.erase();
    }
    b.setInsertionPoint(entry.getTerminator());
    b.create<memref::DeallocOp>(loc, arena);

    numPlanned += plan.buffers.size();
    arenaBytes += plan.arenaSize;
    naiveBytes += plan.naiveSize;
  }
};

} // namespace
