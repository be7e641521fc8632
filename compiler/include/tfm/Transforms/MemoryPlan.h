//===- MemoryPlan.h - Liveness-based arena planning -------------*- C++ -*-===//
//
// The analysis behind tfm-plan-memory, shared by the pass, by
// `tfmc --emit=memory-plan` and by the unit tests: live intervals of a
// function's allocations, and offsets in one arena for them.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TRANSFORMS_MEMORYPLAN_H
#define TFM_TRANSFORMS_MEMORYPLAN_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <string>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace tfm {

/// One buffer to place: `size` bytes live from op `first` to op `last`
/// (inclusive, program positions). `offset` is the planner's output.
struct BufferInterval {
  int64_t size = 0;
  int64_t first = 0;
  int64_t last = 0;
  int64_t offset = -1;
};

/// Greedy best-fit interval colouring: buffers by decreasing size, each at
/// the lowest offset of the smallest gap left by the already placed buffers
/// whose intervals intersect its own (or on top of them). Offsets are
/// multiples of `alignment`; returns the arena size in bytes.
int64_t assignOffsets(llvm::MutableArrayRef<BufferInterval> buffers,
                      int64_t alignment);

/// One planned allocation of a function.
struct PlannedAlloc {
  mlir::memref::AllocOp alloc;
  std::string name; ///< As the printer names it, e.g. "%alloc_12".
  std::string type; ///< Its memref type.
  BufferInterval interval;
  llvm::SmallVector<mlir::Operation *> deallocs;
};

/// The plan of one function.
struct MemoryPlan {
  std::string function;
  int64_t contextLength = 0; ///< Bound used for dynamic dimensions...
  int64_t maxTokens = 0;     ///< ...but the token count's, if not 0.
  int64_t alignment = 64;
  llvm::SmallVector<PlannedAlloc> buffers;
  llvm::SmallVector<std::string> skipped; ///< Allocs left alone, and why.
  int64_t arenaSize = 0;
  int64_t naiveSize = 0; ///< Sum of the planned buffers' sizes.
};

/// Plans `fn` (no IR change). `contextLength` 0 means the function's
/// `tfm.context_length` attribute; without either, allocations with dynamic
/// sizes are skipped. `maxTokens` 0 means the `tfm.max_tokens` attribute; it
/// bounds dynamic sizes that are a dimension of a function argument (the
/// token count).
MemoryPlan planFunctionMemory(mlir::func::FuncOp fn, int64_t contextLength = 0,
                              int64_t alignment = 64, int64_t maxTokens = 0);

/// The value `plan` assumes as the largest of the dynamic size `size` (0: no
/// bound).
int64_t dynamicSizeBound(const MemoryPlan &plan, mlir::Value size);

/// Prints `plan` as a table: buffer, type, bytes, first/last use, offset;
/// then the arena size and the naive sum.
void printMemoryPlan(const MemoryPlan &plan, llvm::raw_ostream &os);

/// Plans and prints every function with a body in `module`.
void printMemoryPlans(mlir::ModuleOp module, llvm::raw_ostream &os);

} // namespace tfm

#endif // TFM_TRANSFORMS_MEMORYPLAN_H
