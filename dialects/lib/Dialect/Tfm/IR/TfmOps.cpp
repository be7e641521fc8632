//===- TfmOps.cpp - Verifiers of the tfm operations -----------------------===//
//
// Each verifier checks what the ODS traits cannot: how the shapes of the
// operands relate. Dynamic dimensions agree with anything.
//
//===----------------------------------------------------------------------===//

#include "tfm/Dialect/Tfm/IR/TfmOps.h"
#include "tfm/Dialect/Tfm/IR/WeightEncodings.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::tfm;

namespace {
bool agree(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

int64_t dim(Value v, unsigned i) {
  return cast<ShapedType>(v.getType()).getDimSize(i);
}

std::string str(int64_t d) {
  return ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d);
}

/// Checks that dimension `i` of `a` and `j` of `b` agree.
LogicalResult expectAgree(Operation *op, Value a, unsigned i, StringRef aName,
                          Value b, unsigned j, StringRef bName) {
  if (agree(dim(a, i), dim(b, j)))
    return success();
  return op->emitOpError() << aName << " dimension " << i << " ("
                           << str(dim(a, i)) << ") must equal " << bName
                           << " dimension " << j << " (" << str(dim(b, j))
                           << ")";
}

/// Checks that the result has the same shape as the operand.
LogicalResult expectSameShape(Operation *op, Value in, Value out) {
  auto a = cast<ShapedType>(in.getType()), b = cast<ShapedType>(out.getType());
  for (unsigned i = 0; i < a.getRank(); ++i)
    if (!agree(a.getDimSize(i), b.getDimSize(i)))
      return op->emitOpError() << "result shape must equal the input shape";
  return success();
}

/// Checks that dimension `i` of `v` is static: the lowering computes with it
/// (a norm divides by the width, RoPE and the sinusoids by the head or model
/// dimension), and the model always fixes it.
LogicalResult expectStatic(Operation *op, Value v, unsigned i, StringRef what) {
  if (!ShapedType::isDynamic(dim(v, i)))
    return success();
  return op->emitOpError("needs a static ") << what;
}
} // namespace

LogicalResult WeightOp::verify() {
  if (getName().empty())
    return emitOpError("needs a non-empty weight name");
  if (std::optional<WeightEncoding> e = getEncoding()) {
    const formats::EncodingInfo &info = formatInfo(*e);
    auto type = getResult().getType();
    if (type.getRank() != 2 || type.getDimSize(1) % info.blockSize != 0)
      return emitOpError("stores ")
             << info.name << " blocks of " << info.blockSize
             << " along the rows of a 2-D weight, got " << type;
  }
  if (std::optional<uint64_t> tile = getPacked()) {
    auto type = getResult().getType();
    int64_t p = static_cast<int64_t>(*tile);
    if (type.getRank() != 2)
      return emitOpError("packs 2-D weights only, got rank ") << type.getRank();
    if (p < 1)
      return emitOpError("tile must be at least 1, got ") << p;
  }
  if (getQuads()) {
    std::optional<WeightEncoding> e = getEncoding();
    const formats::EncodingComponent *values =
        e ? &formatInfo(*e).components.front() : nullptr;
    if (!getPacked() || !values || values->kind != formats::ElementKind::I8 ||
        values->perBlock % 4 != 0)
      return emitOpError("quads needs packed tiles of int8 values in groups "
                         "of 4 per block");
  }
  return success();
}

LogicalResult EmbeddingOp::verify() {
  if (failed(expectAgree(*this, getResult(), 0, "result", getIds(), 0, "ids")))
    return failure();
  return expectAgree(*this, getResult(), 1, "result", getTable(), 1, "table");
}

/// Dimension `d` of `v` is static and even; otherwise `message`.
static LogicalResult expectEven(Operation *op, Value v, unsigned d,
                                llvm::StringRef what, llvm::StringRef message) {
  if (failed(expectStatic(op, v, d, what)))
    return failure();
  if (dim(v, d) % 2 != 0)
    return op->emitOpError(message) << ", got " << dim(v, d);
  return success();
}

LogicalResult PositionalOp::verify() {
  if (failed(expectSameShape(*this, getInput(), getResult())))
    return failure();
  if (getKind() == PositionalKind::Learned) {
    if (!getTable())
      return emitOpError("learned positions need a position table");
    return expectAgree(*this, getTable(), 1, "table", getInput(), 1, "input");
  }
  if (getTable())
    return emitOpError("sinusoidal positions take no table");
  return expectEven(*this, getInput(), 1, "model dimension",
                    "sinusoidal positions need an even model dimension");
}

LogicalResult RopeOp::verify() {
  return expectEven(*this, getInput(), 2, "head dimension",
                    "rotates pairs, so the head dimension must be even");
}

LogicalResult LayerNormOp::verify() {
  if (failed(expectStatic(*this, getInput(), 1, "model dimension")) ||
      failed(expectSameShape(*this, getInput(), getResult())) ||
      failed(
          expectAgree(*this, getWeight(), 0, "weight", getInput(), 1, "input")))
    return failure();
  return expectAgree(*this, getBias(), 0, "bias", getInput(), 1, "input");
}

