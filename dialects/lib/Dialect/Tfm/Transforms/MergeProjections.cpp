//===- MergeProjections.cpp - One linear layer per shared input -----------===//
//
// Linear layers that read the same input and whose weights lie one after the
// other in the blob (Q/K/V, w1/w3) become one linear layer over the merged
// weight, and each original result a column slice of it: one pass over the
// input and one kernel dispatch instead of several. The weights writer stores
// the parts as the merged weight (tfm.merged names them, in row order).
//
//===----------------------------------------------------------------------===//

#include "tfm/Dialect/Tfm/IR/TfmOps.h"
#include "tfm/Dialect/Tfm/IR/WeightEncodings.h"
#include "tfm/Dialect/Tfm/Transforms/Passes.h"
#include "tfm/Formats/Encodings.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::tfm {
#define GEN_PASS_DEF_TFMMERGEPROJECTIONSPASS
#include "tfm/Dialect/Tfm/Transforms/Passes.h.inc"
} // namespace mlir::tfm

using namespace mlir;
using namespace mlir::tfm;

namespace {

/// One linear layer that may merge, with what decides it.
struct Part {
  LinearOp linear;
  WeightOp weight;
  int64_t offset; ///< In the nearest tfm.weight_offsets.
  int64_t bytes;  ///< Stored bytes (encoding included).
};

/// A run of parts that can merge, in offset order, in one function.
struct Group {
  SmallVector<Part> parts;
  Operation *table; ///< The op holding the tfm.weight_offsets used.
  std::string key;  ///< The parts' names, joined: equal groups, equal keys.
};

int64_t storedBytes(WeightOp op) {
  auto type = op.getResult().getType();
  int64_t n = type.getDimSize(0), k = type.getDimSize(1);
  if (std::optional<WeightEncoding> e = op.getEncoding())
    return static_cast<int64_t>(formats::encodedBytes(formatInfo(*e), n, k));
  return 4 * n * k;
}

/// `prefix.a+b+c.suffix` for parts `prefix.a.suffix`, ... (cut at dots).
std::string mergedName(ArrayRef<StringRef> names) {
  StringRef first = names.front();
  size_t pre = first.size(), suf = first.size();
  for (StringRef n : names.drop_front()) {
    size_t p = 0;
    while (p < std::min(pre, n.size()) && first[p] == n[p])
      ++p;
    pre = p;
    size_t s = 0;
    while (s < std::min(suf, n.size()) &&
           first[first.size() - 1 - s] == n[n.size() - 1 - s])
      ++s;
    suf = s;
  }
  // Cut after the last dot of the prefix and before the first dot of the
  // suffix, so that whole name components are shared.
  size_t dot = first.take_front(pre).rfind('.');
  pre = dot == StringRef::npos ? 0 : dot + 1;
  size_t sdot = first.take_back(suf).find('.');
  suf = sdot == StringRef::npos ? 0 : suf - sdot;
  std::string out = first.take_front(pre).str();
  for (auto [i, n] : llvm::enumerate(names)) {
    if (i)
      out += '+';
    out += n.drop_front(pre).drop_back(std::min(suf, n.size() - pre)).str();
  }
  return out + first.take_back(suf).str();
}

struct TfmMergeProjectionsPass
    : mlir::tfm::impl::TfmMergeProjectionsPassBase<TfmMergeProjectionsPass> {
  using TfmMergeProjectionsPassBase::TfmMergeProjectionsPassBase;

  /// The runs of mergeable linear layers of `fn`.
  void proposeGroups(func::FuncOp fn, SmallVectorImpl<Group> &groups) {
    Operation *table = nullptr;
    DictionaryAttr offsets;
    for (Operation *p = fn; p && !offsets; p = p->getParentOp())
      if ((offsets = p->getAttrOfType<DictionaryAttr>("tfm.weight_offsets")))
        table = p;
    if (!offsets)
      return;
    // Linear layers by input, in program order.
    llvm::MapVector<Value, SmallVector<Part>> byInput;
    fn.walk([&](LinearOp op) {
      auto w = op.getWeight().getDefiningOp<WeightOp>();
      // The part's bytes move: its op must have no other user.
      if (!w || op.getBias() || !w.getResult().hasOneUse() ||
          !w.getResult().getType().hasStaticShape())
        return;
      auto offset = offsets.getAs<IntegerAttr>(w.getName());
      if (!offset)
        return;
      byInput[op.getInput()].push_back(
          {op, w, offset.getInt(), storedBytes(w)});
    });
    SmallVector<int64_t> all;
    for (NamedAttribute a : offsets)
      if (auto i = dyn_cast<IntegerAttr>(a.getValue()))
        all.push_back(i.getInt());
    llvm::sort(all);
    // True when no weight of the table starts in (a, b).
    auto adjacent = [&](int64_t a, int64_t b) {
      auto it = llvm::upper_bound(all, a);
      return it == all.end() || *it >= b;
    };
    for (auto &[input, parts] : byInput) {
      if (parts.size() < 2)
        continue;
      Block *block = parts.front().linear->getBlock();
      llvm::stable_sort(parts,
                        [](Part a, Part b) { return a.offset < b.offset; });
      auto fits = [&](Part prev, Part next) {
        auto pt = prev.weight.getResult().getType();
        auto nt = next.weight.getResult().getType();
        int64_t tile = prev.weight.getPacked() ? *prev.weight.getPacked() : 1;
        return next.linear->getBlock() == block &&
               prev.linear->getBlock() == block &&
               pt.getDimSize(1) == nt.getDimSize(1) &&
               prev.weight.getEncoding() == next.weight.getEncoding() &&
               prev.weight.getPacked() == next.weight.getPacked() &&
               prev.weight.getQuads() == next.weight.getQuads() &&
               pt.getDimSize(0) % tile == 0 &&
               next.offset >= prev.offset + prev.bytes &&
               adjacent(prev.offset, next.offset) &&
               prev.weight.getName() != next.weight.getName();
      };
      for (size_t i = 0; i < parts.size();) {
        size_t j = i + 1;
        while (j < parts.size() && fits(parts[j - 1], parts[j]))
          ++j;
        if (j - i >= 2) {
          Group g{SmallVector<Part>(parts.begin() + i, parts.begin() + j),
                  table, ""};
          for (Part p : g.parts)
            g.key += p.weight.getName().str() + "\n";
          if (mergedFits(g))
            groups.push_back(std::move(g));
        }
        i = j;
      }
    }
  }

  /// The merged weight takes no more than the parts' bytes.
  static bool mergedFits(Group &g) {
    WeightOp first = g.parts.front().weight;
    auto type = first.getResult().getType();
    int64_t rows = 0;
    for (Part p : g.parts)
      rows += p.weight.getResult().getType().getDimSize(0);
    int64_t bytes = 4 * rows * type.getDimSize(1);
    if (std::optional<WeightEncoding> e = first.getEncoding())
      bytes = static_cast<int64_t>(
          formats::encodedBytes(formatInfo(*e), rows, type.getDimSize(1)));
    Part last = g.parts.back();
    return g.parts.front().offset + bytes <= last.offset + last.bytes;
  }

  void merge(Group &g) {
    Part &first = g.parts.front();
    SmallVector<StringRef> names;
    int64_t rows = 0;
    for (Part p : g.parts) {
      names.push_back(p.weight.getName());
      rows += p.weight.getResult().getType().getDimSize(0);
    }
    std::string name = mergedName(names);
    // Every linear layer reads the same input; the first in program order
    // dominates the uses of all of them once they are slices of it.
    LinearOp earliest = first.linear;
    for (Part p : g.parts)
      if (p.linear->isBeforeInBlock(earliest))
        earliest = p.linear;
    OpBuilder b(&getContext());
    b.setInsertionPoint(earliest);
    SmallVector<Location> locs;
    for (Part p : g.parts)
      locs.push_back(p.linear.getLoc());
    Location loc = b.getFusedLoc(locs);
    auto wType = first.weight.getResult().getType();
    auto mergedType = RankedTensorType::get({rows, wType.getDimSize(1)},
                                            wType.getElementType());
    auto w = b.create<WeightOp>(
        loc, mergedType, b.getStringAttr(name), first.weight.getEncodingAttr(),
        first.weight.getPackedAttr(), first.weight.getQuadsAttr());
    w->setAttr("tfm.merged", b.getStrArrayAttr(names));
    auto yType = first.linear.getResult().getType();
    auto merged = b.create<LinearOp>(
        loc, RankedTensorType::get({yType.getDimSize(0), rows}, b.getF32Type()),
        first.linear.getInput(), w, Value());
    b.setInsertionPointAfter(merged);
    OpFoldResult tokens =
        yType.isDynamicDim(0)
            ? OpFoldResult(b.create<tensor::DimOp>(loc, merged, 0).getResult())
            : OpFoldResult(b.getIndexAttr(yType.getDimSize(0)));
    int64_t row = 0;
    for (Part &p : g.parts) {
      int64_t n = p.weight.getResult().getType().getDimSize(0);
      SmallVector<OpFoldResult> offsets{b.getIndexAttr(0), b.getIndexAttr(row)};
      SmallVector<OpFoldResult> sizes{tokens, b.getIndexAttr(n)};
      SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
      Value slice;
      if (yType.getDimSize(0) == 1) {
        // One token: a 1-D slice expanded back to 1 x N, whose buffer has
        // the unit stride that decode's head reshapes need; a 1 x N view
        // with the merged row's stride would be copied out first.
        auto flat = RankedTensorType::get({n}, b.getF32Type());
        Value row1d = b.create<tensor::ExtractSliceOp>(
            p.linear.getLoc(), flat, merged, offsets, sizes, strides);
        slice = b.create<tensor::ExpandShapeOp>(
            p.linear.getLoc(), p.linear.getResult().getType(), row1d,
            ArrayRef<ReassociationIndices>{{0, 1}});
      } else {
        slice = b.create<tensor::ExtractSliceOp>(
            p.linear.getLoc(), p.linear.getResult().getType(), merged, offsets,
            sizes, strides);
      }
      p.linear.getResult().replaceAllUsesWith(slice);
      row += n;
    }
    // Erased last: the insertion point may be one of them.
    for (Part &p : g.parts) {
      p.linear.erase();
      if (p.weight.getResult().use_empty())
        p.weight.erase();
    }
    auto table = g.table->getAttrOfType<DictionaryAttr>("tfm.weight_offsets");
    if (!table.get(name)) {
      NamedAttrList entries(table);
      entries.set(name, b.getI64IntegerAttr(first.offset));
      g.table->setAttr("tfm.weight_offsets",
                       entries.getDictionary(&getContext()));
    }
  }

  void runOnOperation() override {
    SmallVector<Group> groups;
    getOperation().walk([&](func::FuncOp fn) { proposeGroups(fn, groups); });
    // Per name, as the blob holds a weight once: every op of a part's name
    // must be in a group of the same parts.
    llvm::StringMap<unsigned> ops, grouped;
    llvm::StringMap<std::string> keyOf;
    llvm::StringSet<> conflicting;
    getOperation().walk([&](WeightOp op) { ++ops[op.getName()]; });
    for (Group &g : groups)
      for (Part p : g.parts) {
        ++grouped[p.weight.getName()];
        auto [it, fresh] = keyOf.try_emplace(p.weight.getName(), g.key);
        if (!fresh && it->second != g.key)
          conflicting.insert(p.weight.getName());
      }
    llvm::StringSet<> mergedKeys;
    for (Group &g : groups) {
      bool ok = llvm::all_of(g.parts, [&](Part p) {
        StringRef n = p.weight.getName();
        return !conflicting.contains(n) && grouped[n] == ops[n];
      });
      if (!ok)
        continue;
      if (mergedKeys.insert(g.key).second)
        ++numMerged;
      merge(g);
    }
  }
};

} // namespace
