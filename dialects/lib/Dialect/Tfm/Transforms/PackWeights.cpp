//===- PackWeights.cpp - Column-tiled storage for linear weights ----------===//
//
// Decides, per weight name, whether the blob stores the weight in the
// [N/P][K][P] tiles that generated linear layers read (the last N mod P rows
// in one narrower tile), and records it on every tfm.weight of that name
// (`packed P`); where integer dot products read it, in lanes of 4 k per
// column (`quads`).
//
//===----------------------------------------------------------------------===//

#include "tfm/Dialect/Tfm/IR/TfmOps.h"
#include "tfm/Dialect/Tfm/IR/WeightEncodings.h"
#include "tfm/Dialect/Tfm/Transforms/Passes.h"

#include "llvm/ADT/MapVector.h"

namespace mlir::tfm {
#define GEN_PASS_DEF_TFMPACKWEIGHTSPASS
#include "tfm/Dialect/Tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;

namespace {

/// What the uses of one weight allow.
enum class UseKind { Linear, Embedding, Other };

UseKind classify(OpOperand &use) {
  Operation *user = use.getOwner();
  if (isa<LinearOp, LMHeadOp>(user))
    return use.getOperandNumber() == 1 ? UseKind::Linear : UseKind::Other;
  if (isa<EmbeddingOp>(user))
    return use.getOperandNumber() == 0 ? UseKind::Embedding : UseKind::Other;
  return UseKind::Other;
}

struct TfmPackWeightsPass
    : mlir::tfm::impl::TfmPackWeightsPassBase<TfmPackWeightsPass> {
  using TfmPackWeightsPassBase::TfmPackWeightsPassBase;

  void runOnOperation() override {
    if (tile < 1) {
      getOperation().emitError("tfm-pack-weights: tile must be at least 1");
      return signalPassFailure();
    }
    // Every op of a name must agree: the blob holds the weight once.
    llvm::MapVector<StringRef, SmallVector<WeightOp>> byName;
    getOperation().walk(
        [&](WeightOp op) { byName[op.getName()].push_back(op); });
    for (auto &[name, ops] : byName) {
      bool packable = true, feedsLinear = false, onlyDots = quads;
      for (WeightOp op : ops) {
        auto type = op.getResult().getType();
        if (type.getRank() != 2 || !type.hasStaticShape()) {
          packable = false;
          break;
        }
        std::optional<WeightEncoding> e = op.getEncoding();
        const formats::EncodingComponent *values =
            e ? &formatInfo(*e).components.front() : nullptr;
        onlyDots &= values && values->kind == formats::ElementKind::I8 &&
                    values->perBlock % 4 == 0;
        for (OpOperand &use : op.getResult().getUses()) {
          UseKind kind = classify(use);
          packable &= kind != UseKind::Other;
          feedsLinear |= kind == UseKind::Linear;
          onlyDots &= kind == UseKind::Linear &&
                      (quadHead || !isa<LMHeadOp>(use.getOwner()));
        }
      }
      if (!packable || !feedsLinear)
        continue;
      for (WeightOp op : ops) {
        op.setPacked(static_cast<uint64_t>(tile));
        op.setQuads(onlyDots);
      }
      ++numPacked;
      numQuads += onlyDots;
    }
  }
};

} // namespace
