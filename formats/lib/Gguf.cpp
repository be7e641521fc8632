//===- Gguf.cpp - Reader for GGUF files (versions 2 and 3) ----------------===//

#include "tfm/Formats/Gguf.h"
#include "tfm/Formats/Files.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/MathExtras.h"

#include <iterator>
#include <numeric>

using llvm::Error;
using llvm::StringRef;
using llvm::Twine;

namespace tfm::formats {

namespace {

/// Largest nesting of arrays inside arrays we accept (ggml writes none).
constexpr int kMaxArrayDepth = 4;
/// ggml's GGML_MAX_DIMS.
constexpr uint32_t kMaxDims = 4;

/// Bounds-checked little-endian reader over the file bytes. Every failure
/// names the byte offset of the field being read.
class Reader {
public:
  explicit Reader(StringRef bytes) : bytes(bytes) {}

  uint64_t getPos() const { return pos; }
  uint64_t remaining() const { return bytes.size() - pos; }
  uint64_t size() const { return bytes.size(); }
  const uint8_t *here() const { return bytes.bytes_begin() + pos; }

  Error fail(uint64_t at, const Twine &msg) const {
    return readerError("gguf: " + msg + " at byte " + Twine(at));
  }

  Error need(uint64_t n, const char *what) const {
    if (n > remaining())
      return fail(pos, Twine("file truncated: ") + what + " needs " + Twine(n) +
                           " bytes but only " + Twine(remaining()) + " remain");
    return Error::success();
  }

  template <typename T> Error read(T &out, const char *what) {
    if (Error e = need(sizeof(T), what))
      return e;
    out = llvm::support::endian::read<T, llvm::endianness::little>(here());
    pos += sizeof(T);
    return Error::success();
  }

  Error readString(StringRef &out, const char *what) {
    uint64_t at = pos;
    uint64_t len;
    if (Error e = read(len, what))
      return e;
    if (len > remaining())
      return fail(at, Twine(what) + " length " + Twine(len) + " exceeds the " +
                          Twine(remaining()) + " bytes left in the file");
    out = bytes.substr(pos, len);
    pos += len;
    return Error::success();
  }

