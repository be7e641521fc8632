//===- FuseAttention.cpp - matmul-scale-mask-softmax-matmul fusion --------===//

#include "tfm/Dialect/Tfm/IR/TfmOps.h"
#include "tfm/Dialect/Tfm/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::tfm {
#define GEN_PASS_DEF_TFMFUSEATTENTIONPASS
#include "tfm/Dialect/Tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;

namespace {

/// Returns the op defining `v` as OpTy when `v` has exactly one use: an
/// intermediate with other users must stay materialised, so no fusion.
template <typename OpTy> OpTy singleUseProducer(Value v) {
  if (!v.hasOneUse())
    return nullptr;
  return v.getDefiningOp<OpTy>();
}

/// Matches from the final matmul (probabilities x V) upwards.
struct FuseAttentionPattern : OpRewritePattern<MatmulOp> {
  FuseAttentionPattern(MLIRContext *ctx, llvm::Statistic &fused)
      : OpRewritePattern(ctx), numFused(fused) {}

  LogicalResult matchAndRewrite(MatmulOp pv,
                                PatternRewriter &rewriter) const override {
    if (pv.getTransposeRhs())
      return rewriter.notifyMatchFailure(pv, "V must not be transposed");
    auto softmax = singleUseProducer<SoftmaxOp>(pv.getLhs());
    if (!softmax)
      return rewriter.notifyMatchFailure(pv, "lhs is not a single-use softmax");

    // Optional mask: causal_mask or alibi (which masks too).
    Value scores = softmax.getInput();
    Value pos;
    bool causal = false, alibi = false;
    if (auto mask = singleUseProducer<CausalMaskOp>(scores)) {
      causal = true;
      pos = mask.getPos();
      scores = mask.getInput();
    } else if (auto bias = singleUseProducer<AlibiOp>(scores)) {
      causal = alibi = true;
      pos = bias.getPos();
      scores = bias.getInput();
    }

    // The scale sits on the scores, or was folded into Q.
    float factor = 1.0f;
    bool scaled = false;
    if (auto scale = singleUseProducer<ScaleOp>(scores)) {
      factor = scale.getFactor().convertToFloat();
      scores = scale.getInput();
      scaled = true;
    }
    auto qk = singleUseProducer<MatmulOp>(scores);
    if (!qk || !qk.getTransposeRhs())
      return rewriter.notifyMatchFailure(pv,
                                         "scores are not a single-use Q K^T");
    Value query = qk.getLhs();
    if (!scaled) {
      if (auto scale = singleUseProducer<ScaleOp>(query)) {
        factor = scale.getFactor().convertToFloat();
        query = scale.getInput();
        scaled = true;
      }
    }
    if (!scaled)
      return rewriter.notifyMatchFailure(pv, "no attention scale found");

    Value key = qk.getRhs(), value = pv.getRhs();
    if (key.getType() != value.getType())
      return rewriter.notifyMatchFailure(pv, "K and V types differ");
    if (query.getType() != pv.getType())
      return rewriter.notifyMatchFailure(pv, "output type differs from Q");

    if (!pos)
      pos = rewriter.create<arith::ConstantIndexOp>(pv.getLoc(), 0);
    rewriter.replaceOpWithNewOp<FusedAttentionOp>(
        pv, pv.getType(), query, key, value, pos,
        rewriter.getF32FloatAttr(factor),
        causal ? rewriter.getUnitAttr() : nullptr,
        alibi ? rewriter.getUnitAttr() : nullptr);
    ++numFused;
    return success();
  }

  llvm::Statistic &numFused;
};

struct TfmFuseAttentionPass
    : tfm::impl::TfmFuseAttentionPassBase<TfmFuseAttentionPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseAttentionPattern>(&getContext(), numFused);
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
