//===- Checkpoint.cpp - Memory-mapped view of a checkpoint's tensors ------===//
//
// Format-independent parts of Checkpoint, element conversion, and the GGUF
// tensor list (a thin layer over GgufFile). llama2.c and safetensors are in
// Llama2c.cpp and Safetensors.cpp.
//
//===----------------------------------------------------------------------===//

#include "tfm/Formats/Checkpoint.h"
#include "tfm/Formats/Files.h"
#include "tfm/Formats/Quants.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/CrashRecoveryContext.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/Path.h"

#include <cassert>
#include <cmath>
#include <cstring>
#include <optional>
#include <vector>

using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
using llvm::Twine;

namespace tfm::formats {

namespace {

uint16_t readU16(const uint8_t *p) {
  return llvm::support::endian::read16le(p);
}

/// Bytes of `count` elements of `t` (whole blocks: Encodings.h).
uint64_t byteSize(DType t, uint64_t count) {
  const EncodingInfo &info = encodingInfo(t);
  return count / info.blockSize * info.blockBytes;
}

/// Converts elements [first, first + dst.size()) of the tensor data at
/// `data`, of type `t`, to f32: block by block with the table's
/// dequantization (f16 by a lookup: every f16 value converted once).
void convertToF32(DType t, const uint8_t *data, uint64_t first,
                  llvm::MutableArrayRef<float> dst) {
  if (t == DType::F16) {
    static const std::vector<float> table = [] {
      std::vector<float> t(65536);
      for (uint32_t h = 0; h < 65536; ++h)
        t[h] = halfToFloat(static_cast<uint16_t>(h));
      return t;
    }();
    for (size_t k = 0; k < dst.size(); ++k)
      dst[k] = table[readU16(data + 2 * (first + k))];
    return;
  }
  const EncodingInfo &info = encodingInfo(t);
  const uint64_t size = info.blockSize;
  float block[256];
  assert(size <= 256 && "blocks of at most 256 values");
  for (size_t k = 0; k < dst.size();) {
    uint64_t e = first + k;
    uint64_t j = e % size;
    if (size == 1) {
      info.dequantize(data + e * info.blockBytes, &dst[k++]);
      continue;
    }
    info.dequantize(data + e / size * info.blockBytes, block);
    for (; j < size && k < dst.size(); ++j, ++k)
      dst[k] = block[j];
  }
}

/// The byte offset of element `k` in a tensor of type `t` (of the block
/// holding it).
uint64_t byteOffset(DType t, uint64_t k) {
  const EncodingInfo &info = encodingInfo(t);
  return k / info.blockSize * info.blockBytes;
}

/// The end of the bytes holding elements [0, k) (whole blocks).
uint64_t byteEnd(DType t, uint64_t k) {
  const EncodingInfo &info = encodingInfo(t);
  return llvm::divideCeil(k, info.blockSize) * info.blockBytes;
}

} // namespace

const char *toString(DType t) { return encodingInfo(t).name; }

float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13); // inf / nan
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign; // +-0
  } else {
    // Subnormal half: normalise.
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while ((mant & 0x400u) == 0);
    bits =
        sign | (static_cast<uint32_t>(112 - e) << 23) | ((mant & 0x3ffu) << 13);
  }
  return llvm::bit_cast<float>(bits);
}

float bf16ToFloat(uint16_t b) {
  return llvm::bit_cast<float>(static_cast<uint32_t>(b) << 16);
}

int64_t TensorInfo::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::string shapeString(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t k = 0; k < shape.size(); ++k) {
    if (k)
      s += ", ";
    s += std::to_string(shape[k]);
  }
  return s + "]";
}

Expected<std::unique_ptr<Checkpoint>> Checkpoint::open(StringRef path,
                                                       Format format) {
  std::string file = path.str();
  if (format == Format::Safetensors && llvm::sys::fs::is_directory(path)) {
    llvm::SmallString<256> p(path);
    llvm::sys::path::append(p, "model.safetensors");
    llvm::SmallString<256> index(path);
    llvm::sys::path::append(index, "model.safetensors.index.json");
    if (!llvm::sys::fs::exists(p) && llvm::sys::fs::exists(index))
      return openShardedSafetensors(index);
    file = std::string(p);
  }
  if (format == Format::Safetensors &&
      path.ends_with(".safetensors.index.json"))
    return openShardedSafetensors(path);
  auto mapped = MappedFile::open(file);
  if (!mapped)
    return mapped.takeError();
  return parse(std::move(file), std::move(*mapped), format);
}

