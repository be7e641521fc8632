//===- Weights.cpp - Resolving, checking and packing a model's weights ----===//

#include "tfm/Frontend/Weights.h"
#include "tfm/Formats/Files.h"
#include "tfm/Frontend/DefaultBindings.h"
#include "tfm/Frontend/Description.h"
#include "tfm/runtime/ModelAbi.h"
#include "tfm/runtime/SplitMix64.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/EndianStream.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/xxhash.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

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
                       ") has no binding to a tensor of " + ckpt.getPath());
  Resolved r;
  r.binding = it->second;
  std::string source = expandTemplate(r.binding.source, layerOf(decl));
  r.tensor = ckpt.find(source);
  std::string what = "weight '" + decl.name + "' " + shapeString(decl.shape);
  if (!r.tensor)
    return readerError(what + ": tensor '" + source + "' not found in " +
                       ckpt.getPath());
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
                         llvm::Twine(b.splitIndex) + " of " +
                         llvm::Twine(b.splitCount) + " along axis " +
                         llvm::Twine(b.splitAxis));
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
                       " in " + ckpt.getPath());
  }
  return r;
}

/// The encoding that keeps a checkpoint tensor's blocks as they are, if the
/// blob can store it.
std::optional<WeightStorage> storageOf(formats::DType dtype) {
  if (formats::encodingInfo(dtype).components.empty())
    return std::nullopt;
  return dtype;
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

uint64_t storedBytes(WeightStorage storage, llvm::ArrayRef<int64_t> shape) {
  uint64_t n = 1;
  for (int64_t x : shape)
    n *= static_cast<uint64_t>(x);
  if (formats::encodingInfo(storage).components.empty())
    return 4 * n;
  return formats::encodedBytes(formats::encodingInfo(storage), shape[0],
                               shape[1]);
}

WeightsCensus weightsCensus(const WeightsLayout &layout) {
  WeightsCensus c;
  llvm::ArrayRef<formats::EncodingInfo> encodings = formats::weightEncodings();
  std::vector<WeightsCensus::Storage> perEncoding(encodings.size());
  for (auto [decl, storage] : llvm::zip_equal(layout.weights, layout.storage)) {
    int64_t n = 1;
    for (int64_t x : decl.shape)
      n *= x;
    // GGUF's bytes: blockBytes per block (f32: 4 per value).
    const formats::EncodingInfo &info = formats::encodingInfo(storage);
    int64_t bytes = n / info.blockSize * info.blockBytes;
    WeightsCensus::Storage &s = perEncoding[static_cast<size_t>(storage)];
    s.storage = storage;
    ++s.weights;
    s.values += n;
    s.dataBytes += bytes;
    c.values += n;
    c.dataBytes += bytes;
    if (decl.shape.size() == 2) {
      c.matrixValues += n;
      c.matrixDataBytes += bytes;
    }
  }
  for (const WeightsCensus::Storage &s : perEncoding)
    if (s.weights)
      c.storages.push_back(s);
  return c;
}

WeightsLayout weightsLayout(const ModelSpec &spec) {
  auto align = [](uint64_t n) { return llvm::alignTo(n, kWeightAlignment); };
  WeightsLayout l;
  l.weights = expectedWeights(spec);
  uint64_t pos = 0;
  for (const WeightDecl &d : l.weights) {
    pos = align(pos);
    l.offsets.push_back(pos);
    auto it = spec.weights.storage.find(d.name);
    WeightStorage storage =
        it == spec.weights.storage.end() ? WeightStorage::F32 : it->second;
    l.storage.push_back(storage);
    pos += storedBytes(storage, d.shape);
  }
  l.totalSize = align(pos);
  // Each layer's weights are consecutive in expectedWeights; a layer ends
  // where the next aligned weight would start.
  for (size_t k = 0; k < l.weights.size();) {
    int64_t layer = layerOf(l.weights[k]);
    if (layer < 0) {
      ++k;
      continue;
    }
    assert(layer == static_cast<int64_t>(l.layerOffsets.size()) &&
           "layers out of order in expectedWeights");
    LayerSignature sig;
    const uint64_t start = l.offsets[k];
    size_t end = k;
    for (; end < l.weights.size() && layerOf(l.weights[end]) == layer; ++end) {
      sig.storage.push_back(l.storage[end]);
      sig.offsets.push_back(l.offsets[end] - start);
    }
    sig.stride =
        align(l.offsets[end - 1] +
              storedBytes(l.storage[end - 1], l.weights[end - 1].shape)) -
        start;
    auto same = llvm::find_if(l.signatures, [&](const LayerSignature &s) {
      return s.storage == sig.storage;
    });
    l.layerOffsets.push_back(start);
    l.layerSignature.push_back(
        static_cast<uint32_t>(same - l.signatures.begin()));
    if (same == l.signatures.end())
      l.signatures.push_back(std::move(sig));
    k = end;
  }
  return l;
}

void randomWeight(uint64_t seed, const WeightDecl &decl,
                  llvm::MutableArrayRef<float> out, uint64_t first) {
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
  // Element k is output k of the weight's stream.
  rt::SplitMix64 rng(seed ^ fnv1a64(name));
  rng.skip(first);
  for (float &v : out) {
    uint64_t z = rng.next();
    float r = static_cast<float>(z >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f;
    switch (kind) {
    case Norm:
      v = 1.0f + 0.1f * r;
      break;
    case Bias:
      v = 0.1f * r;
      break;
    case Embedding:
      v = r;
      break;
    case Linear:
      v = r * scale;
      break;
    }
  }
}

Error checkWeights(const ModelSpec &spec, const Checkpoint &ckpt) {
  for (const WeightDecl &d : expectedWeights(spec))
    if (auto r = resolve(spec, ckpt, d); !r)
      return r.takeError();
  return Error::success();
}

void chooseWeightStorage(ModelSpec &spec, const Checkpoint *ckpt,
                         Quantize quantize, formats::DType output) {
  spec.weights.storage.clear();
  static const std::optional<WeightStorage> kTargets[] = {
      std::nullopt,       WeightStorage::Q8_0, WeightStorage::Q4_0,
      WeightStorage::F16, WeightStorage::BF16, WeightStorage::Q4_K};
  const std::optional<WeightStorage> target =
      kTargets[static_cast<size_t>(quantize)];
  // llama-quantize's default for the output layer (the embedding table when
  // the head is tied) of a 4-bit file: q6_K when the rows are whole 256-value
  // super-blocks, else q8_0. For q4_0 tfmc takes q8_0 either way; for q4_K
  // `output` (whose rows are whole super-blocks, or the weight stays f32).
  std::vector<WeightDecl> decls = expectedWeights(spec);
  const bool tied = llvm::none_of(
      decls, [](const WeightDecl &d) { return d.templ == "lm_head.weight"; });
  auto targetOf = [&](const WeightDecl &d) {
    if (d.templ != (tied ? "tok_embeddings.weight" : "lm_head.weight"))
      return target;
    if (target == WeightStorage::Q4_0)
      return std::optional<WeightStorage>(WeightStorage::Q8_0);
    if (target == WeightStorage::Q4_K)
      return std::optional<WeightStorage>(output);
    return target;
  };
  for (const WeightDecl &d : decls) {
    std::optional<WeightStorage> storage = targetOf(d);
    if (ckpt && spec.weights.format != CheckpointFormat::Random) {
      auto r = resolve(spec, *ckpt, d);
      if (!r) {
        llvm::consumeError(r.takeError());
        storage.reset();
      } else if (auto kept = storageOf(r->tensor->dtype);
                 kept && (!storage || *storage == *kept)) {
        // Blocks are copied as they are (not from a split or transpose),
        // unless --quantize asks for another encoding.
        storage = kept;
        if (r->binding.splitAxis >= 0 || r->binding.transpose)
          storage.reset();
      }
    }
    if (storage && (d.shape.size() != 2 ||
                    d.shape[1] % formats::encodingInfo(*storage).blockSize))
      storage.reset();
    if (storage && *storage != WeightStorage::F32)
      spec.weights.storage[d.name] = *storage;
  }
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

/// Bytes the blob writer converts, hashes and writes at a time: large
/// sequential writes, and a hash independent of the weights' boundaries.
constexpr size_t kBlockBytes = size_t(4) << 20;

/// A destination over a caller's array (readWeight).
struct ArraySink {
  llvm::MutableArrayRef<float> out;
  size_t pos = 0;
  llvm::MutableArrayRef<float> space(uint64_t most) {
    return out.slice(
        pos, std::min<uint64_t>({most, kChunkElements, out.size() - pos}));
  }
  void commit(size_t n) { pos += n; }
};

/// A destination growing a vector (a transposed weight's stored part).
struct VectorSink {
  std::vector<float> values;
  llvm::MutableArrayRef<float> space(uint64_t most) {
    size_t old = values.size();
    values.resize(old + std::min(most, kChunkElements));
    return llvm::MutableArrayRef<float>(values).drop_front(old);
  }
  void commit(size_t n) {
    // space() made room for at least n values after the committed ones.
    committed += n;
    values.resize(committed);
  }
  size_t committed = 0;
};

/// The blob, converted straight into a block buffer that is hashed and
/// written whenever it is full.
class BlobWriter {
public:
  BlobWriter(llvm::raw_ostream &os, uint64_t total, WeightsProgress progress)
      : os(os), block(kBlockBytes), total(total), progress(progress),
        hash(total) {}

  /// Room for at most `most` values at the current position.
  llvm::MutableArrayRef<float> space(uint64_t most) {
    if (used == block.size())
      flush();
    size_t room = (block.size() - used) / 4;
    return {reinterpret_cast<float *>(block.data() + used),
            static_cast<size_t>(std::min<uint64_t>(most, room))};
  }
  /// The first `n` values of the last space() are final.
  void commit(size_t n) {
    if constexpr (llvm::endianness::native != llvm::endianness::little) {
      auto *words = reinterpret_cast<uint32_t *>(block.data() + used);
      for (size_t k = 0; k < n; ++k)
        words[k] = llvm::byteswap(words[k]);
    }
    used += 4 * n;
  }
  /// `bytes` as they are.
  void write(llvm::ArrayRef<uint8_t> bytes) {
    while (!bytes.empty()) {
      if (used == block.size())
        flush();
      size_t k = std::min(bytes.size(), block.size() - used);
      std::memcpy(block.data() + used, bytes.data(), k);
      used += k;
      bytes = bytes.drop_front(k);
    }
  }
  /// `n` zero bytes (padding).
  void zeros(uint64_t n) {
    while (n) {
      if (used == block.size())
        flush();
      size_t k =
          static_cast<size_t>(std::min<uint64_t>(n, block.size() - used));
      std::memset(block.data() + used, 0, k);
      used += k;
      n -= k;
    }
  }
  uint64_t position() const { return written + used; }
  /// Writes what is buffered; returns the blob's hash (never 0) at the end.
  uint64_t finish() {
    flush();
    return hash ? hash : 1;
  }

private:
  void flush() {
    if (!used)
      return;
    // A chain of the blocks' xxh3 digests: fast, and fixed by the bytes.
    uint64_t link[2] = {hash,
                        llvm::xxh3_64bits(llvm::ArrayRef<uint8_t>(
                            reinterpret_cast<uint8_t *>(block.data()), used))};
    hash = llvm::xxh3_64bits(llvm::ArrayRef<uint8_t>(
        reinterpret_cast<uint8_t *>(link), sizeof link));
    os.write(block.data(), used);
    written += used;
    used = 0;
    if (progress)
      progress(written, total);
  }

  llvm::raw_ostream &os;
  std::vector<char> block;
  size_t used = 0;
  uint64_t written = 0;
  uint64_t total;
  WeightsProgress progress;
  uint64_t hash;
};

/// Packs a [N, K] weight's rows into column tiles on their way to the blob:
/// every `tile` rows become one [K][tile] tile, the last N mod tile rows one
/// narrower tile (tfm-pack-weights' layout).
class TileSink {
public:
  TileSink(BlobWriter &blob, size_t tile, size_t numRows, size_t cols)
      : blob(blob), cols(cols), rowsLeft(numRows),
        rows(std::min(tile, numRows) * cols) {
    width = std::min(tile, rowsLeft);
  }

  llvm::MutableArrayRef<float> space(uint64_t most) {
    size_t group = width * cols;
    return llvm::MutableArrayRef<float>(rows).slice(
        used, static_cast<size_t>(std::min<uint64_t>(most, group - used)));
  }
  void commit(size_t n) {
    used += n;
    size_t group = width * cols;
    if (used < group)
      return;
    // Element (r, c) of the tile's rows goes to c * width + r.
    for (size_t k = 0; k < group;) {
      llvm::MutableArrayRef<float> dst = blob.space(group - k);
      for (size_t m = 0; m < dst.size(); ++m)
        dst[m] = rows[((k + m) % width) * cols + (k + m) / width];
      blob.commit(dst.size());
      k += dst.size();
    }
    used = 0;
    rowsLeft -= width;
    width = std::min(width, rowsLeft);
  }

private:
  BlobWriter &blob;
  size_t cols, rowsLeft, width;
  std::vector<float> rows;
  size_t used = 0;
};

/// The index of the first NaN or infinity in `values`, or values.size().
/// It runs over every weight on its way to the blob, so the common case is
/// one branch-free pass that vectorizes (an exponent of all ones is NaN or
/// infinity), with an AVX2 clone where the CPU has it (1.5-2x faster than
/// SSE2 on the chunk just converted); only a block that has one is searched
/// again.
#if defined(__x86_64__) && defined(__ELF__)
__attribute__((target_clones("avx2", "default")))
#endif
size_t
firstNonFinite(llvm::ArrayRef<float> values) {
  constexpr size_t kBlock = 4096;
  for (size_t begin = 0; begin < values.size(); begin += kBlock) {
    size_t end = std::min(values.size(), begin + kBlock);
    uint32_t any = 0;
    for (size_t k = begin; k < end; ++k) {
      uint32_t bits;
      std::memcpy(&bits, &values[k], sizeof bits);
      any |= (bits & 0x7f800000u) == 0x7f800000u;
    }
    if (any)
      for (size_t k = begin; k < end; ++k)
        if (!std::isfinite(values[k]))
          return k;
  }
  return values.size();
}

/// The error for element `index` (row-major) of tensor `t`, not finite.
Error nonFiniteError(const WeightDecl &decl, const TensorInfo &t,
                     uint64_t index, float value) {
  // The multi-index, outermost first.
  std::vector<int64_t> at(t.shape.size());
  uint64_t rest = index;
  for (size_t k = t.shape.size(); k-- > 0;) {
    uint64_t dim = static_cast<uint64_t>(std::max<int64_t>(t.shape[k], 1));
    at[k] = static_cast<int64_t>(rest % dim);
    rest /= dim;
  }
  return readerError("weight '" + decl.name + "': tensor '" + t.name + "' " +
                     shapeString(t.shape) + " has " +
                     (std::isnan(value) ? "NaN"
                      : value > 0       ? "+infinity"
                                        : "-infinity") +
                     " at element " + llvm::Twine(index) + " " +
                     shapeString(at) +
                     " (--allow-nonfinite compiles it anyway)");
}

/// Converts the canonical f32 values of `decl`, in row-major order, into
/// `sink` (space/commit), at most kChunkElements at a time, straight from
/// the mapping (a transposed weight is first gathered whole: one tensor,
/// never the model). Converted pages of the mapping are released. Unless
/// `allowNonFinite`, a NaN or infinity read from the checkpoint is an error
/// naming the tensor and the element.
template <typename Sink>
Error streamWeight(const ModelSpec &spec, const Checkpoint *ckpt,
                   const WeightDecl &decl, Sink &sink,
                   bool allowNonFinite = true) {
  const uint64_t count = static_cast<uint64_t>(elementCount(decl));
  if (spec.weights.format == CheckpointFormat::Random) {
    for (uint64_t done = 0; done < count;) {
      llvm::MutableArrayRef<float> dst = sink.space(count - done);
      randomWeight(spec.weights.seed, decl, dst, done);
      sink.commit(dst.size());
      done += dst.size();
    }
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
  auto copyRuns = [&](auto &to) -> Error {
    for (uint64_t o = 0; o < outer; ++o)
      for (uint64_t done = 0; done < run;) {
        llvm::MutableArrayRef<float> dst = to.space(run - done);
        uint64_t first = o * stride + start + done;
        if (Error e = ckpt->readF32(t, dst, first))
          return e;
        if (!allowNonFinite)
          if (size_t bad = firstNonFinite(dst); bad != dst.size())
            return nonFiniteError(decl, t, first + bad, dst[bad]);
        ckpt->releasePages(t, first, dst.size());
        to.commit(dst.size());
        done += dst.size();
      }
    return Error::success();
  };
  if (!b.transpose)
    return copyRuns(sink);
  // Transposed: gather the split part, then emit the output row by row.
  VectorSink part;
  part.values.reserve(static_cast<size_t>(outer * run));
  if (Error e = copyRuns(part))
    return e;
  const uint64_t rows = r->splitShape[0], cols = r->splitShape[1];
  for (uint64_t k = 0; k < count;) {
    llvm::MutableArrayRef<float> dst = sink.space(count - k);
    for (size_t m = 0; m < dst.size(); ++m) {
      uint64_t j = (k + m) / rows, i = (k + m) % rows;
      dst[m] = part.values[i * cols + j];
    }
    sink.commit(dst.size());
    k += dst.size();
  }
  return Error::success();
}

} // namespace

namespace {

/// Quantizes a weight's values, streamed in row-major order, to `info`'s
/// GGUF blocks (its reference quantizer) in `blocks`.
struct QuantizeSink {
  const formats::EncodingInfo &info;
  std::vector<uint8_t> &blocks;
  std::vector<float> buffer = std::vector<float>(kChunkElements);
  size_t pending = 0; ///< Values at the front of buffer, not yet quantized.
  llvm::MutableArrayRef<float> space(uint64_t most) {
    return llvm::MutableArrayRef<float>(buffer).slice(
        pending, std::min<uint64_t>(most, buffer.size() - pending));
  }
  void commit(size_t n) {
    pending += n;
    const size_t size = info.blockSize, whole = pending / size;
    size_t at = blocks.size();
    blocks.resize(at + whole * info.blockBytes);
    for (size_t b = 0; b < whole; ++b)
      info.quantize(&buffer[b * size], &blocks[at + b * info.blockBytes]);
    std::copy(buffer.begin() + whole * size, buffer.begin() + pending,
              buffer.begin());
    pending -= whole * size;
  }
};

/// Writes the weights `parts` (one, or a group of tfm-merge-projections:
/// the same columns), stored as `info`'s blocks, as one weight of their rows
/// in tiles of `tile` rows (see writeWeightsBlob): each component's array
/// in blob order, holding every part's rows. A tensor of that encoding is
/// copied block by block; any other (tfmc --quantize) is read as f32 and
/// quantized first.
Error writeEncodedWeight(const ModelSpec &spec, const Checkpoint *ckpt,
                         llvm::ArrayRef<const WeightDecl *> parts,
                         const formats::EncodingInfo &info, uint64_t tile,
                         bool quads, BlobWriter &blob, bool allowNonFinite) {
  const uint64_t cols = parts.front()->shape[1];
  const uint64_t blocksPerRow = cols / info.blockSize;
  const uint64_t rowBytes = blocksPerRow * info.blockBytes;
  struct Source {
    const WeightDecl *decl;
    const TensorInfo *t = nullptr;
    std::vector<uint8_t> quantized;
  };
  std::vector<Source> sources;
  uint64_t totalRows = 0, mostRows = 0;
  for (const WeightDecl *decl : parts) {
    Source &src = sources.emplace_back(Source{decl, nullptr, {}});
    totalRows += decl->shape[0];
    mostRows = std::max<uint64_t>(mostRows, decl->shape[0]);
    if (ckpt && spec.weights.format != CheckpointFormat::Random) {
      auto r = resolve(spec, *ckpt, *decl);
      if (!r)
        return r.takeError();
      if (r->tensor->dtype == info.encoding && r->binding.splitAxis < 0 &&
          !r->binding.transpose)
        src.t = r->tensor;
    }
    if (!src.t) {
      assert(info.quantize && "chooseWeightStorage quantizes with a quantizer");
      src.quantized.reserve(decl->shape[0] * rowBytes);
      QuantizeSink sink{info, src.quantized};
      if (Error e = streamWeight(spec, ckpt, *decl, sink, allowNonFinite))
        return e;
    }
  }
  uint64_t start = blob.position();
  // One tile's rows at a time: at most `tile` rows of the file, repacked
  // (Encodings.h) into `packed` when the encoding says so.
  std::vector<uint8_t> raw(std::min(tile, mostRows) * rowBytes), out, packed;
  const uint64_t blockBytes = info.repack ? info.packedBytes : info.blockBytes;
  if (info.repack)
    packed.resize(std::min(tile, mostRows) * blocksPerRow * blockBytes);
  const std::vector<uint8_t> &blocks = info.repack ? packed : raw;
  auto forTiles =
      [&](const Source &src,
          llvm::function_ref<Error(uint64_t row, uint64_t width)> fn) -> Error {
    const uint64_t rows = src.decl->shape[0];
    for (uint64_t row = 0; row < rows;) {
      uint64_t width = std::min(tile, rows - row);
      auto dst =
          llvm::MutableArrayRef<uint8_t>(raw).take_front(width * rowBytes);
      if (!src.t)
        std::memcpy(dst.data(), &src.quantized[row * rowBytes], dst.size());
      else if (Error e = ckpt->readBytes(*src.t, dst, row * rowBytes))
        return e;
      for (uint64_t b = 0; info.repack && b < width * blocksPerRow; ++b)
        info.repack(&raw[b * info.blockBytes], &packed[b * blockBytes]);
      if (Error e = fn(row, width))
        return e;
      row += width;
    }
    return Error::success();
  };
  llvm::SmallVector<unsigned, 4> order = formats::blobOrder(info);
  for (unsigned c : order) {
    const formats::EncodingComponent &comp = info.components[c];
    const uint64_t bytes = formats::elementBytes(comp.kind);
    blob.zeros(start + formats::componentOffset(info, c, totalRows, cols) -
               blob.position());
    for (const Source &src : sources) {
      const WeightDecl &decl = *src.decl;
      const TensorInfo *t = src.t;
      // Where a block's bytes come from, for the error messages.
      std::string source =
          t ? "tensor '" + t->name + "' " + shapeString(t->shape)
            : "its values quantized";
      // [K/B * perBlock][width] elements per tile: element (b * perBlock + e,
      // r) is element e of the component in row r's block b; values in
      // quads: ([K/B * perBlock / 4][width][4]) for a full tile.
      if (Error e = forTiles(src, [&](uint64_t row, uint64_t width) -> Error {
            const uint64_t perRow = blocksPerRow * comp.perBlock;
            out.resize(perRow * width * bytes);
            for (uint64_t b = 0; b < blocksPerRow; ++b)
              for (uint64_t i = 0; i < width; ++i) {
                const uint8_t *block =
                    &blocks[(i * blocksPerRow + b) * blockBytes];
                if (comp.check == formats::EncodingComponent::Scale) {
                  float d = formats::halfToFloat(
                      llvm::support::endian::read16le(block + comp.byteOffset));
                  if (!std::isfinite(d))
                    return readerError(
                        "weight '" + decl.name + "': " + source + " has " +
                        (std::isnan(d) ? "a NaN" : "an infinite") + " " +
                        info.name + " " + comp.name + " in block " +
                        llvm::Twine((row + i) * blocksPerRow + b) + " (row " +
                        llvm::Twine(row + i) +
                        (t ? ", at byte " +
                                 llvm::Twine(t->offset + (row + i) * rowBytes +
                                             b * info.blockBytes +
                                             comp.byteOffset)
                                     .str()
                           : std::string()) +
                        ")");
                }
                // f16 / bf16 values: non-finite ones as an f32 weight's.
                if (comp.check != formats::EncodingComponent::None &&
                    comp.check != formats::EncodingComponent::Scale && t &&
                    !allowNonFinite) {
                  const uint8_t *at = block + comp.byteOffset;
                  uint16_t bits = llvm::support::endian::read16le(at);
                  float v = comp.check == formats::EncodingComponent::F16Value
                                ? formats::halfToFloat(bits)
                                : formats::bf16ToFloat(bits);
                  if (!std::isfinite(v))
                    return nonFiniteError(decl, *t, (row + i) * cols + b, v);
                }
                const bool inQuads = quads && c == 0 && width == tile;
                for (uint64_t e = 0; e < comp.perBlock; ++e) {
                  uint64_t kk = b * comp.perBlock + e;
                  uint64_t at =
                      inQuads ? (kk & ~uint64_t(3)) * width + i * 4 + (kk & 3)
                              : kk * width + i;
                  std::memcpy(&out[at * bytes],
                              block + comp.byteOffset + e * bytes, bytes);
                }
              }
            blob.write(out);
            if (t && c == order.back())
              ckpt->releasePages(*t, row * cols, width * cols);
            return Error::success();
          }))
        return e;
    }
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
  ArraySink sink{out};
  return streamWeight(spec, ckpt, decl, sink);
}

uint64_t specId(const ModelSpec &spec) {
  // What the code assumes about the blob: the description without its
  // name, tokenizer and weights source, and the blob's size.
  ModelSpec arch = spec;
  arch.name.clear();
  arch.tokenizer = TokenizerSpec();
  arch.weights = WeightsSpec();
  std::string text;
  llvm::raw_string_ostream os(text);
  printDescription(arch, os);
  os << "\nabi " << TFM_ABI_VERSION << " blob "
     << weightsLayout(spec).totalSize;
  for (const auto &[name, storage] : spec.weights.storage)
    os << "\nstorage " << name << " " << toString(storage);
  uint64_t id = llvm::xxh3_64bits(os.str());
  return id ? id : 1;
}

llvm::Expected<uint64_t>
writeWeightsBlob(const ModelSpec &spec, const Checkpoint *ckpt,
                 llvm::raw_ostream &os, const WeightPacking &packing,
                 const WeightMerges &merges, WeightsProgress progress,
                 bool allowNonFinite) {
  if (spec.weights.format == CheckpointFormat::None)
    return readerError("model '" + spec.name + "' has no weights source");
  WeightsLayout layout = weightsLayout(spec);
  BlobWriter blob(os, layout.totalSize, progress);
  auto named = [](const WeightDecl &decl, llvm::StringRef name) {
    return decl.templ == name || decl.name == name;
  };
  for (size_t k = 0; k < layout.weights.size();) {
    blob.zeros(layout.offsets[k] - blob.position());
    const WeightDecl &decl = layout.weights[k];
    WeightTiling tiling = packing.lookup(decl.templ);
    if (!tiling.tile)
      tiling = packing.lookup(decl.name);
    int64_t tile = tiling.tile;
    // A merged group: this weight and the next ones, written as one.
    llvm::SmallVector<const WeightDecl *, 3> parts{&decl};
    auto merge = llvm::find_if(merges, [&](const WeightMerge &m) {
      return named(decl, m.parts.front());
    });
    if (merge != merges.end()) {
      tile = merge->tile;
      tiling.quads = merge->quads;
      for (size_t j = 1; j < merge->parts.size(); ++j) {
        size_t at = k + j;
        if (at >= layout.weights.size() ||
            !named(layout.weights[at], merge->parts[j]) ||
            layout.storage[at] != layout.storage[k] ||
            layout.weights[at].shape.size() != 2 ||
            layout.weights[at].shape[1] != decl.shape[1] ||
            (tile && layout.weights[at - 1].shape[0] % tile))
          return readerError("weight '" + decl.name +
                             "' cannot be merged with '" + merge->parts[j] +
                             "': not the next weight of its storage and "
                             "columns");
        parts.push_back(&layout.weights[at]);
      }
    }
    const size_t next = k + parts.size();
    const uint64_t end =
        next < layout.weights.size() ? layout.offsets[next] : layout.totalSize;
    k = next;
    if (layout.storage[k - 1] != WeightStorage::F32) {
      if (Error e = writeEncodedWeight(
              spec, ckpt, parts, formats::encodingInfo(layout.storage[k - 1]),
              static_cast<uint64_t>(std::max<int64_t>(tile, 1)), tiling.quads,
              blob, allowNonFinite))
        return e;
    } else {
      for (const WeightDecl *part : parts) {
        if (!tile) {
          if (Error e = streamWeight(spec, ckpt, *part, blob, allowNonFinite))
            return e;
          continue;
        }
        if (part->shape.size() != 2 || tile < 1)
          return readerError(
              "weight '" + part->name + "' " + shapeString(part->shape) +
              " cannot be packed in tiles of " + llvm::Twine(tile) + " rows");
        TileSink tiles(blob, static_cast<size_t>(tile),
                       static_cast<size_t>(part->shape[0]),
                       static_cast<size_t>(part->shape[1]));
        if (Error e = streamWeight(spec, ckpt, *part, tiles, allowNonFinite))
          return e;
      }
    }
    if (blob.position() > end)
      return readerError("weight '" + decl.name + "' and the " +
                         llvm::Twine(parts.size() - 1) +
                         " merged with it overrun the next weight");
  }
  blob.zeros(layout.totalSize - blob.position());
  return blob.finish();
}

void writeWeightsTrailer(llvm::raw_ostream &os, uint64_t weightsBytes,
                         uint64_t specId, uint64_t weightsId) {
  using llvm::support::endian::write;
  constexpr auto le = llvm::endianness::little;
  os.write(TFM_WEIGHTS_MAGIC, 8);
  write<uint32_t>(os, uint32_t(TFM_ABI_VERSION), le);
  write<uint32_t>(os, uint32_t(sizeof(TfmWeightsTrailer)), le);
  write<uint64_t>(os, weightsBytes, le);
  write<uint64_t>(os, specId, le);
  write<uint64_t>(os, weightsId, le);
  os.write_zeros(sizeof(TfmWeightsTrailer) - 40);
}

} // namespace tfm
