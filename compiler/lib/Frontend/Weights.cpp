//===- Weights.cpp - Resolving, checking and packing a model's weights ----===//

#include "tfm/Frontend/Weights.h"
#include "tfm/Formats/Files.h"
#include "tfm/Frontend/DefaultBindings.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Endian.h"

#include <algorithm>
#include <cmath>

using llvm::Error;
using tfm::formats::Checkpoint;
using tfm::formats::readerError;
using tfm::formats::shapeString;
using tfm::formats::TensorInfo;

namespace tfm {

int64_t layerOf(const WeightDecl &decl) {
  size_t at = decl.templ.find("{i}");
  if (at == std::string::npos)
    return -1;
  llvm::StringRef rest = llvm::StringRef(decl.name).drop_front(at);
  int64_t layer = 0;
  size_t digits = 0;
  while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9')
    layer = layer * 10 + (rest[digits++] - '0');
  return digits ? layer : -1;
}

namespace {

/// The most values a weight is converted at a time on its way to the blob.
constexpr uint64_t kChunkElements = uint64_t(1) << 20;

int64_t elementCount(const WeightDecl &decl) {
  int64_t n = 1;
  for (int64_t x : decl.shape)
    n *= x;
  return n;
}

/// A weight resolved to a checkpoint tensor.
struct Resolved {
  const TensorInfo *tensor = nullptr;
  WeightBinding binding;
  std::vector<int64_t> splitShape; ///< After the split.
  std::vector<int64_t> finalShape; ///< After split and transpose.
};

llvm::Expected<Resolved> resolve(const ModelSpec &spec, const Checkpoint &ckpt,
                                 const WeightDecl &decl) {
  auto it = spec.weights.bindings.find(decl.templ);
  if (it == spec.weights.bindings.end())
    return readerError("weight '" + decl.name + "' (" + decl.templ +
                ") has no binding to a tensor of " + ckpt.path());
  Resolved r;
  r.binding = it->second;
  std::string source = expandTemplate(r.binding.source, layerOf(decl));
  r.tensor = ckpt.find(source);
  std::string what = "weight '" + decl.name + "' " + shapeString(decl.shape);
  if (!r.tensor)
    return readerError(what + ": tensor '" + source + "' not found in " + ckpt.path());
  const TensorInfo &t = *r.tensor;
  std::string from = what + ": tensor '" + source + "' (data at byte " +
                     std::to_string(t.offset) + ") has shape " +
                     shapeString(t.shape);
  r.splitShape = t.shape;
  const WeightBinding &b = r.binding;
  if (b.splitAxis >= 0) {
    if (b.splitAxis >= static_cast<int64_t>(t.shape.size()) ||
        b.splitCount <= 0 || b.splitIndex < 0 || b.splitIndex >= b.splitCount)
      return readerError(from + ", which cannot take part " +
                  llvm::Twine(b.splitIndex) + " of " + llvm::Twine(b.splitCount) +
                  " along axis " + llvm::Twine(b.splitAxis));
    int64_t &d = r.splitShape[b.splitAxis];
    if (d % b.splitCount != 0)
      return readerError(from + ": axis " + llvm::Twine(b.splitAxis) + " (" +
                  llvm::Twine(d) + ") does not split into " +
                  llvm::Twine(b.splitCount) + " equal parts");
    d /= b.splitCount;
  }
  r.finalShape = r.splitShape;
  if (b.transpose) {
    if (r.finalShape.size() != 2)
      return readerError(from + ", which cannot be transposed (not 2-D)");
    std::swap(r.finalShape[0], r.finalShape[1]);
  }
  if (r.finalShape != decl.shape) {
    std::string after;
    if (b.splitAxis >= 0 || b.transpose)
      after = std::string(" (") + (b.splitAxis >= 0 ? "split" : "") +
              (b.splitAxis >= 0 && b.transpose ? " and " : "") +
              (b.transpose ? "transposed" : "") + ": " +
              shapeString(r.finalShape) + ")";
    return readerError(from + after + ", expected " + shapeString(decl.shape) +
                " in " + ckpt.path());
  }
  return r;
}

uint64_t fnv1a64(llvm::StringRef s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

} // namespace

WeightsLayout weightsLayout(const ModelSpec &spec) {
  auto align = [](uint64_t n) {
    return (n + kWeightAlignment - 1) / kWeightAlignment * kWeightAlignment;
  };
  WeightsLayout l;
  l.weights = expectedWeights(spec);
  uint64_t pos = 0;
  // Layer l's range ends where layer l + 1's (aligned) weights start.
  uint64_t layer0End = 0;
  bool first = true;
  for (const WeightDecl &d : l.weights) {
    pos = align(pos);
    l.offsets.push_back(pos);
    uint64_t n = 1;
    for (int64_t x : d.shape)
      n *= static_cast<uint64_t>(x);
    if (layerOf(d) == 0) {
      if (first)
        l.layerBase = pos;
      first = false;
      layer0End = align(pos + 4 * n);
    }
    pos += 4 * n;
  }
  l.totalSize = align(pos);
  l.layerStride = layer0End - l.layerBase;
  return l;
}

void randomWeight(uint64_t seed, const WeightDecl &decl,
                  llvm::MutableArrayRef<float> out) {
  llvm::StringRef name = decl.name;
  enum { Norm, Bias, Embedding, Linear } kind = Linear;
  if (name.ends_with("norm.weight"))
    kind = Norm;
  else if (name.ends_with(".bias"))
    kind = Bias;
  else if (name == "tok_embeddings.weight" || name == "pos_embeddings.weight")
    kind = Embedding;
  float scale = 1.0f;
  if (kind == Linear && decl.shape.size() >= 2)
    scale = 1.0f / std::sqrt(static_cast<float>(decl.shape[1]));
  uint64_t state = seed ^ fnv1a64(name);
  for (float &v : out) {
    state += 0x9e3779b97f4a7c15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    float r = static_cast<float>(z >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f;
    switch (kind) {
    case Norm: v = 1.0f + 0.1f * r; break;
    case Bias: v = 0.1f * r; break;
    case Embedding: v = r; break;
    case Linear: v = r * scale; break;
    }
  }
}

Error checkWeights(const ModelSpec &spec, const Checkpoint &ckpt) {
  for (const WeightDecl &d : expectedWeights(spec))
    if (auto r = resolve(spec, ckpt, d); !r)
      return r.takeError();
  return Error::success();
}

llvm::Expected<std::unique_ptr<Checkpoint>> openWeights(const ModelSpec &spec) {
  Checkpoint::Format format = Checkpoint::Format::Llama2c;
  switch (spec.weights.format) {
  case CheckpointFormat::Random:
    return nullptr;
  case CheckpointFormat::None:
    return readerError("model '" + spec.name + "' has no weights source");
  case CheckpointFormat::Llama2c:
    break;
  case CheckpointFormat::Gguf:
    format = Checkpoint::Format::Gguf;
    break;
  case CheckpointFormat::Safetensors:
    format = Checkpoint::Format::Safetensors;
    break;
  }
  auto ckpt = Checkpoint::open(spec.weights.path, format);
  if (!ckpt)
    return ckpt.takeError();
  if (Error e = checkWeights(spec, **ckpt))
    return e;
  return ckpt;
}

namespace {

/// Calls `sink` with the canonical f32 values of `decl`, in row-major order,
/// at most kChunkElements at a time (a transposed weight is first read
/// whole: one tensor, never the model).
Error streamWeight(const ModelSpec &spec, const Checkpoint *ckpt,
                   const WeightDecl &decl,
                   llvm::function_ref<void(llvm::ArrayRef<float>)> sink) {
  std::vector<float> buf;
  if (spec.weights.format == CheckpointFormat::Random) {
    buf.resize(static_cast<size_t>(elementCount(decl)));
    randomWeight(spec.weights.seed, decl, buf);
    sink(buf);
    return Error::success();
  }
  if (!ckpt)
    return readerError("weight '" + decl.name + "': no checkpoint is open");
  auto r = resolve(spec, *ckpt, decl);
  if (!r)
    return r.takeError();
  const TensorInfo &t = *r->tensor;
  const WeightBinding &b = r->binding;
  // The stored elements in the order of the split part: runs of `run`
  // values, one per index of the axes before the split axis.
  uint64_t outer = 1, run = static_cast<uint64_t>(t.numElements());
  uint64_t stride = 0, start = 0;
  if (b.splitAxis >= 0) {
    uint64_t inner = 1;
    for (int64_t k = 0; k < b.splitAxis; ++k)
      outer *= static_cast<uint64_t>(t.shape[k]);
    for (size_t k = b.splitAxis + 1; k < t.shape.size(); ++k)
      inner *= static_cast<uint64_t>(t.shape[k]);
    stride = static_cast<uint64_t>(t.shape[b.splitAxis]) * inner;
    run = stride / static_cast<uint64_t>(b.splitCount);
    start = static_cast<uint64_t>(b.splitIndex) * run;
  }
  auto forEachChunk = [&](auto &&emit) -> Error {
    for (uint64_t o = 0; o < outer; ++o)
      for (uint64_t done = 0; done < run;) {
        uint64_t n = std::min(kChunkElements, run - done);
        buf.resize(static_cast<size_t>(n));
        if (Error e = ckpt->readF32(t, buf, o * stride + start + done))
          return e;
        emit(buf);
        done += n;
      }
    return Error::success();
  };
  if (!b.transpose)
    return forEachChunk(sink);
  // Transposed: gather the split part, then emit the output row by row.
  std::vector<float> part;
  part.reserve(static_cast<size_t>(outer * run));
  if (Error e = forEachChunk([&](llvm::ArrayRef<float> chunk) {
        part.insert(part.end(), chunk.begin(), chunk.end());
      }))
    return e;
  const int64_t rows = r->splitShape[0], cols = r->splitShape[1];
  buf.resize(static_cast<size_t>(rows));
  for (int64_t j = 0; j < cols; ++j) {
    for (int64_t i = 0; i < rows; ++i)
      buf[i] = part[i * cols + j];
    sink(buf);
  }
  return Error::success();
}

} // namespace

Error readWeight(const ModelSpec &spec, const Checkpoint *ckpt,
                 const WeightDecl &decl, llvm::MutableArrayRef<float> out) {
  if (static_cast<int64_t>(out.size()) != elementCount(decl))
    return readerError("weight '" + decl.name + "': destination holds " +
                       llvm::Twine(out.size()) + " values, expected " +
                       llvm::Twine(elementCount(decl)));
  size_t pos = 0;
  return streamWeight(spec, ckpt, decl, [&](llvm::ArrayRef<float> chunk) {
    std::copy(chunk.begin(), chunk.end(), out.begin() + pos);
    pos += chunk.size();
  });
}

Error writeWeightsBlob(const ModelSpec &spec, const Checkpoint *ckpt,
                       llvm::raw_pwrite_stream &os,
                       const WeightPacking &packing) {
  if (spec.weights.format == CheckpointFormat::None)
    return readerError("model '" + spec.name + "' has no weights source");
  WeightsLayout layout = weightsLayout(spec);
  uint64_t pos = 0;
  std::vector<uint32_t> bits;
  auto write = [&](llvm::ArrayRef<float> chunk) {
    bits.resize(chunk.size());
    for (size_t i = 0; i < chunk.size(); ++i)
      bits[i] = llvm::support::endian::byte_swap(
          llvm::bit_cast<uint32_t>(chunk[i]), llvm::endianness::little);
    os.write(reinterpret_cast<const char *>(bits.data()), 4 * bits.size());
    pos += 4 * bits.size();
  };
  for (size_t k = 0; k < layout.weights.size(); ++k) {
    os.write_zeros(layout.offsets[k] - pos);
    pos = layout.offsets[k];
    const WeightDecl &decl = layout.weights[k];
    int64_t tile = packing.lookup(decl.templ);
    if (!tile)
      tile = packing.lookup(decl.name);
    if (!tile) {
      if (Error e = streamWeight(spec, ckpt, decl, write))
        return e;
      continue;
    }
    if (decl.shape.size() != 2 || tile < 1 || decl.shape[0] % tile != 0)
      return readerError(
          "weight '" + decl.name + "' " + shapeString(decl.shape) +
          " cannot be packed in tiles of " + llvm::Twine(tile) + " rows");
    // Rows arrive in order; every `tile` rows become one [K][tile] tile.
    const size_t cols = static_cast<size_t>(decl.shape[1]);
    std::vector<float> rows, tiled(tile * cols);
    rows.reserve(tile * cols);
    Error e = streamWeight(spec, ckpt, decl, [&](llvm::ArrayRef<float> chunk) {
      while (!chunk.empty()) {
        size_t n = std::min(chunk.size(), tile * cols - rows.size());
        rows.insert(rows.end(), chunk.begin(), chunk.begin() + n);
        chunk = chunk.drop_front(n);
        if (rows.size() < tile * cols)
          continue;
        for (size_t r = 0; r < static_cast<size_t>(tile); ++r)
          for (size_t c = 0; c < cols; ++c)
            tiled[c * tile + r] = rows[r * cols + c];
        write(tiled);
        rows.clear();
      }
    });
    if (e)
      return e;
  }
  os.write_zeros(layout.totalSize - pos);
  return Error::success();
}

} // namespace tfm
