//===- GraphBuilder.cpp - ModelSpec -> tfm dialect ------------------------===//

#include "tfm/Frontend/GraphBuilder.h"

#include "tfm/Dialect/Tfm/IR/TfmOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringMap.h"

#include <algorithm>
#include <cmath>

using namespace mlir;

namespace tfm {

namespace {

constexpr int64_t kDyn = ShapedType::kDynamic;

/// The weight names of a block function: templates, `{i}` for its layer.
constexpr const char *kLayerPrefix = "layers.{i}";

/// The table of a model whose layers have more than one storage signature:
/// memref<L x 2 x i64>, row l = (byte offset of layer l, its signature).
constexpr const char *kLayerTable = "tfm_layers";

/// The dialect's encoding of a weight stored as `storage`; none for f32.
std::optional<mlir::tfm::WeightEncoding> encodingOf(WeightStorage storage) {
  // The dialect's WeightEncoding has the encodings table's values.
  if (storage == WeightStorage::F32)
    return std::nullopt;
  return static_cast<mlir::tfm::WeightEncoding>(storage);
}

/// Emits the functions of one kind of call: the entry point and the block
/// function it calls once per layer. `fixedTokens` is 0 for prefill (dynamic
/// T) and 1 for decode. With `attentionProbe`, both functions take one more
/// argument, a view of [layers, heads, T, pos + T] floats, into which every
/// layer writes its attention probabilities (tfmc --probes=attention).
class EntryBuilder {
public:
  EntryBuilder(OpBuilder &b, const ModelSpec &spec, const WeightsLayout &layout,
               int64_t fixedTokens, int64_t maxTokens,
               bool attentionProbe = false)
      : b(b), spec(spec), a(spec.block.attention), layout(layout),
        loc(at(SpecKey::Model, spec.name)), t(fixedTokens ? fixedTokens : kDyn),
        maxTokens(maxTokens), attentionProbe(attentionProbe) {
    // Every weight's shape comes from expectedWeights (via the layout), the
    // one place that says which weights a model has.
    for (size_t i = 0; i < layout.weights.size(); ++i) {
      shapes.try_emplace(layout.weights[i].templ, layout.weights[i].shape);
      if (layerOf(layout.weights[i]) < 0)
        storage[layout.weights[i].name] = layout.storage[i];
    }
  }

  /// Builds `@<name>` and `@tfm_block_<kind>` at the builder's insertion
  /// point; with `lastRowName`, also `@<lastRowName>`, the same entry point
  /// calling the same block function, whose final norm and LM head see only
  /// the last token (the runtime calls it when no caller wants the other
  /// rows' logits: for a prompt, the LM head is most of the work of a small
  /// model, and all of it is thrown away but one row).
  /// With more than one LayerSignature, one block function per signature:
  /// `@tfm_block_<kind>` for signature 0, `@tfm_block_<kind>_<s>` for s.
  void build(StringRef name, StringRef kind, StringRef lastRowName = {}) {
    SmallVector<func::FuncOp> blockFns;
    for (size_t s = 0; s < layout.signatures.size(); ++s)
      blockFns.push_back(buildBlockFunction(
          ("tfm_block_" + kind + (s ? "_" + Twine(s) : Twine())).str(), s));
    buildEntry(name, blockFns, /*lastRowOnly=*/false);
    if (!lastRowName.empty())
      buildEntry(lastRowName, blockFns, /*lastRowOnly=*/true);
  }

private:
  /// The location of what comes from `key` of the spec, named `name` (a
  /// weight or a part of the model, e.g. "layers.{i}.wq"). From a
  /// description: name("file.tfm":line:col) of the key (or of the nearest
  /// key it gives); from a checkpoint: name("checkpoint path").
  Location at(SpecKey key, StringRef name) {
    MLIRContext *ctx = b.getContext();
    const SpecSource &src = spec.source;
    Location file = UnknownLoc::get(ctx);
    if (src.description) {
      auto it = src.keys.find(key);
      if (it == src.keys.end())
        it = src.keys.find(SpecKey::Model);
      file = it == src.keys.end()
                 ? FileLineColLoc::get(ctx, src.file, 1, 1)
                 : FileLineColLoc::get(ctx, src.file, it->second.first,
                                       it->second.second);
    } else if (!src.file.empty()) {
      file = NameLoc::get(b.getStringAttr(src.file));
    }
    return NameLoc::get(b.getStringAttr(name), file);
  }

