//===- Passes.td - Passes on buffers and other non-dialect IR -*- tablegen -*-===//

#ifndef TFM_TRANSFORMS_PASSES_TD
#define TFM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def TfmPlanMemoryPass : Pass<"tfm-plan-memory", "func::FuncOp"> {
  let summary = "Place every activation buffer of a function in one arena by liveness";
  let description = [{
    Runs after bufferization and deallocation. Every `memref.alloc` in the
    entry block of a (single-block) function gets a byte offset in one arena:
    its live interval runs from its first to its last use in program order,
    counting uses of every alias (views, casts, subviews, transposes,
    reshapes) and attributing uses inside regions to the enclosing top-level
    op; the `memref.dealloc`s the deallocation pipeline put at the end of the
    function do not count. Offsets come from a greedy best-fit interval
    colouring (largest buffers first, each in the smallest gap that no
    buffer live at the same time occupies).

    Dynamic sizes (the token count T of prefill, the cached length
    pos + T of unfused attention) are bounded by the context length: the
    `context-length` option, or else the function's `tfm.context_length`
    attribute set by the graph builder. The pass inserts one `cf.assert` per
    dynamic size so a larger value aborts instead of overlapping buffers.

    Each planned alloc becomes a `memref.view` into one
    `memref.alloc() : memref<Nxi8>` at the top of the function, its
    deallocs are dropped, and the arena is deallocated before the return:
    one allocation per call instead of dozens. Allocs that escape (returned),
    that live in nested regions, whose element size is not a whole number of
    bytes, or that have a non-identity layout or memory space are left alone.
  }];
  let options = [
    Option<"contextLength", "context-length", "int64_t", /*default=*/"0",
           "Bound of every dynamic dimension (0: the function's tfm.context_length)">,
    Option<"alignment", "alignment", "int64_t", /*default=*/"64",
           "Byte alignment of every buffer in the arena">,
    Option<"print", "print", "bool", /*default=*/"false",
           "Print the plan (buffer, bytes, first/last use, offset) to stdout">
  ];
  let dependentDialects = [
    "arith::ArithDialect", "cf::ControlFlowDialect", "memref::MemRefDialect"
  ];
  let statistics = [
    Statistic<"numPlanned", "num-planned", "Allocations placed in the arena">,
    Statistic<"arenaBytes", "arena-bytes", "Arena bytes (summed over functions)">,
    Statistic<"naiveBytes", "naive-bytes", "Bytes of the planned allocations, summed">
  ];
}

#endif // TFM_TRANSFORMS_PASSES_TD