  Error skip(uint64_t n, const char *what) {
    if (Error e = need(n, what))
      return e;
    pos += n;
    return Error::success();
  }

private:
  StringRef bytes;
  uint64_t pos = 0;
};

/// What a metadata type is: its name, the byte size of one value (0 for
/// String and Array) and the kind of number it holds.
enum class Kind { Unsigned, Signed, Float, Bool, Other };
struct GgufTypeInfo {
  const char *name;
  uint64_t size;
  Kind kind;
};

/// Indexed by GgufType.
constexpr GgufTypeInfo kGgufTypes[] = {
    {"uint8", 1, Kind::Unsigned},  {"int8", 1, Kind::Signed},
    {"uint16", 2, Kind::Unsigned}, {"int16", 2, Kind::Signed},
    {"uint32", 4, Kind::Unsigned}, {"int32", 4, Kind::Signed},
    {"float32", 4, Kind::Float},   {"bool", 1, Kind::Bool},
    {"string", 0, Kind::Other},    {"array", 0, Kind::Other},
    {"uint64", 8, Kind::Unsigned}, {"int64", 8, Kind::Signed},
    {"float64", 8, Kind::Float}};

bool knownType(uint32_t t) { return t < std::size(kGgufTypes); }

/// `t` must be known.
const GgufTypeInfo &typeInfo(GgufType t) {
  return kGgufTypes[static_cast<uint32_t>(t)];
}
uint64_t scalarSize(GgufType t) { return typeInfo(t).size; }
bool isSigned(GgufType t) { return typeInfo(t).kind == Kind::Signed; }
bool isFloat(GgufType t) { return typeInfo(t).kind == Kind::Float; }
bool isInteger(GgufType t) {
  return typeInfo(t).kind == Kind::Signed || typeInfo(t).kind == Kind::Unsigned;
}

/// One decoded scalar (not String/Array): integers fill i and u (u is the
/// raw bit pattern of signed types), floats fill f, Bool fills u.
struct Scalar {
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
};

Scalar decodeScalar(GgufType t, const uint8_t *p) {
  const uint64_t size = scalarSize(t);
  uint64_t raw = 0; // Little-endian.
  for (uint64_t k = 0; k < size; ++k)
    raw |= uint64_t(p[k]) << (8 * k);
  Scalar s;
  if (isFloat(t)) {
    s.f = size == 4 ? double(llvm::bit_cast<float>(uint32_t(raw)))
                    : llvm::bit_cast<double>(raw);
  } else if (t == GgufType::Bool) {
    s.u = raw != 0;
    s.i = int64_t(s.u);
  } else if (isSigned(t)) {
    s.i = llvm::SignExtend64(raw, unsigned(8 * size));
    s.u = uint64_t(s.i);
  } else {
    s.u = raw;
    s.i = int64_t(raw);
  }
  return s;
}

/// What the parser knows of a tensor type (ggml_type): its name, elements
/// per block and bytes per block (f32 is {1, 4}; q8_0 is {32, 34}).
struct GgmlTypeInfo {
  uint32_t type;
  const char *name;
  uint64_t blockElems, blockBytes;
};

constexpr GgmlTypeInfo kGgmlTypes[] = {
    {0, "f32", 1, 4},       {1, "f16", 1, 2},       {2, "q4_0", 32, 18},
    {3, "q4_1", 32, 20},    {6, "q5_0", 32, 22},    {7, "q5_1", 32, 24},
    {8, "q8_0", 32, 34},    {9, "q8_1", 32, 36},    {10, "q2_K", 256, 84},
    {11, "q3_K", 256, 110}, {12, "q4_K", 256, 144}, {13, "q5_K", 256, 176},
    {14, "q6_K", 256, 210}, {15, "q8_K", 256, 292}, {24, "i8", 1, 1},
    {25, "i16", 1, 2},      {26, "i32", 1, 4},      {27, "i64", 1, 8},
    {28, "f64", 1, 8},      {30, "bf16", 1, 2}};

/// nullptr when the type is unknown.
const GgmlTypeInfo *ggmlTypeInfo(uint32_t type) {
  for (const GgmlTypeInfo &info : kGgmlTypes)
    if (info.type == type)
      return &info;
  return nullptr;
}

/// Reads an array (u32 element type, u64 count, elements) at the reader's
/// position, validating every element. A top-level array (`kv` non-null)
/// records its element type, count and position in `kv`, and its strings in
/// kv->strs.
Error parseArray(Reader &r, int depth, GgufKV *kv) {
  const bool nested = depth > 1;
  uint64_t typeOffset = r.getPos();
  uint32_t elemType;
  uint64_t count;
  if (Error e =
          r.read(elemType, nested ? "nested array type" : "array element type"))
    return e;
  uint64_t countOffset = r.getPos();
  if (Error e = r.read(count, nested ? "nested array count" : "array count"))
    return e;
  if (!knownType(elemType))
    return r.fail(typeOffset, "unknown array element type " + Twine(elemType));
  GgufType et = static_cast<GgufType>(elemType);
  std::vector<StringRef> *strs = nullptr;
  if (kv) {
    kv->elemType = et;
    kv->count = count;
    kv->dataOffset = r.getPos();
    strs = &kv->strs;
  }
  if (uint64_t sz = scalarSize(et)) {
    if (count > r.remaining() / sz)
      return r.fail(countOffset, "array count " + Twine(count) + " of " +
                                     toString(et) + " needs more than the " +
                                     Twine(r.remaining()) +
                                     " bytes left in the file");
    return r.skip(count * sz, "array elements");
  }
  if (et == GgufType::String) {
    // Each string needs at least its 8-byte length.
    if (count > r.remaining() / 8)
      return r.fail(countOffset, "array count " + Twine(count) +
                                     " of string needs more than the " +
                                     Twine(r.remaining()) +
                                     " bytes left in the file");
    if (strs)
      strs->reserve(static_cast<size_t>(count));
    for (uint64_t k = 0; k < count; ++k) {
      StringRef s;
      if (Error e = r.readString(s, "array string"))
        return e;
      if (strs)
        strs->push_back(s);
    }
    return Error::success();
  }
  // Array of arrays: each needs at least 12 bytes (type + count).
  if (depth >= kMaxArrayDepth)
    return r.fail(typeOffset,
                  "arrays nested deeper than " + Twine(kMaxArrayDepth));
  if (count > r.remaining() / 12)
    return r.fail(countOffset, "array count " + Twine(count) +
                                   " of array needs more than the " +
                                   Twine(r.remaining()) +
                                   " bytes left in the file");
  for (uint64_t k = 0; k < count; ++k)
    if (Error e = parseArray(r, depth + 1, nullptr))
      return e;
  return Error::success();
}

/// Reads one metadata key/value pair at the reader's position.
Error parseKV(Reader &r, GgufKV &kv) {
  kv.keyOffset = r.getPos();
  if (Error e = r.readString(kv.key, "metadata key"))
    return e;
  uint64_t typeAt = r.getPos();
  uint32_t type;
  if (Error e = r.read(type, "metadata value type"))
    return e;
  if (!knownType(type))
    return r.fail(typeAt, "unknown metadata value type " + Twine(type) +
                              " for key '" + kv.key + "'");
  kv.type = static_cast<GgufType>(type);
  kv.valueOffset = r.getPos();
  if (kv.type == GgufType::String)
    return r.readString(kv.str, "metadata string");
  if (kv.type == GgufType::Array)
    return parseArray(r, 1, &kv);
  uint64_t sz = scalarSize(kv.type);
  if (Error e = r.need(sz, "metadata value"))
    return e;
  Scalar s = decodeScalar(kv.type, r.here());
  kv.i = s.i;
  kv.u = s.u;
  kv.f = s.f;
  return r.skip(sz, "metadata value");
}

/// Reads one tensor info at the reader's position into `t` (all but its
/// absolute offset); `rel` is its data offset relative to the data section,
/// stored at byte `offAt`.
Error parseTensorInfo(Reader &r, uint64_t alignment, GgufTensor &t,
                      uint64_t &rel, uint64_t &offAt) {
  t.infoOffset = r.getPos();
  if (Error e = r.readString(t.name, "tensor name"))
    return e;
  std::string quoted = ("tensor '" + t.name + "'").str();
  uint64_t dimsAt = r.getPos();
  uint32_t nDims;
  if (Error e = r.read(nDims, "tensor n_dims"))
    return e;
  if (nDims == 0 || nDims > kMaxDims)
    return r.fail(dimsAt, quoted + " has " + Twine(nDims) +
                              " dimensions (expected 1 to " + Twine(kMaxDims) +
                              ")");
  uint64_t elems = 1;
  for (uint32_t d = 0; d < nDims; ++d) {
    uint64_t at = r.getPos();
    uint64_t dim;
    if (Error e = r.read(dim, "tensor dimension"))
      return e;
    if (dim == 0)
      return r.fail(at, quoted + " has a zero dimension");
    if (__builtin_mul_overflow(elems, dim, &elems) ||
        elems > (uint64_t(1) << 61))
      return r.fail(at, quoted + " has too many elements");
    t.dims.push_back(dim);
  }
  t.numElements = elems;
  uint64_t typeAt = r.getPos();
  uint32_t type;
  if (Error e = r.read(type, "tensor type"))
    return e;
  const GgmlTypeInfo *info = ggmlTypeInfo(type);
  if (!info)
    return r.fail(typeAt, quoted + " has unknown ggml type " + Twine(type));
  t.type = static_cast<GgmlType>(type);
  if (t.dims[0] % info->blockElems != 0)
    return r.fail(dimsAt, quoted + " first dimension " + Twine(t.dims[0]) +
                              " is not a multiple of the " + info->name +
                              " block size " + Twine(info->blockElems));
  // elems < 2^61 and blockBytes < 2^9: no overflow.
  t.size = elems / info->blockElems * info->blockBytes;
  offAt = r.getPos();
  if (Error e = r.read(rel, "tensor offset"))
    return e;
  if (rel % alignment != 0)
    return r.fail(offAt, quoted + " data offset " + Twine(rel) +
                             " is not a multiple of the alignment " +
                             Twine(alignment));
  return Error::success();
}

/// Decodes the elements of a numeric array with `convert(element type,
/// scalar)`.
template <typename T, typename Convert>
std::vector<T> decodeArray(StringRef bytes, const GgufKV &kv, Convert convert) {
  uint64_t sz = scalarSize(kv.elemType);
  const uint8_t *p = bytes.bytes_begin() + kv.dataOffset;
  std::vector<T> out(static_cast<size_t>(kv.count));
  for (uint64_t k = 0; k < kv.count; ++k)
    out[k] = convert(decodeScalar(kv.elemType, p + k * sz));
  return out;
}

} // namespace

const char *toString(GgufType t) {
  return knownType(static_cast<uint32_t>(t)) ? typeInfo(t).name : "?";
}

const char *toString(GgmlType t) {
  const GgmlTypeInfo *info = ggmlTypeInfo(static_cast<uint32_t>(t));
  return info ? info->name : "?";
}

llvm::Expected<GgufFile> GgufFile::parse(StringRef bytes) {
  GgufFile f;
  f.bytes = bytes;
  if (Error e = f.parseAll())
    return e;
  return f;
}

Error GgufFile::parseAll() {
  Reader r(bytes);
  const uint64_t size = bytes.size();

  uint32_t magic;
  if (Error e = r.read(magic, "magic"))
    return e;
  if (!bytes.starts_with("GGUF"))
    return r.fail(0, "bad magic (not a GGUF file)");
  if (Error e = r.read(version, "version"))
    return e;
  if (version == 0x02000000u || version == 0x03000000u)
    return r.fail(4, "big-endian GGUF is not supported");
  if (version != 2 && version != 3)
    return r.fail(4, "unsupported GGUF version " + Twine(version) +
                         " (expected 2 or 3)");
  uint64_t tensorCount, kvCount;
  if (Error e = r.read(tensorCount, "tensor count"))
    return e;
  if (Error e = r.read(kvCount, "metadata count"))
    return e;
  // Minimum record sizes: a KV is key length (8) + type (4) + a 1-byte value;
  // a tensor info is name length (8) + n_dims (4) + type (4) + offset (8).
  if (kvCount > r.remaining() / 13)
    return r.fail(16, "metadata count " + Twine(kvCount) +
                          " cannot fit in the " + Twine(size) + "-byte file");
  if (tensorCount > r.remaining() / 24)
    return r.fail(8, "tensor count " + Twine(tensorCount) +
                         " cannot fit in the " + Twine(size) + "-byte file");

  kvs.reserve(static_cast<size_t>(kvCount));
  for (uint64_t k = 0; k < kvCount; ++k) {
    GgufKV kv;
    if (Error e = parseKV(r, kv))
      return e;
    if (!kvIndex.try_emplace(kv.key, kvs.size()).second)
      return r.fail(kv.keyOffset, "duplicate metadata key '" + kv.key + "'");
    kvs.push_back(std::move(kv));
  }

  if (const GgufKV *a = find("general.alignment")) {
    if (a->type != GgufType::UInt32)
      return r.fail(a->valueOffset,
                    Twine("general.alignment must be uint32, not ") +
                        toString(a->type));
    if (!llvm::isPowerOf2_64(a->u))
      return r.fail(a->valueOffset, "general.alignment " + Twine(a->u) +
                                        " is not a power of two");
    alignment = a->u;
  }

  tensors.reserve(static_cast<size_t>(tensorCount));
  std::vector<uint64_t> relOffsets;
  std::vector<uint64_t> offsetFieldAt;
  relOffsets.reserve(static_cast<size_t>(tensorCount));
  offsetFieldAt.reserve(static_cast<size_t>(tensorCount));
  for (uint64_t k = 0; k < tensorCount; ++k) {
    GgufTensor t;
    uint64_t rel, offAt;
    if (Error e = parseTensorInfo(r, alignment, t, rel, offAt))
      return e;
    if (!tensorIndex.try_emplace(t.name, tensors.size()).second)
      return r.fail(t.infoOffset, "duplicate tensor '" + t.name + "'");
    tensors.push_back(std::move(t));
    relOffsets.push_back(rel);
    offsetFieldAt.push_back(offAt);
  }

  // The data section starts at the next multiple of the alignment.
  uint64_t end = r.getPos();
  dataOffset = llvm::alignTo(end, alignment);
  if (tensorCount > 0 && dataOffset > size)
    return r.fail(end, "file truncated: data section at byte " +
                           Twine(dataOffset) + " is past the end of the " +
                           Twine(size) + "-byte file");
  uint64_t dataSize = dataOffset <= size ? size - dataOffset : 0;
  for (size_t k = 0; k < tensors.size(); ++k) {
    GgufTensor &t = tensors[k];
    if (relOffsets[k] > dataSize || t.size > dataSize - relOffsets[k])
      return r.fail(offsetFieldAt[k],
                    "tensor '" + t.name + "' data [" + Twine(dataOffset) +
                        " + " + Twine(relOffsets[k]) + ", +" + Twine(t.size) +
                        " bytes) extends past the end of the " + Twine(size) +
                        "-byte file");
    t.offset = dataOffset + relOffsets[k];
  }
  // No two tensors may share bytes (ggml itself lays them out one after
  // another): in offset order, each must start where the one before ended
  // or later.
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), 0);
  llvm::stable_sort(order, [&](size_t a, size_t b) {
    return tensors[a].offset < tensors[b].offset;
  });
  for (size_t k = 1; k < order.size(); ++k) {
    const GgufTensor &prev = tensors[order[k - 1]], &t = tensors[order[k]];
    if (t.offset < prev.offset + prev.size)
      return r.fail(offsetFieldAt[order[k]],
                    "tensor '" + t.name + "' data (bytes " + Twine(t.offset) +
                        " to " + Twine(t.offset + t.size) +
                        ") overlaps tensor '" + prev.name + "' (bytes " +
                        Twine(prev.offset) + " to " +
                        Twine(prev.offset + prev.size) + ")");
  }
  return Error::success();
}