  /// Sets the location of the ops built in its scope.
  struct AtScope {
    AtScope(EntryBuilder &e, Location l) : e(e), saved(e.loc) { e.loc = l; }
    ~AtScope() { e.loc = saved; }
    EntryBuilder &e;
    Location saved;
  };

  /// Bounds for tfm-plan-memory: the token count of one call (the runtime
  /// prefills in chunks, so the arena does not grow with the context), and
  /// the cached length pos + T.
  void setMemoryBounds(func::FuncOp fn) {
    if (t == kDyn)
      fn->setAttr("tfm.max_tokens", b.getI64IntegerAttr(maxTokens));
    fn->setAttr("tfm.context_length", b.getI64IntegerAttr(spec.contextLength));
  }

  /// [2, KV, context, hd] of one layer, a view into the whole cache. The
  /// context is the run-time one (the cache's size says it), so the strides
  /// of the outer dimensions are dynamic.
  MemRefType layerCacheType() {
    return MemRefType::get({2, a.kvHeads, kDyn, a.headDim}, b.getF32Type(),
                           StridedLayoutAttr::get(b.getContext(), kDyn,
                                                  {kDyn, kDyn, a.headDim, 1}));
  }

  /// The attention probe's view of [layers, heads, T, pos + T] floats (any
  /// strides: the runtime passes rows of a larger matrix when it evaluates
  /// a prompt in chunks), and one layer's [heads, T, pos + T] of it.
  MemRefType probeType(bool oneLayer) {
    SmallVector<int64_t> shape = {spec.numLayers, a.heads, kDyn, kDyn};
    if (oneLayer)
      shape.erase(shape.begin());
    SmallVector<int64_t> strides(shape.size(), kDyn);
    strides.back() = 1;
    return MemRefType::get(
        shape, b.getF32Type(),
        StridedLayoutAttr::get(b.getContext(), kDyn, strides));
  }

  /// func.func private @tfm_block_<kind>(%x: tensor<TxD>, %weights:
  /// memref<stride x i8>, %cache: <one layer's cache>, %pos: index
  /// [, %probe: <one layer's attention probabilities>]) -> tensor<TxD>
  /// One transformer block, for any layer of signature `sig`: its weights
  /// are named by their templates, at offsets relative to the layer's first
  /// weight, in the signature's storage.
  func::FuncOp buildBlockFunction(StringRef name, size_t sig) {
    const LayerSignature &signature = layout.signatures[sig];
    auto layerWeightsType =
        MemRefType::get({(int64_t)signature.stride}, b.getI8Type());
    SmallVector<Type> argTypes = {rows(spec.dim), layerWeightsType,
                                  layerCacheType(), b.getIndexType()};
    if (attentionProbe)
      argTypes.push_back(probeType(/*oneLayer=*/true));
    auto fnType = b.getFunctionType(argTypes, {rows(spec.dim)});
    AtScope scope(*this, at(SpecKey::Layers, kLayerPrefix));
    auto fn = b.create<func::FuncOp>(loc, name, fnType);
    fn.setPrivate();
    fn.setArgAttr(1, "tfm.weights", b.getUnitAttr());
    fn.setArgAttr(2, "tfm.kv_cache", b.getUnitAttr());
    if (attentionProbe)
      fn.setArgAttr(4, "tfm.attention_probe", b.getUnitAttr());
    setMemoryBounds(fn);
    // Layer 0's templates, in the order of every layer's weights.
    SmallVector<NamedAttribute> offsets;
    size_t k = 0;
    for (const WeightDecl &d : layout.weights) {
      if (layerOf(d) != 0)
        continue;
      offsets.push_back(
          b.getNamedAttr(d.templ, b.getI64IntegerAttr(signature.offsets[k])));
      storage[d.templ] = signature.storage[k++];
    }
    fn->setAttr("tfm.weight_offsets", b.getDictionaryAttr(offsets));

    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(fn.addEntryBlock());
    Value x = fn.getArgument(0);
    pos = fn.getArgument(3);
    cache = fn.getArgument(2);
    if (attentionProbe)
      probe = fn.getArgument(4);
    Value numTokens = b.create<tensor::DimOp>(loc, x, 0);
    cachedLength = b.create<arith::AddIOp>(loc, pos, numTokens);
    b.create<func::ReturnOp>(loc, block(x));
    return fn;
  }

