//===- Weights.cpp - Resolving, checking and packing a model's weights ----===//

#include "tfm/Frontend/Weights.h"
#include "tfm/Frontend/Checkpoint.h"
#include "tfm/Frontend/DefaultBindings.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Endian.h"

#include <cmath>
#include <cstring>

using llvm::Error;

namespace tfm {

namespace {


/// The layer index of a concrete name given its template, or -1.
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
  WeightsLayout l;
  l.weights = expectedWeights(spec);
  uint64_t pos = 0;
  for (const WeightDecl &d : l.weights) {
    pos = (pos + kWeightAlignment - 1) / kWeightAlignment * kWeightAlignment;
    l.offsets.push_back(pos);
    uint64_t n = 1;
    for (int64_t x : d.shape)
      n *= static_cast<uint64_t>(x);
    pos += 4 * n;
  }
  l.totalSize =
      (pos + kWeightAlignment - 1) / kWeightAlignment * kWeightAlignment;
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

Error checkWeights(const ModelSpec &spec) {
  switch (spec.weights.format) {
  case CheckpointFormat::Random:
    return Error::success();
  case CheckpointFormat::None:
    return readerError("model '" + spec.name + "' has no weights source");
  default:
    break;
  }
  auto ckpt = Checkpoint::open(spec.weights.path, spec.weights.format);
  if (!ckpt)
    return ckpt.takeError();
  return checkWeights(spec, **ckpt);
}

Error readWeight(const ModelSpec &spec, const Checkpoint *ckpt,
                 const WeightDecl &decl, llvm::MutableArrayRef<float> out) {
  int64_t n = 1;
  for (int64_t x : decl.shape)
    n *= x;
  if (static_cast<int64_t>(out.size()) != n)
    return readerError("weight '" + decl.name + "': destination holds " +
                llvm::Twine(out.size()) + " values, expected " + llvm::Twine(n));
  if (spec.weights.format == CheckpointFormat::Random) {
    randomWeight(spec.weights.seed, decl, out);
    return Error::success();
  }
  if (!ckpt)
    return readerError("weight '" + decl.name + "': no checkpoint is open");
  auto r = resolve(spec, *ckpt, decl);
  if (!r)
    return r.takeError();
  const TensorInfo &t = *r->tensor;
  const WeightBinding &b = r->binding;
  if (b.splitAxis < 0 && !b.transpose)
    return ckpt->readF32(t, out);
  std::vector<float> full(static_cast<size_t>(t.numElements()));
  if (Error e = ckpt->readF32(t, full))
    return e;
  // Split: part splitIndex along splitAxis.
  std::vector<float> part;
  const std::vector<float> *src = &full;
  if (b.splitAxis >= 0) {
    int64_t outer = 1, inner = 1;
    for (int64_t k = 0; k < b.splitAxis; ++k)
      outer *= t.shape[k];
    for (size_t k = b.splitAxis + 1; k < t.shape.size(); ++k)
      inner *= t.shape[k];
    int64_t axis = t.shape[b.splitAxis], piece = axis / b.splitCount;
    part.resize(static_cast<size_t>(outer * piece * inner));
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(part.data() + o * piece * inner,
                  full.data() + (o * axis + b.splitIndex * piece) * inner,
                  sizeof(float) * piece * inner);
    src = &part;
  }
  if (!b.transpose) {
    std::memcpy(out.data(), src->data(), sizeof(float) * out.size());
    return Error::success();
  }
  int64_t rows = r->splitShape[0], cols = r->splitShape[1];
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      out[j * rows + i] = (*src)[i * cols + j];
  return Error::success();
}

Error writeWeightsBlob(const ModelSpec &spec, llvm::raw_pwrite_stream &os,
                       std::vector<uint64_t> &offsets) {
  WeightsLayout layout = weightsLayout(spec);
  std::unique_ptr<Checkpoint> ckpt;
  if (spec.weights.format == CheckpointFormat::None)
    return readerError("model '" + spec.name + "' has no weights source");
  if (spec.weights.format != CheckpointFormat::Random) {
    auto c = Checkpoint::open(spec.weights.path, spec.weights.format);
    if (!c)
      return c.takeError();
    ckpt = std::move(*c);
    if (Error e = checkWeights(spec, *ckpt))
      return e;
  }
  uint64_t pos = 0;
  std::vector<float> buf;
  for (size_t k = 0; k < layout.weights.size(); ++k) {
    const WeightDecl &d = layout.weights[k];
    if (layout.offsets[k] > pos)
      os.write_zeros(layout.offsets[k] - pos);
    pos = layout.offsets[k];
    int64_t n = 1;
    for (int64_t x : d.shape)
      n *= x;
    buf.assign(static_cast<size_t>(n), 0.0f);
    if (Error e = readWeight(spec, ckpt.get(), d, buf))
      return e;
    if constexpr (llvm::endianness::native != llvm::endianness::little)
      for (float &v : buf) {
        uint32_t u;
        std::memcpy(&u, &v, 4);
        u = llvm::byteswap(u);
        std::memcpy(&v, &u, 4);
      }
    os.write(reinterpret_cast<const char *>(buf.data()), 4 * buf.size());
    pos += 4 * buf.size();
  }
  if (layout.totalSize > pos)
    os.write_zeros(layout.totalSize - pos);
  offsets = layout.offsets;
  return Error::success();
}

} // namespace tfm