const GgufKV *GgufFile::find(StringRef key) const {
  auto it = kvIndex.find(key);
  return it == kvIndex.end() ? nullptr : &kvs[it->second];
}

const GgufTensor *GgufFile::findTensor(StringRef name) const {
  auto it = tensorIndex.find(name);
  return it == tensorIndex.end() ? nullptr : &tensors[it->second];
}

std::optional<StringRef> GgufFile::getString(StringRef key) const {
  const GgufKV *kv = find(key);
  if (!kv || kv->type != GgufType::String)
    return std::nullopt;
  return kv->str;
}

std::optional<int64_t> GgufFile::getInt(StringRef key) const {
  const GgufKV *kv = find(key);
  if (!kv || !(isInteger(kv->type) || kv->type == GgufType::Bool))
    return std::nullopt;
  if (kv->type == GgufType::UInt64 && kv->u > uint64_t(INT64_MAX))
    return std::nullopt;
  return kv->i;
}

std::optional<uint64_t> GgufFile::getUInt(StringRef key) const {
  const GgufKV *kv = find(key);
  if (!kv || !isInteger(kv->type))
    return std::nullopt;
  if (isSigned(kv->type) && kv->i < 0)
    return std::nullopt;
  return kv->u;
}

std::optional<double> GgufFile::getFloat(StringRef key) const {
  const GgufKV *kv = find(key);
  if (!kv)
    return std::nullopt;
  if (isFloat(kv->type))
    return kv->f;
  if (isInteger(kv->type))
    return isSigned(kv->type) ? static_cast<double>(kv->i)
                              : static_cast<double>(kv->u);
  return std::nullopt;
}