  void buildEntry(StringRef name, ArrayRef<func::FuncOp> blockFns,
                  bool lastRowOnly) {
    auto f32 = b.getF32Type();
    const int64_t tokensDim = t; // The entry's T, whatever rows it returns.
    auto restoreRows = llvm::make_scope_exit([&, tokensDim] { t = tokensDim; });
    const int64_t logitRows = lastRowOnly ? 1 : t;
    auto weightsType =
        MemRefType::get({(int64_t)layout.totalSize}, b.getI8Type());
    auto tokensType = RankedTensorType::get({t}, b.getI32Type());
    // layers * 2 * kv_heads * context * head_dim floats for the session's
    // run-time context (at most the compiled one).
    auto kvFlatType = MemRefType::get({kDyn}, f32);
    auto logitsType = RankedTensorType::get({logitRows, spec.vocabSize}, f32);
    // Logits are written into a runtime-owned buffer (destination passing),
    // so bufferization can compute the LM head in place: no T x V temporary.
    auto logitsBufferType = MemRefType::get({logitRows, spec.vocabSize}, f32);
    SmallVector<Type> argTypes = {weightsType, tokensType, b.getIndexType(),
                                  kvFlatType, logitsBufferType};
    if (attentionProbe)
      argTypes.push_back(probeType(/*oneLayer=*/false));
    auto fnType = b.getFunctionType(argTypes, {});
    auto fn = b.create<func::FuncOp>(loc, name, fnType);
    fn.setArgAttr(0, "tfm.weights", b.getUnitAttr());
    fn.setArgAttr(3, "tfm.kv_cache", b.getUnitAttr());
    fn.setArgAttr(4, "tfm.logits", b.getUnitAttr());
    if (attentionProbe)
      fn.setArgAttr(5, "tfm.attention_probe", b.getUnitAttr());
    fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    setMemoryBounds(fn);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(fn.addEntryBlock());
    tokens = fn.getArgument(1);
    pos = fn.getArgument(2);
    Value weights = fn.getArgument(0);
    // The run-time context: the cache's floats / (layers * 2 * KV * hd).
    Value context = b.create<arith::DivUIOp>(
        loc, b.create<memref::DimOp>(loc, fn.getArgument(3), 0),
        b.create<arith::ConstantIndexOp>(loc, spec.numLayers * 2 * a.kvHeads *
                                                  a.headDim));
    Value allCaches = b.create<memref::ExpandShapeOp>(
        loc,
        MemRefType::get({spec.numLayers, 2, a.kvHeads, kDyn, a.headDim}, f32),
        fn.getArgument(3), SmallVector<ReassociationIndices>{{0, 1, 2, 3, 4}},
        ArrayRef<OpFoldResult>{b.getIndexAttr(spec.numLayers),
                               b.getIndexAttr(2), b.getIndexAttr(a.kvHeads),
                               context, b.getIndexAttr(a.headDim)});

    // x = block(x, layer l's weights and cache) for l = 0 .. layers-1.
    auto index = [&](int64_t v) {
      return b.create<arith::ConstantIndexOp>(loc, v).getResult();
    };
    Value x = embed();
    AtScope layers(*this, at(SpecKey::Layers, "layers"));
    // Layer l's weights start at base + l * stride when all layers share
    // one signature, else at the offset the table gives with its signature.
    const bool uniform = blockFns.size() == 1;
    Value layerBase, layerStride, table;
    if (uniform) {
      layerBase = index(layout.layerOffsets[0]);
      layerStride = index(layout.signatures[0].stride);
    } else {
      table = b.create<memref::GetGlobalOp>(loc, layerTableType(), kLayerTable);
    }
    // The probe's [heads, T, pos + T] window of each layer.
    Value probeTokens, probeKeys;
    if (attentionProbe) {
      probeTokens = b.create<tensor::DimOp>(loc, tokens, 0);
      probeKeys = b.create<arith::AddIOp>(loc, pos, probeTokens);
    }
    auto loop = b.create<scf::ForOp>(
        loc, index(0), index(spec.numLayers), index(1), ValueRange{x},
        [&](OpBuilder &lb, Location l, Value layer, ValueRange carried) {
          // Layer l's weights and, with several signatures, its signature.
          Value offset, sig;
          if (uniform) {
            offset = lb.create<arith::AddIOp>(
                l, layerBase, lb.create<arith::MulIOp>(l, layer, layerStride));
          } else {
            auto entry = [&](int64_t column) {
              Value at = lb.create<arith::ConstantIndexOp>(l, column);
              Value v =
                  lb.create<memref::LoadOp>(l, table, ValueRange{layer, at});
              return lb.create<arith::IndexCastOp>(l, lb.getIndexType(), v)
                  .getResult();
            };
            offset = entry(0);
            sig = entry(1);
          }
          // The layer's weights as each signature's block function reads them.
          SmallVector<Value> views;
          for (func::FuncOp blockFn : blockFns)
            views.push_back(
                lb.create<memref::ViewOp>(l, blockFn.getArgumentTypes()[1],
                                          weights, offset, ValueRange{}));
          SmallVector<OpFoldResult> offsets = {
              layer, lb.getIndexAttr(0), lb.getIndexAttr(0), lb.getIndexAttr(0),
              lb.getIndexAttr(0)};
          SmallVector<OpFoldResult> sizes = {
              lb.getIndexAttr(1), lb.getIndexAttr(2),
              lb.getIndexAttr(a.kvHeads), context, lb.getIndexAttr(a.headDim)};
          SmallVector<OpFoldResult> strides(5, lb.getIndexAttr(1));
          Value layerCache = lb.create<memref::SubViewOp>(
              l, layerCacheType(), allCaches, offsets, sizes, strides);
          SmallVector<Value> args = {carried[0], Value(), layerCache, pos};
          if (attentionProbe) {
            SmallVector<OpFoldResult> first = {layer, lb.getIndexAttr(0),
                                               lb.getIndexAttr(0),
                                               lb.getIndexAttr(0)};
            SmallVector<OpFoldResult> size = {lb.getIndexAttr(1),
                                              lb.getIndexAttr(a.heads),
                                              probeTokens, probeKeys};
            SmallVector<OpFoldResult> step(4, lb.getIndexAttr(1));
            args.push_back(lb.create<memref::SubViewOp>(
                l, probeType(/*oneLayer=*/true), fn.getArgument(5), first, size,
                step));
          }
          // The block function of signature s on layer l.
          auto call = [&](OpBuilder &cb, size_t s) {
            args[1] = views[s];
            return cb.create<func::CallOp>(l, blockFns[s], args).getResult(0);
          };
          if (uniform) {
            lb.create<scf::YieldOp>(l, call(lb, 0));
            return;
          }
          // if s == 1 {block 1} else if s == 2 {...} else {block 0}: not an
          // scf.index_switch, because once bufferized every branch yields
          // the hidden state's buffer, which scf.if's canonicalization
          // folds (index_switch's does not), so the loop carries no value.
          Type hidden = carried[0].getType();
          Value result;
          // (Not OpBuilder::atBlockEnd: the loop is not built yet, so its
          // body's region has no context.)
          OpBuilder cb(lb.getContext());
          cb.setInsertionPoint(lb.getInsertionBlock(), lb.getInsertionPoint());
          for (size_t s = 1; s < blockFns.size(); ++s) {
            Value is = cb.create<arith::CmpIOp>(
                l, arith::CmpIPredicate::eq, sig,
                cb.create<arith::ConstantIndexOp>(l, s));
            auto branch = cb.create<scf::IfOp>(l, TypeRange{hidden}, is,
                                               /*withElseRegion=*/true);
            if (result)
              cb.create<scf::YieldOp>(l, branch.getResult(0));
            else
              result = branch.getResult(0);
            cb.setInsertionPointToEnd(branch.thenBlock());
            cb.create<scf::YieldOp>(l, call(cb, s));
            cb.setInsertionPointToEnd(branch.elseBlock());
          }
          cb.create<scf::YieldOp>(l, call(cb, 0));
          lb.create<scf::YieldOp>(l, result);
        });
    x = loop.getResult(0);
    if (lastRowOnly) {
      // x[T-1 : T, :], and every op from here on has one row.
      Value rowsIn = b.create<tensor::DimOp>(loc, x, 0);
      Value last = b.create<arith::SubIOp>(loc, rowsIn, index(1));
      t = 1;
      x = b.create<tensor::ExtractSliceOp>(
          loc, rows(spec.dim), x,
          ArrayRef<OpFoldResult>{last, b.getIndexAttr(0)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(spec.dim)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
    }
    if (spec.finalNorm) {
      AtScope scope(*this, at(SpecKey::FinalNorm, "final_norm"));
      x = norm(x, "final_norm");
    }
    AtScope head(*this, at(SpecKey::Head, "lm_head"));
    Value logits = b.create<mlir::tfm::LMHeadOp>(
        loc, logitsType, x,
        weight(spec.tiedHead ? "tok_embeddings.weight" : "lm_head.weight"));
    b.create<bufferization::MaterializeInDestinationOp>(
        loc, TypeRange{}, logits, fn.getArgument(4), /*restrict=*/true,
        /*writable=*/true);
    b.create<func::ReturnOp>(loc);
  }

  MemRefType layerTableType() {
    return MemRefType::get({spec.numLayers, 2}, b.getI64Type());
  }

  RankedTensorType rows(int64_t width) {
    return RankedTensorType::get({t, width}, b.getF32Type());
  }

  /// tfm.weight of a template of expectedWeights, with its shape and the
  /// encoding of its storage (in the block function being built).
  Value weight(const std::string &name) {
    auto it = shapes.find(name);
    assert(it != shapes.end() && "a weight expectedWeights does not list");
    auto op = b.create<mlir::tfm::WeightOp>(
        loc, RankedTensorType::get(it->second, b.getF32Type()), name);
    if (auto encoding = encodingOf(storage.lookup(name)))
      op.setEncoding(*encoding);
    return op;
  }

  Value embed() {
    AtScope scope(*this, at(SpecKey::Vocab, "tok_embeddings"));
    Value table = weight("tok_embeddings.weight");
    Value x =
        b.create<mlir::tfm::EmbeddingOp>(loc, rows(spec.dim), table, tokens);
    if (spec.embeddingScale != 1.0f)
      x = b.create<mlir::tfm::ScaleOp>(at(SpecKey::Scale, "embedding.scale"), x,
                                       b.getF32FloatAttr(spec.embeddingScale));
    AtScope positions(*this, at(SpecKey::Positions, "positions"));
    if (spec.positional == PositionEncoding::Sinusoidal)
      x = b.create<mlir::tfm::PositionalOp>(
          loc, rows(spec.dim), mlir::tfm::PositionalKind::Sinusoidal, x, pos,
          Value());
    if (spec.positional == PositionEncoding::Learned)
      x = b.create<mlir::tfm::PositionalOp>(
          loc, rows(spec.dim), mlir::tfm::PositionalKind::Learned, x, pos,
          weight("pos_embeddings.weight"));
    return x;
  }

  Value norm(Value x, const std::string &prefix) {
    const NormSpec &n = spec.block.norm;
    Value w = weight(prefix + ".weight");
    if (n.kind == NormKind::RMSNorm)
      return b.create<mlir::tfm::RMSNormOp>(loc, x.getType(), x, w,
                                            b.getF32FloatAttr(n.eps));
    Value bias = weight(prefix + ".bias");
    return b.create<mlir::tfm::LayerNormOp>(loc, x.getType(), x, w, bias,
                                            b.getF32FloatAttr(n.eps));
  }

  /// x W^T (+ bias) with the weights of `prefix`; `key` is the part of
  /// the spec it belongs to (attention or ffn), for its location.
  Value linear(Value x, const std::string &prefix, SpecKey key, bool hasBias) {
    AtScope scope(*this, at(key, prefix));
    Value w = weight(prefix + ".weight");
    Value bias = hasBias ? weight(prefix + ".bias") : Value();
    int64_t out = cast<RankedTensorType>(w.getType()).getDimSize(0);
    return b.create<mlir::tfm::LinearOp>(loc, rows(out), x, w, bias);
  }

  Value heads(Value x, int64_t n) {
    return b.create<mlir::tfm::SplitHeadsOp>(
        at(SpecKey::Attention, std::string(kLayerPrefix) + ".attention"),
        RankedTensorType::get({n, t, a.headDim}, b.getF32Type()), x);
  }

  Value attention(Value x) {
    std::string p = kLayerPrefix;
    const int64_t qDim = a.heads * a.headDim;
    const SpecKey attn = SpecKey::Attention;
    Value q = heads(linear(x, p + ".wq", attn, a.qkvBias), a.heads);
    Value k = heads(linear(x, p + ".wk", attn, a.qkvBias), a.kvHeads);
    Value v = heads(linear(x, p + ".wv", attn, a.qkvBias), a.kvHeads);
    AtScope scope(*this, at(attn, p + ".attention"));
    if (spec.positional == PositionEncoding::Rope) {
      AtScope rope(*this, at(SpecKey::Positions, p + ".rope"));
      auto theta = b.getF32FloatAttr(spec.ropeTheta);
      auto style = mlir::tfm::RopeStyleAttr::get(
          b.getContext(), spec.ropePairing == RopePairing::Interleaved
                              ? mlir::tfm::RopeStyle::Interleaved
                              : mlir::tfm::RopeStyle::Half);
      q = b.create<mlir::tfm::RopeOp>(loc, q.getType(), q, pos, theta, style);
      k = b.create<mlir::tfm::RopeOp>(loc, k.getType(), k, pos, theta, style);
    }
    b.create<mlir::tfm::KVCacheAppendOp>(loc, k, cache,
                                         mlir::tfm::CacheKind::Key, pos);
    b.create<mlir::tfm::KVCacheAppendOp>(loc, v, cache,
                                         mlir::tfm::CacheKind::Value, pos);
    auto cachedType =
        RankedTensorType::get({a.kvHeads, kDyn, a.headDim}, b.getF32Type());
    Value keys = b.create<mlir::tfm::KVCacheReadOp>(
        loc, cachedType, cache, mlir::tfm::CacheKind::Key, cachedLength);
    Value values = b.create<mlir::tfm::KVCacheReadOp>(
        loc, cachedType, cache, mlir::tfm::CacheKind::Value, cachedLength);

    auto scoresType = RankedTensorType::get({a.heads, t, kDyn}, b.getF32Type());
    Value s = b.create<mlir::tfm::MatmulOp>(loc, scoresType, q, keys,
                                            /*transpose_rhs=*/b.getUnitAttr());
    s = b.create<mlir::tfm::ScaleOp>(
        loc, s, b.getF32FloatAttr(1.0f / std::sqrt((float)a.headDim)));
    if (spec.positional == PositionEncoding::Alibi)
      s = b.create<mlir::tfm::AlibiOp>(loc, s.getType(), s, pos);
    else if (a.causal)
      s = b.create<mlir::tfm::CausalMaskOp>(loc, s.getType(), s, pos);
    s = b.create<mlir::tfm::SoftmaxOp>(loc, s);
    // The probe's copy of the probabilities is a second use of the softmax,
    // so tfm-fuse-attention leaves this attention unfused.
    if (attentionProbe)
      b.create<bufferization::MaterializeInDestinationOp>(
          loc, TypeRange{}, s, probe, /*restrict=*/true, /*writable=*/true);
    Value o = b.create<mlir::tfm::MatmulOp>(loc, q.getType(), s, values,
                                            /*transpose_rhs=*/nullptr);
    o = b.create<mlir::tfm::MergeHeadsOp>(loc, rows(qDim), o);
    return linear(o, p + ".wo", attn, a.outBias);
  }

  Value activation(Value x) {
    switch (spec.block.ffn.activation) {
    case Activation::ReLU:
      return b.create<mlir::tfm::ReluOp>(loc, x);
    case Activation::SiLU:
      return b.create<mlir::tfm::SiluOp>(loc, x);
    case Activation::Gelu:
      return b.create<mlir::tfm::GeluOp>(loc, x,
                                         mlir::tfm::GeluApproximation::None);
    case Activation::GeluTanh:
      return b.create<mlir::tfm::GeluOp>(loc, x,
                                         mlir::tfm::GeluApproximation::Tanh);
    }
    llvm_unreachable("unknown activation");
  }

  Value ffn(Value x) {
    std::string p = kLayerPrefix;
    const FfnSpec &f = spec.block.ffn;
    Value h = linear(x, p + ".w1", SpecKey::Ffn, f.bias);
    {
      AtScope scope(*this, at(SpecKey::Activation, p + ".ffn"));
      h = activation(h);
    }
    if (f.gated) {
      Value gate = linear(x, p + ".w3", SpecKey::Ffn, f.bias);
      AtScope scope(*this, at(SpecKey::Ffn, p + ".ffn"));
      h = b.create<mlir::tfm::MulOp>(loc, h, gate);
    }
    return linear(h, p + ".w2", SpecKey::Ffn, f.bias);
  }

  /// A norm of the block, located at the block's `norm` key.
  Value blockNorm(Value x, const std::string &prefix) {
    AtScope scope(*this, at(SpecKey::Norm, prefix));
    return norm(x, prefix);
  }

  /// The residual connection, located at the block (`block x N`).
  Value residual(Value x, Value y) {
    AtScope scope(*this, at(SpecKey::Layers, kLayerPrefix));
    return b.create<mlir::tfm::AddOp>(loc, x, y);
  }

  Value block(Value x) {
    std::string p = kLayerPrefix;
    if (spec.block.preNorm) {
      x = residual(x, attention(blockNorm(x, p + ".attn_norm")));
      return residual(x, ffn(blockNorm(x, p + ".ffn_norm")));
    }
    x = blockNorm(residual(x, attention(x)), p + ".attn_norm");
    return blockNorm(residual(x, ffn(x)), p + ".ffn_norm");
  }

  OpBuilder &b;
  const ModelSpec &spec;
  const AttentionSpec &a;
  const WeightsLayout &layout;
  Location loc; ///< Of the ops being built (see AtScope).
  llvm::StringMap<ArrayRef<int64_t>> shapes; ///< Of each weight template.
  /// The storage of each weight outside the layers (by name) and of each
  /// template of the block function being built.
  llvm::StringMap<WeightStorage> storage;
  int64_t t;
  int64_t maxTokens; ///< Most tokens of one call.
  bool attentionProbe;
  /// Of the function being built: tokens (entry points), the layer's cache
  /// and the cached length after this call (block functions), pos (both).
  Value tokens, pos, cache, cachedLength;
  Value probe; ///< The layer's attention probabilities (probe block only).
};

} // namespace

int64_t prefillTokens(const ModelSpec &spec, int64_t prefillChunk) {
  return std::max<int64_t>(1, std::min(prefillChunk, spec.contextLength));
}

OwningOpRef<ModuleOp> buildGraph(MLIRContext &ctx, const ModelSpec &spec,
                                 const WeightsLayout &layout,
                                 int64_t prefillChunk, Probes probes) {
  ctx.loadDialect<mlir::tfm::TfmDialect, arith::ArithDialect,
                  bufferization::BufferizationDialect, func::FuncDialect,
                  memref::MemRefDialect, scf::SCFDialect,
                  tensor::TensorDialect>();
  OpBuilder b(&ctx);
  Location moduleLoc = b.getUnknownLoc();
  if (spec.source.description)
    moduleLoc = FileLineColLoc::get(&ctx, spec.source.file, 1, 1);
  else if (!spec.source.file.empty())
    moduleLoc = NameLoc::get(b.getStringAttr(spec.source.file));
  OwningOpRef<ModuleOp> module = ModuleOp::create(moduleLoc, spec.name);
  // The weights outside the layers, by their offset in the whole blob (the
  // block functions record their own, relative to a layer).
  SmallVector<NamedAttribute> offsets;
  for (size_t i = 0; i < layout.weights.size(); ++i)
    if (layerOf(layout.weights[i]) < 0)
      offsets.push_back(b.getNamedAttr(layout.weights[i].name,
                                       b.getI64IntegerAttr(layout.offsets[i])));
  (*module)->setAttr("tfm.weight_offsets", b.getDictionaryAttr(offsets));
  b.setInsertionPointToEnd(module->getBody());
  if (layout.signatures.size() > 1) {
    SmallVector<int64_t> rows;
    for (auto [offset, sig] :
         llvm::zip_equal(layout.layerOffsets, layout.layerSignature))
      rows.append({static_cast<int64_t>(offset), static_cast<int64_t>(sig)});
    auto type = MemRefType::get({spec.numLayers, 2}, b.getI64Type());
    b.create<memref::GlobalOp>(
        moduleLoc, kLayerTable, b.getStringAttr("private"), type,
        DenseElementsAttr::get(
            RankedTensorType::get(type.getShape(), type.getElementType()),
            ArrayRef<int64_t>(rows)),
        /*constant=*/true, /*alignment=*/IntegerAttr());
  }
  int64_t chunk = prefillTokens(spec, prefillChunk);
  EntryBuilder(b, spec, layout, /*fixedTokens=*/0, chunk)
      .build("tfm_prefill", "prefill", "tfm_prefill_last");
  EntryBuilder(b, spec, layout, /*fixedTokens=*/1, 1)
      .build("tfm_decode", "decode");
  if (probes.attention)
    EntryBuilder(b, spec, layout, /*fixedTokens=*/0, chunk,
                 /*attentionProbe=*/true)
        .build(kAttentionProbeName, "probe_attention");
  return module;
}

} // namespace tfm