Expected<std::unique_ptr<Checkpoint>> Checkpoint::open(StringRef path) {
  StringRef ext = llvm::sys::path::extension(path);
  if (llvm::sys::fs::is_directory(path) ||
      ext.equals_insensitive(".safetensors") ||
      path.ends_with(".safetensors.index.json"))
    return open(path, Format::Safetensors);
  auto mapped = MappedFile::open(path);
  if (!mapped)
    return mapped.takeError();
  // The magic decides before the name: a GGUF file may be called `.bin`.
  if (mapped->bytes().starts_with("GGUF") || ext.equals_insensitive(".gguf"))
    return parse(path.str(), std::move(*mapped), Format::Gguf);
  if (ext.equals_insensitive(".bin"))
    return parse(path.str(), std::move(*mapped), Format::Llama2c);
  return readerError(path + ": unknown checkpoint format (expected a "
                            "llama2.c .bin, a .gguf, or a directory with "
                            "config.json and model.safetensors or "
                            "model.safetensors.index.json)");
}

Expected<std::unique_ptr<Checkpoint>>
Checkpoint::parse(std::string path, MappedFile file, Format format) {
  std::unique_ptr<Checkpoint> ckpt(new Checkpoint());
  ckpt->format = format;
  ckpt->path = std::move(path);
  ckpt->file = std::move(file);
  Error err = Error::success();
  switch (format) {
  case Format::Llama2c:
    err = ckpt->parseLlama2c();
    break;
  case Format::Gguf:
    err = ckpt->parseGguf();
    break;
  case Format::Safetensors:
    err = ckpt->parseSafetensors(ckpt->bytes(), 0);
    break;
  }
  if (err)
    return readerError(ckpt->path + ": " + llvm::toString(std::move(err)));
  return ckpt;
}

Error Checkpoint::addTensor(TensorInfo t) {
  if (!index.try_emplace(t.name, tensors.size()).second)
    return readerError("duplicate tensor '" + t.name + "'");
  tensors.push_back(std::move(t));
  return Error::success();
}

const MappedFile &Checkpoint::fileOf(const TensorInfo &t) const {
  return t.shard < shards.size() ? shards[t.shard].second : *file;
}

StringRef Checkpoint::getPath(const TensorInfo &t) const {
  return t.shard < shards.size() ? StringRef(shards[t.shard].first) : path;
}

const TensorInfo *Checkpoint::find(StringRef name) const {
  auto it = index.find(name);
  return it == index.end() ? nullptr : &tensors[it->second];
}

/// Runs `copy` on the bytes of `t` once its first `to` bytes are known to
/// be in the file (see readF32).
Error Checkpoint::readChecked(
    const TensorInfo &t, uint64_t to,
    llvm::function_ref<void(const uint8_t *)> copy) const {
  const uint64_t n = static_cast<uint64_t>(t.numElements());
  std::string where =
      (getPath(t) + ": tensor '" + t.name + "' at byte " + Twine(t.offset))
          .str();
  StringRef data = fileOf(t).bytes();
  if (n % encodingInfo(t.dtype).blockSize != 0 ||
      byteSize(t.dtype, n) != t.size || t.offset > data.size() ||
      t.size > data.size() - t.offset)
    return readerError(where + ": " + Twine(t.size) + " bytes do not hold " +
                       Twine(n) + " " + toString(t.dtype) +
                       " values inside the file");
  // The bytes this read touches must still be in the file.
  auto shrunk = [&](uint64_t now) {
    return readerError(where + ": the file is now " + Twine(now) +
                       " bytes, no longer the " + Twine(data.size()) +
                       " it had when opened (it was truncated while tfmc "
                       "was reading it)");
  };
  const MappedFile &mapping = fileOf(t);
  auto now = mapping.currentSize();
  if (!now)
    return now.takeError();
  if (*now < t.offset + to)
    return shrunk(*now);
  const uint8_t *from = data.bytes_begin() + t.offset;
  llvm::CrashRecoveryContext crc;
  if (!crc.RunSafely([&] { copy(from); })) {
    auto after = mapping.currentSize();
    return shrunk(after ? *after : 0);
  }
  return Error::success();
}