std::optional<bool> GgufFile::getBool(StringRef key) const {
  const GgufKV *kv = find(key);
  if (!kv || kv->type != GgufType::Bool)
    return std::nullopt;
  return kv->u != 0;
}

std::optional<llvm::ArrayRef<StringRef>>
GgufFile::getStringArray(StringRef key) const {
  const GgufKV *kv = find(key);
  if (!kv || kv->type != GgufType::Array || kv->elemType != GgufType::String)
    return std::nullopt;
  return llvm::ArrayRef<StringRef>(kv->strs);
}

std::optional<std::vector<float>> GgufFile::getFloatArray(StringRef key) const {
  const GgufKV *kv = find(key);
  if (!kv || kv->type != GgufType::Array ||
      !(isFloat(kv->elemType) || isInteger(kv->elemType)))
    return std::nullopt;
  GgufType et = kv->elemType;
  return decodeArray<float>(bytes, *kv, [et](const Scalar &s) {
    if (isFloat(et))
      return static_cast<float>(s.f);
    return isSigned(et) ? static_cast<float>(s.i) : static_cast<float>(s.u);
  });
}

std::optional<std::vector<int64_t>> GgufFile::getIntArray(StringRef key) const {
  const GgufKV *kv = find(key);
  if (!kv || kv->type != GgufType::Array ||
      !(isInteger(kv->elemType) || kv->elemType == GgufType::Bool))
    return std::nullopt;
  return decodeArray<int64_t>(bytes, *kv, [](const Scalar &s) { return s.i; });
}

} // namespace tfm::formats