LogicalResult RMSNormOp::verify() {
  if (failed(expectStatic(*this, getInput(), 1, "model dimension")) ||
      failed(expectSameShape(*this, getInput(), getResult())))
    return failure();
  return expectAgree(*this, getWeight(), 0, "weight", getInput(), 1, "input");
}

LogicalResult LinearOp::verify() {
  if (failed(expectAgree(*this, getWeight(), 1, "weight", getInput(), 1,
                         "input")) ||
      failed(expectAgree(*this, getResult(), 0, "result", getInput(), 0,
                         "input")) ||
      failed(expectAgree(*this, getResult(), 1, "result", getWeight(), 0,
                         "weight")))
    return failure();
  if (getBias())
    return expectAgree(*this, getBias(), 0, "bias", getWeight(), 0, "weight");
  return success();
}

LogicalResult LMHeadOp::verify() {
  if (failed(expectAgree(*this, getWeight(), 1, "weight", getInput(), 1,
                         "input")) ||
      failed(
          expectAgree(*this, getResult(), 0, "result", getInput(), 0, "input")))
    return failure();
  return expectAgree(*this, getResult(), 1, "result", getWeight(), 0, "weight");
}

LogicalResult MatmulOp::verify() {
  int64_t b = dim(getLhs(), 0), rb = dim(getRhs(), 0);
  if (!ShapedType::isDynamic(b) && !ShapedType::isDynamic(rb) &&
      (rb == 0 || b % rb != 0))
    return emitOpError("rhs batch (")
           << rb << ") must divide lhs batch (" << b << ")";
  unsigned rhsK = getTransposeRhs() ? 2 : 1, rhsN = getTransposeRhs() ? 1 : 2;
  if (failed(expectAgree(*this, getLhs(), 2, "lhs", getRhs(), rhsK, "rhs")) ||
      failed(
          expectAgree(*this, getResult(), 0, "result", getLhs(), 0, "lhs")) ||
      failed(expectAgree(*this, getResult(), 1, "result", getLhs(), 1, "lhs")))
    return failure();
  return expectAgree(*this, getResult(), 2, "result", getRhs(), rhsN, "rhs");
}

/// Heads x head dim must equal the model width `d` (of the `side` operand).
static LogicalResult verifyHeadSplit(Operation *op, int64_t d, int64_t h,
                                     int64_t hd, llvm::StringRef side) {
  if (ShapedType::isDynamic(d) || ShapedType::isDynamic(h) ||
      ShapedType::isDynamic(hd))
    return op->emitOpError("needs static model, head and head-dim sizes");
  if (h * hd != d)
    return op->emitOpError("heads (")
           << h << ") x head dim (" << hd << ") must equal the " << side
           << " width (" << d << ")";
  return success();
}

LogicalResult SplitHeadsOp::verify() {
  if (failed(
          expectAgree(*this, getResult(), 1, "result", getInput(), 0, "input")))
    return failure();
  return verifyHeadSplit(*this, dim(getInput(), 1), dim(getResult(), 0),
                         dim(getResult(), 2), "input");
}

LogicalResult MergeHeadsOp::verify() {
  if (failed(
          expectAgree(*this, getResult(), 0, "result", getInput(), 1, "input")))
    return failure();
  return verifyHeadSplit(*this, dim(getResult(), 1), dim(getInput(), 0),
                         dim(getInput(), 2), "result");
}

/// A layer's cache is [2, KV, context, hd]; `value` is [KV, T, hd].
static LogicalResult verifyCacheAccess(Operation *op, Value cache,
                                       Value value) {
  if (!agree(dim(cache, 0), 2))
    return op->emitOpError("cache dimension 0 must be 2 (keys and values)");
  // The lowering takes [KV, length, hd] windows with static KV and hd.
  if (failed(expectStatic(op, cache, 1,
                          "number of key/value heads in the cache")) ||
      failed(expectStatic(op, cache, 3, "head dimension in the cache")))
    return failure();
  if (failed(expectAgree(op, value, 0, "tensor", cache, 1, "cache")))
    return failure();
  return expectAgree(op, value, 2, "tensor", cache, 3, "cache");
}

LogicalResult KVCacheAppendOp::verify() {
  return verifyCacheAccess(*this, getCache(), getValue());
}

LogicalResult KVCacheReadOp::verify() {
  return verifyCacheAccess(*this, getCache(), getResult());
}

LogicalResult FusedAttentionOp::verify() {
  int64_t h = dim(getQuery(), 0), kv = dim(getKey(), 0);
  if (!ShapedType::isDynamic(h) && !ShapedType::isDynamic(kv) &&
      (kv == 0 || h % kv != 0))
    return emitOpError("key/value heads (")
           << kv << ") must divide query heads (" << h << ")";
  if (getQuery().getType() != getResult().getType())
    return emitOpError("result type must equal the query type");
  if (getKey().getType() != getValue().getType())
    return emitOpError("key and value types must be equal");
  return expectAgree(*this, getKey(), 2, "key", getQuery(), 2, "query");
}

#define GET_OP_CLASSES
#include "tfm/Dialect/Tfm/IR/TfmOps.cpp.inc"