Error Checkpoint::readF32(const TensorInfo &t, llvm::MutableArrayRef<float> out,
                          uint64_t first) const {
  const uint64_t n = static_cast<uint64_t>(t.numElements());
  if (first > n || out.size() > n - first)
    return readerError(getPath(t) + ": tensor '" + t.name + "' at byte " +
                       Twine(t.offset) + ": elements [" + Twine(first) + ", " +
                       Twine(first + out.size()) + ") are outside its " +
                       Twine(n));
  // A block whose scale is not finite is broken, whatever the values.
  const EncodingInfo &info = encodingInfo(t.dtype);
  std::optional<BadScale> bad;
  if (Error e = readChecked(
          t, byteEnd(t.dtype, first + out.size()), [&](const uint8_t *from) {
            if (!out.empty()) {
              uint64_t b = first / info.blockSize;
              bad = findBadScale(
                  t.dtype, from, b,
                  byteEnd(t.dtype, first + out.size()) / info.blockBytes - b);
            }
            if (!bad)
              convertToF32(t.dtype, from, first, out);
          }))
    return e;
  if (bad)
    return readerError(getPath(t) + ": tensor '" + t.name + "' " +
                       shapeString(t.shape) + " has a" +
                       (std::isnan(bad->value) ? " NaN " : "n infinite ") +
                       toString(t.dtype) + " " + bad->field + " in block " +
                       Twine(bad->block) + " (at byte " +
                       Twine(t.offset + bad->block * info.blockBytes) + ")");
  return Error::success();
}

Error Checkpoint::readBytes(const TensorInfo &t,
                            llvm::MutableArrayRef<uint8_t> out,
                            uint64_t first) const {
  if (first > t.size || out.size() > t.size - first)
    return readerError(getPath(t) + ": tensor '" + t.name + "' at byte " +
                       Twine(t.offset) + ": bytes [" + Twine(first) + ", " +
                       Twine(first + out.size()) + ") are outside its " +
                       Twine(t.size));
  return readChecked(t, first + out.size(), [&](const uint8_t *from) {
    std::memcpy(out.data(), from + first, out.size());
  });
}

void Checkpoint::releasePages(const TensorInfo &t, uint64_t first,
                              uint64_t count) const {
  uint64_t from = byteOffset(t.dtype, first);
  uint64_t to = std::min(t.size, byteEnd(t.dtype, first + count));
  if (from < to)
    fileOf(t).releasePages(t.offset + from, to - from);
}

Error Checkpoint::parseGguf() {
  auto parsed = GgufFile::parse(bytes());
  if (!parsed)
    return parsed.takeError();
  gguf = std::move(*parsed);
  for (const GgufTensor &g : gguf->getTensors()) {
    TensorInfo t;
    t.name = g.name.str();
    // The GGUF tensor types tfmc reads: the encodings table's.
    const EncodingInfo *readable =
        encodingOfGgmlType(static_cast<uint32_t>(g.type));
    if (!readable) {
      std::string supported;
      for (const EncodingInfo &info : weightEncodings())
        supported += (supported.empty() ? "" : ", ") + std::string(info.name);
      return readerError("gguf: tensor '" + t.name + "' (info at byte " +
                         Twine(g.infoOffset) + ") has type " +
                         toString(g.type) +
                         ", which tfmc cannot read "
                         "(supported: " +
                         supported + ")");
    }
    t.dtype = readable->encoding;
    // ggml lists dimensions fastest-first; we use outermost-first.
    for (auto it = g.dims.rbegin(); it != g.dims.rend(); ++it)
      t.shape.push_back(static_cast<int64_t>(*it));
    t.offset = g.offset;
    t.size = g.size;
    if (Error e = addTensor(std::move(t)))
      return e;
  }
  return Error::success();
}

} // namespace tfm::formats
