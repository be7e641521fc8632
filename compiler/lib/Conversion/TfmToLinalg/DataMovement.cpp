//===- DataMovement.cpp - Weights, embeddings, positions, heads, KV cache -===//

#include "Utils.h"
#include "tfm/Conversion/Passes.h"
#include "tfm/Dialect/Tfm/IR/TfmOps.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

#include <math.h>
#include <vector>

using namespace mlir;

namespace mlir::tfm {

/// Views of the weights argument at the weight's offset. The offsets are
/// relative to the enclosing function's `tfm.weights` argument and recorded
/// in the `tfm.weight_offsets` of the nearest enclosing op that has one: the
/// function (a block function, whose argument is one layer's weights), else
/// the module (entry points, whose argument is the whole blob). The views
/// are `restrict`: nothing else writes the weights, so no copies are needed.
FailureOr<StoredWeight> storedWeight(OpBuilder &b, tfm::WeightOp op) {
  auto fn = op->getParentOfType<func::FuncOp>();
  DictionaryAttr offsets;
  for (Operation *p = op->getParentOp(); p && !offsets; p = p->getParentOp())
    offsets = p->getAttrOfType<DictionaryAttr>("tfm.weight_offsets");
  if (!offsets)
    return op.emitOpError(
        "no tfm.weight_offsets on the enclosing function or module");
  auto offset = offsets.getAs<IntegerAttr>(op.getName());
  if (!offset)
    return op.emitOpError("no offset recorded for weight '")
           << op.getName() << "'";
  Value weights;
  for (unsigned i = 0; fn && i < fn.getNumArguments(); ++i)
    if (fn.getArgAttr(i, "tfm.weights"))
      weights = fn.getArgument(i);
  if (!weights)
    return op.emitOpError("enclosing function has no tfm.weights argument");
  Location loc = op.getLoc();
  auto type = op.getResult().getType();
  // A view of `shape` `skip` elements of `element` past byte `base` of the
  // weight.
  auto view = [&](ArrayRef<int64_t> shape, Type element, int64_t base,
                  int64_t skip) -> Value {
    auto viewType = MemRefType::get(shape, element);
    Value off = b.create<arith::ConstantIndexOp>(
        loc,
        offset.getInt() + base + skip * element.getIntOrFloatBitWidth() / 8);
    Value v =
        b.create<memref::ViewOp>(loc, viewType, weights, off, ValueRange{});
    return b
        .create<bufferization::ToTensorOp>(
            loc, RankedTensorType::get(shape, element), v, /*restrict=*/true)
        .getResult();
  };
  std::optional<uint64_t> p = op.getPacked();
  StoredWeight stored;
  stored.encoding = op.getEncoding();
  if (!p && !stored.encoding) {
    stored.full.push_back(view(type.getShape(), type.getElementType(), 0, 0));
    return stored;
  }
  int64_t tile = stored.tile = p ? static_cast<int64_t>(*p) : 1;
  stored.quads = op.getQuads();
  int64_t n = type.getDimSize(0), k = type.getDimSize(1);
  int64_t tiles = n / tile, rest = n % tile;
  if (!stored.encoding) {
    if (tiles)
      stored.full.push_back(
          view({tiles, k, tile}, type.getElementType(), 0, 0));
    if (rest)
      stored.tail.push_back(
          view({1, k, rest}, type.getElementType(), 0, tiles * tile * k));
    return stored;
  }
  // Each component's array at its offset (Encodings.h), [K/B * perBlock]
  // elements along K.
  const formats::EncodingInfo &info = formatInfo(*stored.encoding);
  // (Viewed in blob order, listed in the components' order.)
  stored.full.resize(tiles ? info.components.size() : 0);
  stored.tail.resize(rest ? info.components.size() : 0);
  for (unsigned c : formats::blobOrder(info)) {
    const formats::EncodingComponent &comp = info.components[c];
    Type element = componentType(b.getContext(), comp.kind);
    int64_t along = k / info.blockSize * comp.perBlock;
    int64_t base =
        static_cast<int64_t>(formats::componentOffset(info, c, n, k));
    if (tiles && stored.quads && c == 0)
      stored.full[c] = view({tiles, along / 4, tile, 4}, element, base, 0);
    else if (tiles)
      stored.full[c] = view({tiles, along, tile}, element, base, 0);
    if (rest)
      stored.tail[c] =
          view({1, along, rest}, element, base, tiles * tile * along);
  }
  return stored;
}

tfm::WeightOp packedWeight(Value v) {
  auto op = v.getDefiningOp<tfm::WeightOp>();
  return op && op.getPacked() ? op : tfm::WeightOp();
}

namespace {

/// The weight's stored tensor. A packed weight's users normally read the
/// tiles themselves (packedWeight); for any other user the [N/P, K, P]
/// tiles (and the [1, K, R] tail) are transposed back into the [N, K]
/// matrix.
LogicalResult lowerWeight(tfm::WeightOp op, PatternRewriter &b) {
  FailureOr<StoredWeight> stored = storedWeight(b, op);
  if (failed(stored))
    return failure();
  if (!stored->tile) {
    b.replaceOp(op, stored->full[0]);
    return success();
  }
  Location loc = op.getLoc();
  auto type = op.getResult().getType();
  // Encoded tiles are dequantized first: element (n1, k, n0) from each
  // component at (n1, componentIndex(k), n0).
  auto dequantized = [&](ArrayRef<Value> parts, bool full) -> Value {
    if (parts.empty() || !stored->encoding)
      return parts.empty() ? Value() : parts[0];
    WeightEncoding e = *stored->encoding;
    auto t = cast<RankedTensorType>(parts[0].getType());
    int64_t k = type.getDimSize(1);
    auto f32Type = RankedTensorType::get({t.getDimSize(0), k, t.getDimSize(2)},
                                         b.getF32Type());
    AffineExpr n1, kk, n0;
    bindDims(b.getContext(), n1, kk, n0);
    // The inputs in blob order, the components in theirs.
    SmallVector<unsigned, 4> order = formats::blobOrder(formatInfo(e));
    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    for (unsigned c : order) {
      inputs.push_back(parts[c]);
      maps.push_back(AffineMap::get(
          3, 0, tileIndices(e, c, full && stored->quads, n1, kk, n0),
          b.getContext()));
    }
    return elementwise(
        b, loc, f32Type, {}, inputs,
        [e, order](OpBuilder &nb, Location l, ValueRange a) {
          SmallVector<Value> components(a.size());
          for (auto [at, c] : llvm::enumerate(order))
            components[c] = a[at];
          return dequantize(nb, l, e, components, [&] {
            return nb.create<linalg::IndexOp>(l, 1).getResult();
          });
        },
        maps);
  };
  Value full = dequantized(stored->full, true),
        tail = dequantized(stored->tail, false);
  // [a, K, b] tiles -> [a * b, K] rows.
  auto rowsOf = [&](Value tiles) -> Value {
    auto t = cast<RankedTensorType>(tiles.getType());
    Value init = b.create<tensor::EmptyOp>(
        loc,
        ArrayRef<int64_t>{t.getDimSize(0), t.getDimSize(2), t.getDimSize(1)},
        type.getElementType());
    Value rows = b.create<linalg::TransposeOp>(loc, tiles, init,
                                               ArrayRef<int64_t>{0, 2, 1})
                     .getResult()[0];
    return b.create<tensor::CollapseShapeOp>(
        loc, rows, ArrayRef<ReassociationIndices>{{0, 1}, {2}});
  };
  if (!tail) {
    b.replaceOp(op, rowsOf(full));
    return success();
  }
  Value matrix =
      b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
  int64_t k = type.getDimSize(1), row = 0;
  for (Value part : {full, tail}) {
    if (!part)
      continue;
    Value rows = rowsOf(part);
    int64_t n = cast<RankedTensorType>(rows.getType()).getDimSize(0);
    matrix = b.create<tensor::InsertSliceOp>(
        loc, rows, matrix,
        ArrayRef<OpFoldResult>{b.getIndexAttr(row), b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(n), b.getIndexAttr(k)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
    row += n;
  }
  b.replaceOp(op, matrix);
  return success();
}

/// result[t, d] = table[ids[t], d]
LogicalResult lowerEmbedding(tfm::EmbeddingOp op, PatternRewriter &b) {
  Location loc = op.getLoc();
  auto type = cast<RankedTensorType>(op.getType());
  Value table = op.getTable();
  int64_t tableRows = cast<RankedTensorType>(table.getType()).getDimSize(0);
  // A table packed for a tied LM head: row r < N - R is column r % P of
  // tile r / P, a later row column r - (N - R) of the tail.
  // An encoded table (packed or not: P = 1) is read from its tiles too, each
  // element dequantized.
  int64_t tile = 0;
  SmallVector<Value, 4> tiles, tail;
  std::optional<WeightEncoding> encoding;
  auto stored = table.getDefiningOp<tfm::WeightOp>();
  if (stored && (stored.getPacked() || stored.getEncoding())) {
    FailureOr<StoredWeight> parts = storedWeight(b, stored);
    if (failed(parts))
      return failure();
    if (parts->quads)
      return op.emitOpError("reads a table stored in quads (tfm-pack-weights "
                            "sets them on linear layers' weights only)");
    tiles = parts->full;
    tail = parts->tail;
    tile = parts->tile;
    encoding = parts->encoding;
  }
  if (ShapedType::isDynamic(tableRows))
    return b.notifyMatchFailure(op, "needs a static vocabulary size");
  AffineMap rowMap =
      AffineMap::get(2, 0, {b.getAffineDimExpr(0)}, b.getContext());
  SmallVector<Value> sizes;
  if (type.isDynamicDim(0))
    sizes.push_back(b.create<tensor::DimOp>(loc, op.getIds(), 0));
  b.replaceOp(
      op,
      elementwise(
          b, loc, type, sizes, {op.getIds()},
          [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
            // Clamp to [0, V): an out-of-range id must not read out of bounds
            // (the runtime rejects such prompts before calling the model).
            Value row =
                nb.create<arith::IndexCastOp>(l, nb.getIndexType(), a[0]);
            row = nb.create<arith::MaxSIOp>(
                l, row, nb.create<arith::ConstantIndexOp>(l, 0));
            row = nb.create<arith::MinSIOp>(
                l, row, nb.create<arith::ConstantIndexOp>(l, tableRows - 1));
            Value col = nb.create<linalg::IndexOp>(l, 1);
            if (tile) {
              auto idx = [&](int64_t v) {
                return nb.create<arith::ConstantIndexOp>(l, v);
              };
              int64_t full = tableRows / tile * tile;
              Value fromTiles, fromTail;
              // Element (tileIndex, col, lane) of the matrix in `parts`,
              // dequantized when the table is encoded.
              auto element = [&](ArrayRef<Value> parts, Value tileIndex,
                                 Value lane) -> Value {
                if (!encoding)
                  return nb.create<tensor::ExtractOp>(
                      l, parts[0], ValueRange{tileIndex, col, lane});
                SmallVector<Value> values;
                for (auto [c, part] : llvm::enumerate(parts))
                  values.push_back(nb.create<tensor::ExtractOp>(
                      l, part,
                      ValueRange{tileIndex,
                                 componentIndexValue(nb, l, *encoding, c, col),
                                 lane}));
                return dequantize(nb, l, *encoding, values,
                                  [&] { return col; });
              };
              if (!tiles.empty()) {
                Value r = !tail.empty()
                              ? nb.create<arith::MinSIOp>(l, row, idx(full - 1))
                              : row;
                Value tileIndex = nb.create<arith::DivUIOp>(l, r, idx(tile));
                Value lane = nb.create<arith::RemUIOp>(l, r, idx(tile));
                fromTiles = element(tiles, tileIndex, lane);
              }
              if (!tail.empty()) {
                Value r = nb.create<arith::MaxSIOp>(
                    l, nb.create<arith::SubIOp>(l, row, idx(full)), idx(0));
                fromTail = element(tail, idx(0), r);
              }
              if (!fromTail)
                return fromTiles;
              if (!fromTiles)
                return fromTail;
              Value inTail = nb.create<arith::CmpIOp>(
                  l, arith::CmpIPredicate::sge, row, idx(full));
              return nb.create<arith::SelectOp>(l, inTail, fromTail, fromTiles);
            }
            return nb.create<tensor::ExtractOp>(l, table, ValueRange{row, col});
          },
          {rowMap}));
  return success();
}

/// The context length of the function around `op` (`tfm.context_length`,
/// set by the graph builder): the number of rows of its position tables.
FailureOr<int64_t> contextLength(Operation *op) {
  auto fn = op->getParentOfType<func::FuncOp>();
  auto attr =
      fn ? fn->getAttrOfType<IntegerAttr>("tfm.context_length") : IntegerAttr();
  if (!attr || attr.getInt() < 1)
    return op->emitOpError("needs the enclosing function's "
                           "tfm.context_length (the rows of its position "
                           "table)");
  return attr.getInt();
}

/// The most entries a position table computed at compile time may have
/// (4 MiB of f32): a model whose context makes it larger (a 16M-position
/// context, or 128k positions of 64 frequencies) computes its angles per
/// element instead, so tfmc's memory and the executable do not grow with
/// the context.
constexpr int64_t kMaxTableEntries = int64_t(1) << 20;

bool tableFits(int64_t rows, int64_t cols) {
  return cols <= 0 || rows <= kMaxTableEntries / cols;
}

/// A [rows, cols] f32 constant tensor with element (r, c) = f(r, c).
Value table(OpBuilder &b, Location loc, int64_t rows, int64_t cols,
            llvm::function_ref<float(int64_t, int64_t)> f) {
  std::vector<float> values(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      values[r * cols + c] = f(r, c);
  auto type = RankedTensorType::get({rows, cols}, b.getF32Type());
  return b.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(type, llvm::ArrayRef<float>(values)));
}

/// min(pos + t, rows - 1): the table row of position pos + t (a position
/// past the context cannot occur; the runtime refuses it before the call).
Value tableRow(OpBuilder &b, Location loc, Value pos, Value t, int64_t rows) {
  Value p = b.create<arith::AddIOp>(loc, pos, t);
  return b.create<arith::MinSIOp>(
      loc, p, b.create<arith::ConstantIndexOp>(loc, rows - 1));
}

/// Adds sinusoidal or learned encodings of positions pos + t. The sinusoids
/// are a [context, D] table computed here, with the single-precision libm
/// calls the generated code used to make per element (so the values are
/// those bits), and read like a learned table.
LogicalResult lowerPositional(tfm::PositionalOp op, PatternRewriter &b) {
  Location loc = op.getLoc();
  auto type = cast<RankedTensorType>(op.getType());
  Value pos = op.getPos(), table = op.getTable();
  bool learned = op.getKind() == tfm::PositionalKind::Learned;
  int64_t rows = 0, width = type.getDimSize(1);
  bool perElement = false;
  if (!learned) {
    FailureOr<int64_t> context = contextLength(op);
    if (failed(context))
      return failure();
    rows = *context;
    perElement = !tableFits(rows, width);
    // PE[p, 2i] = sin(p / 10000^(2i/D)), PE[p, 2i+1] = cos(same angle).
    if (!perElement)
      table = tfm::table(b, loc, rows, width, [&](int64_t p, int64_t d) {
        int64_t even = d - d % 2;
        float denom = powf(10000.0f, float(even) / float(width));
        float angle = float(p) / denom;
        return d % 2 ? cosf(angle) : sinf(angle);
      });
  }
  b.replaceOp(
      op,
      elementwise(
          b, loc, type, dynamicSizes(b, loc, op.getInput()), {op.getInput()},
          [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
            Value t = nb.create<linalg::IndexOp>(l, 0);
            if (perElement) {
              Value d = nb.create<linalg::IndexOp>(l, 1);
              // The table's formula, evaluated here (same f32 steps).
              auto idx = [&](int64_t v) -> Value {
                return nb.create<arith::ConstantIndexOp>(l, v);
              };
              Value odd = nb.create<arith::RemUIOp>(l, d, idx(2));
              Value even = nb.create<arith::SubIOp>(l, d, odd);
              Value exponent = nb.create<arith::DivFOp>(
                  l, indexF32(nb, l, even),
                  nb.create<arith::ConstantOp>(
                      l, nb.getF32FloatAttr(float(width))));
              Value denom = nb.create<math::PowFOp>(
                  l,
                  nb.create<arith::ConstantOp>(l, nb.getF32FloatAttr(10000.0f)),
                  exponent);
              Value angle = nb.create<arith::DivFOp>(
                  l, indexF32(nb, l, nb.create<arith::AddIOp>(l, pos, t)),
                  denom);
              Value isOdd = nb.create<arith::CmpIOp>(
                  l, arith::CmpIPredicate::ne, odd, idx(0));
              Value pe = nb.create<arith::SelectOp>(
                  l, isOdd, nb.create<math::CosOp>(l, angle),
                  nb.create<math::SinOp>(l, angle));
              return nb.create<arith::AddFOp>(l, a[0], pe);
            }
            Value p = learned ? nb.create<arith::AddIOp>(l, pos, t).getResult()
                              : tableRow(nb, l, pos, t, rows);
            Value d = nb.create<linalg::IndexOp>(l, 1);
            return nb.create<arith::AddFOp>(
                l, a[0],
                nb.create<tensor::ExtractOp>(l, table, ValueRange{p, d}));
          }));
  return success();
}

/// Rotates element pairs of [H, T, hd] by (pos + t) * theta^(-2j/hd). The
/// cosines and sines are [context, hd/2] tables computed here, as llama2.c
/// computes them (single-precision libm calls): the generated code used to
/// make those calls per element.
LogicalResult lowerRope(tfm::RopeOp op, PatternRewriter &b) {
  Location loc = op.getLoc();
  auto type = cast<RankedTensorType>(op.getType());
  Value x = op.getInput(), pos = op.getPos();
  int64_t hd = type.getDimSize(2);
  float theta = op.getTheta().convertToFloat();
  bool interleaved = op.getStyle() == tfm::RopeStyle::Interleaved;
  FailureOr<int64_t> context = contextLength(op);
  if (failed(context))
    return failure();
  int64_t rows = *context;
  // freq = 1 / theta^(2j / hd); angle = p * freq.
  auto angle = [&](int64_t p, int64_t j) {
    float freq = 1.0f / powf(theta, float(2 * j) / float(hd));
    return float(p) * freq;
  };
  bool perElement = !tableFits(rows, hd / 2);
  Value cosTable, sinTable;
  if (!perElement) {
    cosTable = table(b, loc, rows, hd / 2,
                     [&](int64_t p, int64_t j) { return cosf(angle(p, j)); });
    sinTable = table(b, loc, rows, hd / 2,
                     [&](int64_t p, int64_t j) { return sinf(angle(p, j)); });
  }
  b.replaceOp(
      op,
      elementwise(
          b, loc, type, dynamicSizes(b, loc, x), {x},
          [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
            Value h = nb.create<linalg::IndexOp>(l, 0);
            Value t = nb.create<linalg::IndexOp>(l, 1);
            Value i = nb.create<linalg::IndexOp>(l, 2);
            auto idx = [&](int64_t v) {
              return nb.create<arith::ConstantIndexOp>(l, v);
            };
            Value pair, partner, first;
            if (interleaved) {
              // Pairs (2j, 2j+1); the first of a pair is the even element.
              Value odd = nb.create<arith::RemUIOp>(l, i, idx(2));
              pair = nb.create<arith::DivUIOp>(l, i, idx(2));
              first = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, odd,
                                               idx(0));
              partner = nb.create<arith::SelectOp>(
                  l, first, nb.create<arith::AddIOp>(l, i, idx(1)),
                  nb.create<arith::SubIOp>(l, i, idx(1)));
            } else {
              // Pairs (j, j + hd/2).
              first = nb.create<arith::CmpIOp>(l, arith::CmpIPredicate::ult, i,
                                               idx(hd / 2));
              pair = nb.create<arith::RemUIOp>(l, i, idx(hd / 2));
              partner = nb.create<arith::SelectOp>(
                  l, first, nb.create<arith::AddIOp>(l, i, idx(hd / 2)),
                  nb.create<arith::SubIOp>(l, i, idx(hd / 2)));
            }
            Value c, s;
            if (perElement) {
              // angle(p, j) of the tables, evaluated here (same f32 steps).
              auto cst = [&](float v) -> Value {
                return nb.create<arith::ConstantOp>(l, nb.getF32FloatAttr(v));
              };
              Value exponent = nb.create<arith::DivFOp>(
                  l, indexF32(nb, l, nb.create<arith::MulIOp>(l, pair, idx(2))),
                  cst(float(hd)));
              Value freq = nb.create<arith::DivFOp>(
                  l, cst(1.0f),
                  nb.create<math::PowFOp>(l, cst(theta), exponent));
              Value ang = nb.create<arith::MulFOp>(
                  l, indexF32(nb, l, nb.create<arith::AddIOp>(l, pos, t)),
                  freq);
              c = nb.create<math::CosOp>(l, ang);
              s = nb.create<math::SinOp>(l, ang);
            } else {
              Value row = tableRow(nb, l, pos, t, rows);
              c = nb.create<tensor::ExtractOp>(l, cosTable,
                                               ValueRange{row, pair});
              s = nb.create<tensor::ExtractOp>(l, sinTable,
                                               ValueRange{row, pair});
            }
            Value other =
                nb.create<tensor::ExtractOp>(l, x, ValueRange{h, t, partner});
            // first: x*c - other*s; second: x*c + other*s (other is the
            // first).
            Value xc = nb.create<arith::MulFOp>(l, a[0], c);
            Value os = nb.create<arith::MulFOp>(l, other, s);
            return nb.create<arith::SelectOp>(
                l, first, nb.create<arith::SubFOp>(l, xc, os),
                nb.create<arith::AddFOp>(l, xc, os));
          }));
  return success();
}

/// With one token (decode), [1, N] and [H, 1, hd] have the same layout: the
/// heads move by reshaping, without a transpose (a copy that LLVM would
/// unroll into thousands of instructions per projection).
Value reshapeSingleToken(OpBuilder &b, Location loc, Value x,
                         RankedTensorType type) {
  auto inType = cast<RankedTensorType>(x.getType());
  auto flatType =
      RankedTensorType::get({inType.getNumElements()}, inType.getElementType());
  SmallVector<ReassociationIndices> toFlat(1), fromFlat(1);
  for (int64_t i = 0; i < inType.getRank(); ++i)
    toFlat[0].push_back(i);
  for (int64_t i = 0; i < type.getRank(); ++i)
    fromFlat[0].push_back(i);
  Value flat = b.create<tensor::CollapseShapeOp>(loc, flatType, x, toFlat);
  return b.create<tensor::ExpandShapeOp>(loc, type, flat, fromFlat);
}

/// [T, H*hd] -> [T, H, hd] -> [H, T, hd].
LogicalResult lowerSplitHeads(tfm::SplitHeadsOp op, PatternRewriter &b) {
  Location loc = op.getLoc();
  auto type = cast<RankedTensorType>(op.getType());
  int64_t heads = type.getDimSize(0), hd = type.getDimSize(2);
  Value x = op.getInput();
  auto inType = cast<RankedTensorType>(x.getType());
  if (inType.getDimSize(0) == 1) {
    b.replaceOp(op, reshapeSingleToken(b, loc, x, type));
    return success();
  }
  auto expandedType = RankedTensorType::get({inType.getDimSize(0), heads, hd},
                                            type.getElementType());
  SmallVector<OpFoldResult> shape = {tensor::getMixedSize(b, loc, x, 0),
                                     b.getIndexAttr(heads), b.getIndexAttr(hd)};
  Value expanded = b.create<tensor::ExpandShapeOp>(
      loc, expandedType, x, SmallVector<ReassociationIndices>{{0}, {1, 2}},
      shape);
  Value init = b.create<tensor::EmptyOp>(
      loc, type.getShape(), type.getElementType(), dynamicSizes(b, loc, x));
  b.replaceOp(op, b.create<linalg::TransposeOp>(loc, expanded, init,
                                                ArrayRef<int64_t>{1, 0, 2})
                      ->getResult(0));
  return success();
}

/// [H, T, hd] -> [T, H, hd] -> [T, H*hd].
LogicalResult lowerMergeHeads(tfm::MergeHeadsOp op, PatternRewriter &b) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  auto inType = cast<RankedTensorType>(x.getType());
  if (inType.getDimSize(1) == 1) {
    b.replaceOp(op, reshapeSingleToken(b, loc, x,
                                       cast<RankedTensorType>(op.getType())));
    return success();
  }
  auto transposedType = RankedTensorType::get(
      {inType.getDimSize(1), inType.getDimSize(0), inType.getDimSize(2)},
      inType.getElementType());
  SmallVector<Value> sizes;
  if (inType.isDynamicDim(1))
    sizes.push_back(b.create<tensor::DimOp>(loc, x, 1));
  Value init = b.create<tensor::EmptyOp>(loc, transposedType.getShape(),
                                         inType.getElementType(), sizes);
  Value transposed =
      b.create<linalg::TransposeOp>(loc, x, init, ArrayRef<int64_t>{1, 0, 2})
          ->getResult(0);
  b.replaceOpWithNewOp<tensor::CollapseShapeOp>(
      op, op.getType(), transposed,
      SmallVector<ReassociationIndices>{{0}, {1, 2}});
  return success();
}

/// The [KV, length, hd] window of a layer's keys or values at `start`.
Value cacheWindow(OpBuilder &b, Location loc, Value cache, tfm::CacheKind kind,
                  Value start, OpFoldResult length) {
  auto cacheType = cast<MemRefType>(cache.getType());
  int64_t kv = cacheType.getDimSize(1), hd = cacheType.getDimSize(3);
  SmallVector<OpFoldResult> offsets = {
      b.getIndexAttr(kind == tfm::CacheKind::Key ? 0 : 1), b.getIndexAttr(0),
      start, b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(kv),
                                     length, b.getIndexAttr(hd)};
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  int64_t staticLength =
      getConstantIntValue(length).value_or(ShapedType::kDynamic);
  auto viewType =
      cast<MemRefType>(memref::SubViewOp::inferRankReducedResultType(
          {kv, staticLength, hd}, cacheType, offsets, sizes, strides));
  return b.create<memref::SubViewOp>(loc, viewType, cache, offsets, sizes,
                                     strides);
}

/// Sets the insertion point right after the last definition of `values` in
/// `op`'s block, or at the block's start when all are defined before it.
void setInsertionPointAfterDefinitions(OpBuilder &b, Operation *op,
                                       ValueRange values) {
  Block *block = op->getBlock();
  b.setInsertionPointToStart(block);
  Operation *last = nullptr;
  for (Value v : values) {
    Operation *def = v.getDefiningOp();
    Operation *inBlock = def ? block->findAncestorOpInBlock(*def) : nullptr;
    if (inBlock && (!last || last->isBeforeInBlock(inBlock)))
      last = inBlock;
  }
  if (last)
    b.setInsertionPointAfter(last);
}

/// The value is materialized into the cache window. When the number of new
/// positions is static (decode), the window is created as early as its
/// operands allow: it then dominates the computation of the value, and
/// eliminate-empty-tensors computes the keys (RoPE) or values (head split)
/// straight into the cache instead of copying them there.
LogicalResult lowerKVCacheAppend(tfm::KVCacheAppendOp op, PatternRewriter &b) {
  Location loc = op.getLoc();
  OpFoldResult length = tensor::getMixedSize(b, loc, op.getValue(), 1);
  Value window;
  {
    OpBuilder::InsertionGuard guard(b);
    if (!isa<Value>(length))
      setInsertionPointAfterDefinitions(b, op, {op.getCache(), op.getPos()});
    window =
        cacheWindow(b, loc, op.getCache(), op.getKind(), op.getPos(), length);
  }
  b.create<bufferization::MaterializeInDestinationOp>(
      loc, TypeRange{}, op.getValue(), window, /*restrict=*/true,
      /*writable=*/true);
  b.eraseOp(op);
  return success();
}

LogicalResult lowerKVCacheRead(tfm::KVCacheReadOp op, PatternRewriter &b) {
  Location loc = op.getLoc();
  Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
  Value window =
      cacheWindow(b, loc, op.getCache(), op.getKind(), zero, op.getLength());
  b.replaceOpWithNewOp<bufferization::ToTensorOp>(op, op.getType(), window,
                                                  /*restrict=*/true);
  return success();
}

} // namespace

void populateTfmDataMovementToLinalgPatterns(RewritePatternSet &patterns) {
  addLowerings(patterns, lowerWeight, lowerEmbedding, lowerPositional,
               lowerRope, lowerSplitHeads, lowerMergeHeads, lowerKVCacheAppend,
               lowerKVCacheRead);
}

} // namespace mlir::tfm
