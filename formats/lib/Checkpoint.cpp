//===- Checkpoint.cpp - Memory-mapped view of a checkpoint's tensors ------===//
//
// Format-independent parts of Checkpoint, element conversion, and the GGUF
// tensor list (a thin layer over GgufFile). llama2.c and safetensors are in
// Llama2c.cpp and Safetensors.cpp.
//
//===----------------------------------------------------------------------===//

#include "tfm/Formats/Checkpoint.h"
#include "tfm/Formats/Files.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/CrashRecoveryContext.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/Path.h"

#include <cstring>
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

/// Bytes of `count` elements of `t` (q8_0: whole 34-byte blocks of 32).
uint64_t byteSize(DType t, uint64_t count) {
  switch (t) {
  case DType::F32:
    return 4 * count;
  case DType::F16:
  case DType::BF16:
    return 2 * count;
  case DType::Q8_0:
    return count / 32 * 34;
  }
  return 0;
}

/// Converts elements [first, first + dst.size()) of the tensor data at
/// `data`, of type `t`, to f32.
void convertToF32(DType t, const uint8_t *data, uint64_t first,
                  llvm::MutableArrayRef<float> dst) {
  using llvm::support::endian::read32le;
  switch (t) {
  case DType::F32:
    for (size_t k = 0; k < dst.size(); ++k)
      dst[k] = llvm::bit_cast<float>(read32le(data + 4 * (first + k)));
    return;
  case DType::F16: {
    // Every f16 value, converted once: a lookup per element.
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
  case DType::BF16:
    for (size_t k = 0; k < dst.size(); ++k)
      dst[k] = bf16ToFloat(readU16(data + 2 * (first + k)));
    return;
  case DType::Q8_0:
    // block_q8_0 { f16 d; int8 qs[32]; }: x = d * q.
    for (size_t k = 0; k < dst.size();) {
      uint64_t e = first + k;
      const uint8_t *block = data + e / 32 * 34;
      float d = halfToFloat(readU16(block));
      for (uint64_t j = e % 32; j < 32 && k < dst.size(); ++j, ++k)
        dst[k] = d * static_cast<float>(static_cast<int8_t>(block[2 + j]));
    }
    return;
  }
}

/// The byte offset of element `k` in a tensor of type `t` (for q8_0, of the
/// block holding it).
uint64_t byteOffset(DType t, uint64_t k) {
  return t == DType::Q8_0 ? k / 32 * 34 : byteSize(t, k);
}

/// The end of the bytes holding elements [0, k) (for q8_0, whole blocks).
uint64_t byteEnd(DType t, uint64_t k) {
  return t == DType::Q8_0 ? llvm::divideCeil(k, 32) * 34 : byteSize(t, k);
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
  if ((t.dtype == DType::Q8_0 && n % 32 != 0) ||
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
  return readChecked(
      t, byteEnd(t.dtype, first + out.size()),
      [&](const uint8_t *from) { convertToF32(t.dtype, from, first, out); });
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
    // The GGUF tensor types tfmc converts.
    static const std::pair<GgmlType, DType> kReadable[] = {
        {GgmlType::F32, DType::F32},
        {GgmlType::F16, DType::F16},
        {GgmlType::BF16, DType::BF16},
        {GgmlType::Q8_0, DType::Q8_0}};
    auto *readable = llvm::find_if(
        kReadable, [&](const auto &entry) { return entry.first == g.type; });
    if (readable == std::end(kReadable))
      return readerError("gguf: tensor '" + t.name + "' (info at byte " +
                         Twine(g.infoOffset) + ") has type " +
                         toString(g.type) +
                         ", which tfmc cannot read (supported: f32, f16, "
                         "bf16, q8_0)");
    t.dtype = readable->second;
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
