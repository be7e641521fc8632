//===- Gguf.cpp - Reader for GGUF files (versions 2 and 3) ----------------===//

#include "tfm/runtime/Gguf.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tfm {
namespace rt {

namespace {

/// Largest nesting of arrays inside arrays we accept (ggml writes none).
constexpr int kMaxArrayDepth = 4;
/// ggml's GGML_MAX_DIMS.
constexpr uint32_t kMaxDims = 4;

std::string num(uint64_t v) { return std::to_string(v); }

/// Bounds-checked little-endian reader over the file bytes. Every failure
/// records a message naming the byte offset of the field being read.
class Reader {
public:
  Reader(const uint8_t *data, uint64_t size, std::string &error)
      : data_(data), size_(size), error_(error) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }
  uint64_t size() const { return size_; }
  const uint8_t *data() const { return data_; }

  bool fail(uint64_t at, const std::string &msg) {
    error_ = "gguf: " + msg + " at byte " + num(at);
    return false;
  }

  bool need(uint64_t n, const char *what) {
    if (n > remaining())
      return fail(pos_, std::string("file truncated: ") + what + " needs " +
                            num(n) + " bytes but only " + num(remaining()) +
                            " remain");
    return true;
  }

  template <typename T> bool read(T &out, const char *what) {
    if (!need(sizeof(T), what))
      return false;
    // Little-endian host assumed (x86-64 / AArch64 Linux).
    std::memcpy(&out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }

  bool readString(std::string_view &out, const char *what) {
    uint64_t at = pos_;
    uint64_t len;
    if (!read(len, what))
      return false;
    if (len > remaining())
      return fail(at, std::string(what) + " length " + num(len) +
                          " exceeds the " + num(remaining()) +
                          " bytes left in the file");
    out = std::string_view(reinterpret_cast<const char *>(data_ + pos_),
                           static_cast<size_t>(len));
    pos_ += len;
    return true;
  }

  bool skip(uint64_t n, const char *what) {
    if (!need(n, what))
      return false;
    pos_ += n;
    return true;
  }

private:
  const uint8_t *data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  std::string &error_;
};

/// Size of a scalar metadata type, 0 for String/Array/unknown.
uint64_t scalarSize(uint32_t t) {
  switch (static_cast<GgufType>(t)) {
  case GgufType::UInt8:
  case GgufType::Int8:
  case GgufType::Bool:
    return 1;
  case GgufType::UInt16:
  case GgufType::Int16:
    return 2;
  case GgufType::UInt32:
  case GgufType::Int32:
  case GgufType::Float32:
    return 4;
  case GgufType::UInt64:
  case GgufType::Int64:
  case GgufType::Float64:
    return 8;
  case GgufType::String:
  case GgufType::Array:
    return 0;
  }
  return 0;
}

bool knownType(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::Float64); }

/// Decodes one scalar (not String/Array) at p into kv.
void decodeScalar(GgufType t, const uint8_t *p, int64_t &i, uint64_t &u,
                  double &f) {
  switch (t) {
  case GgufType::UInt8: u = p[0]; i = static_cast<int64_t>(u); break;
  case GgufType::Int8: {
    int8_t v; std::memcpy(&v, p, 1); i = v; u = static_cast<uint64_t>(i); break;
  }
  case GgufType::Bool: u = p[0] ? 1 : 0; i = static_cast<int64_t>(u); break;
  case GgufType::UInt16: {
    uint16_t v; std::memcpy(&v, p, 2); u = v; i = v; break;
  }
  case GgufType::Int16: {
    int16_t v; std::memcpy(&v, p, 2); i = v; u = static_cast<uint64_t>(i); break;
  }
  case GgufType::UInt32: {
    uint32_t v; std::memcpy(&v, p, 4); u = v; i = v; break;
  }
  case GgufType::Int32: {
    int32_t v; std::memcpy(&v, p, 4); i = v; u = static_cast<uint64_t>(i); break;
  }
  case GgufType::UInt64: {
    uint64_t v; std::memcpy(&v, p, 8); u = v; i = static_cast<int64_t>(v); break;
  }
  case GgufType::Int64: {
    int64_t v; std::memcpy(&v, p, 8); i = v; u = static_cast<uint64_t>(v); break;
  }
  case GgufType::Float32: {
    float v; std::memcpy(&v, p, 4); f = v; break;
  }
  case GgufType::Float64: {
    double v; std::memcpy(&v, p, 8); f = v; break;
  }
  case GgufType::String:
  case GgufType::Array:
    break;
  }
}

bool isInteger(GgufType t) {
  switch (t) {
  case GgufType::UInt8: case GgufType::Int8: case GgufType::UInt16:
  case GgufType::Int16: case GgufType::UInt32: case GgufType::Int32:
  case GgufType::UInt64: case GgufType::Int64:
    return true;
  default:
    return false;
  }
}
bool isSigned(GgufType t) {
  return t == GgufType::Int8 || t == GgufType::Int16 || t == GgufType::Int32 ||
         t == GgufType::Int64;
}

/// Skips (validating) the elements of an array; string elements of the top
/// level are collected into `strs` when non-null.
bool parseArrayBody(Reader &r, uint32_t elemType, uint64_t count,
                    uint64_t typeOffset, int depth,
                    std::vector<std::string_view> *strs) {
  if (!knownType(elemType))
    return r.fail(typeOffset, "unknown array element type " + num(elemType));
  uint64_t countOffset = typeOffset + 4;
  GgufType et = static_cast<GgufType>(elemType);
  if (uint64_t sz = scalarSize(elemType)) {
    if (count > r.remaining() / sz)
      return r.fail(countOffset, "array count " + num(count) + " of " +
                                     toString(et) + " needs more than the " +
                                     num(r.remaining()) +
                                     " bytes left in the file");
    return r.skip(count * sz, "array elements");
  }
  if (et == GgufType::String) {
    // Each string needs at least its 8-byte length.
    if (count > r.remaining() / 8)
      return r.fail(countOffset, "array count " + num(count) +
                                     " of string needs more than the " +
                                     num(r.remaining()) +
                                     " bytes left in the file");
    if (strs)
      strs->reserve(static_cast<size_t>(count));
    for (uint64_t k = 0; k < count; ++k) {
      std::string_view s;
      if (!r.readString(s, "array string"))
        return false;
      if (strs)
        strs->push_back(s);
    }
    return true;
  }
  // Array of arrays: each needs at least 12 bytes (type + count).
  if (depth >= kMaxArrayDepth)
    return r.fail(typeOffset, "arrays nested deeper than " +
                                  num(kMaxArrayDepth));
  if (count > r.remaining() / 12)
    return r.fail(countOffset, "array count " + num(count) +
                                   " of array needs more than the " +
                                   num(r.remaining()) +
                                   " bytes left in the file");
  for (uint64_t k = 0; k < count; ++k) {
    uint64_t at = r.pos();
    uint32_t t;
    uint64_t n;
    if (!r.read(t, "nested array type") || !r.read(n, "nested array count"))
      return false;
    if (!parseArrayBody(r, t, n, at, depth + 1, nullptr))
      return false;
  }
  return true;
}

bool parseValue(Reader &r, GgufKV &kv) {
  uint64_t typeAt = r.pos();
  uint32_t type;
  if (!r.read(type, "metadata value type"))
    return false;
  if (!knownType(type))
    return r.fail(typeAt, "unknown metadata value type " + num(type) +
                              " for key '" + std::string(kv.key) + "'");
  kv.type = static_cast<GgufType>(type);
  kv.valueOffset = r.pos();
  if (kv.type == GgufType::String)
    return r.readString(kv.str, "metadata string");
  if (kv.type == GgufType::Array) {
    uint32_t et;
    uint64_t n;
    if (!r.read(et, "array element type") || !r.read(n, "array count"))
      return false;
    kv.elemType = static_cast<GgufType>(et);
    kv.count = n;
    kv.dataOffset = r.pos();
    return parseArrayBody(r, et, n, kv.valueOffset, 1,
                          et == static_cast<uint32_t>(GgufType::String)
                              ? &kv.strs
                              : nullptr);
  }
  uint64_t sz = scalarSize(type);
  if (!r.need(sz, "metadata value"))
    return false;
  decodeScalar(kv.type, r.data() + r.pos(), kv.i, kv.u, kv.f);
  return r.skip(sz, "metadata value");
}

bool mulOverflow(uint64_t a, uint64_t b, uint64_t &out) {
  return __builtin_mul_overflow(a, b, &out);
}

} // namespace

const char *toString(GgufType t) {
  switch (t) {
  case GgufType::UInt8: return "uint8";
  case GgufType::Int8: return "int8";
  case GgufType::UInt16: return "uint16";
  case GgufType::Int16: return "int16";
  case GgufType::UInt32: return "uint32";
  case GgufType::Int32: return "int32";
  case GgufType::Float32: return "float32";
  case GgufType::Bool: return "bool";
  case GgufType::String: return "string";
  case GgufType::Array: return "array";
  case GgufType::UInt64: return "uint64";
  case GgufType::Int64: return "int64";
  case GgufType::Float64: return "float64";
  }
  return "?";
}

const char *toString(GgmlType t) {
  switch (t) {
  case GgmlType::F32: return "f32";
  case GgmlType::F16: return "f16";
  case GgmlType::Q4_0: return "q4_0";
  case GgmlType::Q4_1: return "q4_1";
  case GgmlType::Q5_0: return "q5_0";
  case GgmlType::Q5_1: return "q5_1";
  case GgmlType::Q8_0: return "q8_0";
  case GgmlType::Q8_1: return "q8_1";
  case GgmlType::Q2_K: return "q2_k";
  case GgmlType::Q3_K: return "q3_k";
  case GgmlType::Q4_K: return "q4_k";
  case GgmlType::Q5_K: return "q5_k";
  case GgmlType::Q6_K: return "q6_k";
  case GgmlType::Q8_K: return "q8_k";
  case GgmlType::I8: return "i8";
  case GgmlType::I16: return "i16";
  case GgmlType::I32: return "i32";
  case GgmlType::I64: return "i64";
  case GgmlType::F64: return "f64";
  case GgmlType::BF16: return "bf16";
  }
  return "?";
}

bool ggmlBlockInfo(uint32_t type, uint64_t &blockElems, uint64_t &blockBytes) {
  struct Info { uint64_t elems, bytes; };
  Info info;
  switch (static_cast<GgmlType>(type)) {
  case GgmlType::F32: info = {1, 4}; break;
  case GgmlType::F16: info = {1, 2}; break;
  case GgmlType::BF16: info = {1, 2}; break;
  case GgmlType::Q4_0: info = {32, 18}; break;
  case GgmlType::Q4_1: info = {32, 20}; break;
  case GgmlType::Q5_0: info = {32, 22}; break;
  case GgmlType::Q5_1: info = {32, 24}; break;
  case GgmlType::Q8_0: info = {32, 34}; break;
  case GgmlType::Q8_1: info = {32, 36}; break;
  case GgmlType::Q2_K: info = {256, 84}; break;
  case GgmlType::Q3_K: info = {256, 110}; break;
  case GgmlType::Q4_K: info = {256, 144}; break;
  case GgmlType::Q5_K: info = {256, 176}; break;
  case GgmlType::Q6_K: info = {256, 210}; break;
  case GgmlType::Q8_K: info = {256, 292}; break;
  case GgmlType::I8: info = {1, 1}; break;
  case GgmlType::I16: info = {1, 2}; break;
  case GgmlType::I32: info = {1, 4}; break;
  case GgmlType::I64: info = {1, 8}; break;
  case GgmlType::F64: info = {1, 8}; break;
  default:
    return false;
  }
  blockElems = info.elems;
  blockBytes = info.bytes;
  return true;
}

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
    bits = sign | (static_cast<uint32_t>(112 - e) << 23) |
           ((mant & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bf16ToFloat(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

bool ggmlToF32(GgmlType type, const uint8_t *src, uint64_t count, float *dst) {
  switch (type) {
  case GgmlType::F32:
    std::memcpy(dst, src, count * 4);
    return true;
  case GgmlType::F16:
    for (uint64_t k = 0; k < count; ++k) {
      uint16_t h;
      std::memcpy(&h, src + 2 * k, 2);
      dst[k] = halfToFloat(h);
    }
    return true;
  case GgmlType::BF16:
    for (uint64_t k = 0; k < count; ++k) {
      uint16_t h;
      std::memcpy(&h, src + 2 * k, 2);
      dst[k] = bf16ToFloat(h);
    }
    return true;
  case GgmlType::Q8_0: {
    // block_q8_0 { f16 d; int8 qs[32]; }: x = d * q.
    if (count % 32 != 0)
      return false;
    for (uint64_t blk = 0; blk < count / 32; ++blk) {
      const uint8_t *p = src + blk * 34;
      uint16_t dh;
      std::memcpy(&dh, p, 2);
      float d = halfToFloat(dh);
      for (int k = 0; k < 32; ++k) {
        int8_t q;
        std::memcpy(&q, p + 2 + k, 1);
        dst[blk * 32 + k] = d * static_cast<float>(q);
      }
    }
    return true;
  }
  default:
    return false;
  }
}

GgufFile::~GgufFile() { reset(); }

GgufFile::GgufFile(GgufFile &&other) noexcept { *this = std::move(other); }

GgufFile &GgufFile::operator=(GgufFile &&other) noexcept {
  if (this == &other)
    return *this;
  reset();
  data_ = other.data_;
  size_ = other.size_;
  mapping_ = other.mapping_;
  mappingSize_ = other.mappingSize_;
  version_ = other.version_;
  alignment_ = other.alignment_;
  dataOffset_ = other.dataOffset_;
  kvs_ = std::move(other.kvs_);
  tensors_ = std::move(other.tensors_);
  kvIndex_ = std::move(other.kvIndex_);
  tensorIndex_ = std::move(other.tensorIndex_);
  other.mapping_ = nullptr;
  other.mappingSize_ = 0;
  other.data_ = nullptr;
  other.size_ = 0;
  other.kvs_.clear();
  other.tensors_.clear();
  other.kvIndex_.clear();
  other.tensorIndex_.clear();
  return *this;
}

void GgufFile::reset() {
  if (mapping_)
    munmap(mapping_, mappingSize_);
  mapping_ = nullptr;
  mappingSize_ = 0;
  data_ = nullptr;
  size_ = 0;
  version_ = 0;
  alignment_ = 32;
  dataOffset_ = 0;
  kvs_.clear();
  tensors_.clear();
  kvIndex_.clear();
  tensorIndex_.clear();
}

bool GgufFile::open(const std::string &path, std::string &error) {
  reset();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = path + ": not a regular file";
    ::close(fd);
    return false;
  }
  size_t size = static_cast<size_t>(st.st_size);
  static const uint8_t kEmpty[1] = {0};
  const void *bytes = kEmpty;
  if (size > 0) {
    void *m = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      error = path + ": cannot map: " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    bytes = m;
  }
  ::close(fd);
  std::string err;
  if (!parse(bytes, size, err)) {
    if (size > 0)
      munmap(const_cast<void *>(bytes), size);
    error = path + ": " + err;
    return false;
  }
  if (size > 0) {
    mapping_ = const_cast<void *>(bytes);
    mappingSize_ = size;
  }
  return true;
}

bool GgufFile::parse(const void *data, size_t size, std::string &error) {
  reset();
  if (parseImpl(data, size, error))
    return true;
  reset();
  return false;
}

bool GgufFile::parseImpl(const void *data, size_t size, std::string &error) {
  const uint8_t *bytes = static_cast<const uint8_t *>(data);
  Reader r(bytes, size, error);

  char magic[4];
  if (!r.read(magic, "magic"))
    return false;
  if (std::memcmp(magic, "GGUF", 4) != 0)
    return r.fail(0, "bad magic (not a GGUF file)");
  uint32_t version;
  if (!r.read(version, "version"))
    return false;
  if (version == 0x02000000u || version == 0x03000000u)
    return r.fail(4, "big-endian GGUF is not supported");
  if (version != 2 && version != 3)
    return r.fail(4, "unsupported GGUF version " + num(version) +
                         " (expected 2 or 3)");
  uint64_t tensorCount, kvCount;
  if (!r.read(tensorCount, "tensor count") || !r.read(kvCount, "metadata count"))
    return false;
  // Minimum record sizes: a KV is key length (8) + type (4) + a 1-byte value;
  // a tensor info is name length (8) + n_dims (4) + type (4) + offset (8).
  if (kvCount > r.remaining() / 13)
    return r.fail(16, "metadata count " + num(kvCount) +
                          " cannot fit in the " + num(size) + "-byte file");
  if (tensorCount > r.remaining() / 24)
    return r.fail(8, "tensor count " + num(tensorCount) +
                         " cannot fit in the " + num(size) + "-byte file");

  kvs_.reserve(static_cast<size_t>(kvCount));
  for (uint64_t k = 0; k < kvCount; ++k) {
    GgufKV kv;
    kv.keyOffset = r.pos();
    if (!r.readString(kv.key, "metadata key") || !parseValue(r, kv))
      return false;
    if (kvIndex_.count(kv.key))
      return r.fail(kv.keyOffset,
                    "duplicate metadata key '" + std::string(kv.key) + "'");
    kvs_.push_back(std::move(kv));
    kvIndex_.emplace(kvs_.back().key, kvs_.size() - 1);
  }

  if (const GgufKV *a = find("general.alignment")) {
    if (a->type != GgufType::UInt32)
      return r.fail(a->valueOffset, std::string("general.alignment must be "
                                                "uint32, not ") +
                                        toString(a->type));
    if (a->u == 0 || (a->u & (a->u - 1)) != 0)
      return r.fail(a->valueOffset, "general.alignment " + num(a->u) +
                                        " is not a power of two");
    alignment_ = a->u;
  }

  tensors_.reserve(static_cast<size_t>(tensorCount));
  std::vector<uint64_t> relOffsets;
  std::vector<uint64_t> offsetFieldAt;
  relOffsets.reserve(static_cast<size_t>(tensorCount));
  offsetFieldAt.reserve(static_cast<size_t>(tensorCount));
  for (uint64_t k = 0; k < tensorCount; ++k) {
    GgufTensor t;
    t.infoOffset = r.pos();
    if (!r.readString(t.name, "tensor name"))
      return false;
    std::string quoted = "tensor '" + std::string(t.name) + "'";
    uint64_t dimsAt = r.pos();
    uint32_t nDims;
    if (!r.read(nDims, "tensor n_dims"))
      return false;
    if (nDims == 0 || nDims > kMaxDims)
      return r.fail(dimsAt, quoted + " has " + num(nDims) +
                                " dimensions (expected 1 to " +
                                num(kMaxDims) + ")");
    uint64_t elems = 1;
    for (uint32_t d = 0; d < nDims; ++d) {
      uint64_t at = r.pos();
      uint64_t dim;
      if (!r.read(dim, "tensor dimension"))
        return false;
      if (dim == 0)
        return r.fail(at, quoted + " has a zero dimension");
      if (mulOverflow(elems, dim, elems) || elems > (uint64_t(1) << 61))
        return r.fail(at, quoted + " has too many elements");
      t.dims.push_back(dim);
    }
    t.numElements = elems;
    uint64_t typeAt = r.pos();
    if (!r.read(t.type, "tensor type"))
      return false;
    uint64_t be, bb;
    if (!ggmlBlockInfo(t.type, be, bb))
      return r.fail(typeAt, quoted + " has unknown ggml type " + num(t.type));
    if (t.dims[0] % be != 0)
      return r.fail(dimsAt, quoted + " first dimension " + num(t.dims[0]) +
                                " is not a multiple of the " +
                                toString(static_cast<GgmlType>(t.type)) +
                                " block size " + num(be));
    t.size = elems / be * bb; // elems < 2^61, bb < 2^9: no overflow.
    uint64_t offAt = r.pos();
    uint64_t rel;
    if (!r.read(rel, "tensor offset"))
      return false;
    if (rel % alignment_ != 0)
      return r.fail(offAt, quoted + " data offset " + num(rel) +
                               " is not a multiple of the alignment " +
                               num(alignment_));
    if (tensorIndex_.count(t.name))
      return r.fail(t.infoOffset, "duplicate " + quoted);
    tensors_.push_back(std::move(t));
    tensorIndex_.emplace(tensors_.back().name, tensors_.size() - 1);
    relOffsets.push_back(rel);
    offsetFieldAt.push_back(offAt);
  }

  // The data section starts at the next multiple of the alignment.
  uint64_t end = r.pos();
  uint64_t pad = (alignment_ - end % alignment_) % alignment_;
  dataOffset_ = end + pad;
  if (tensorCount > 0 && dataOffset_ > size)
    return r.fail(end, "file truncated: data section at byte " +
                           num(dataOffset_) + " is past the end of the " +
                           num(size) + "-byte file");
  uint64_t dataSize = dataOffset_ <= size ? size - dataOffset_ : 0;
  for (size_t k = 0; k < tensors_.size(); ++k) {
    GgufTensor &t = tensors_[k];
    if (relOffsets[k] > dataSize || t.size > dataSize - relOffsets[k])
      return r.fail(offsetFieldAt[k],
                    "tensor '" + std::string(t.name) + "' data [" +
                        num(dataOffset_) + " + " + num(relOffsets[k]) +
                        ", +" + num(t.size) + " bytes) extends past the end "
                        "of the " + num(size) + "-byte file");
    t.offset = dataOffset_ + relOffsets[k];
  }

  data_ = bytes;
  size_ = size;
  version_ = version;
  return true;
}

const GgufKV *GgufFile::find(std::string_view key) const {
  auto it = kvIndex_.find(key);
  return it == kvIndex_.end() ? nullptr : &kvs_[it->second];
}

const GgufTensor *GgufFile::findTensor(std::string_view name) const {
  auto it = tensorIndex_.find(name);
  return it == tensorIndex_.end() ? nullptr : &tensors_[it->second];
}

std::optional<std::string_view> GgufFile::getString(std::string_view key) const {
  const GgufKV *kv = find(key);
  if (!kv || kv->type != GgufType::String)
    return std::nullopt;
  return kv->str;
}

std::optional<int64_t> GgufFile::getInt(std::string_view key) const {
  const GgufKV *kv = find(key);
  if (!kv || !(isInteger(kv->type) || kv->type == GgufType::Bool))
    return std::nullopt;
  if (kv->type == GgufType::UInt64 && kv->u > uint64_t(INT64_MAX))
    return std::nullopt;
  return kv->i;
}

std::optional<uint64_t> GgufFile::getUInt(std::string_view key) const {
  const GgufKV *kv = find(key);
  if (!kv || !isInteger(kv->type))
    return std::nullopt;
  if (isSigned(kv->type) && kv->i < 0)
    return std::nullopt;
  return kv->u;
}

std::optional<double> GgufFile::getFloat(std::string_view key) const {
  const GgufKV *kv = find(key);
  if (!kv)
    return std::nullopt;
  if (kv->type == GgufType::Float32 || kv->type == GgufType::Float64)
    return kv->f;
  if (isInteger(kv->type))
    return isSigned(kv->type) ? static_cast<double>(kv->i)
                              : static_cast<double>(kv->u);
  return std::nullopt;
}

std::optional<bool> GgufFile::getBool(std::string_view key) const {
  const GgufKV *kv = find(key);
  if (!kv || kv->type != GgufType::Bool)
    return std::nullopt;
  return kv->u != 0;
}

bool GgufFile::getStringArray(std::string_view key,
                              std::vector<std::string_view> &out) const {
  const GgufKV *kv = find(key);
  if (!kv || kv->type != GgufType::Array || kv->elemType != GgufType::String)
    return false;
  out = kv->strs;
  return true;
}

bool GgufFile::getFloatArray(std::string_view key,
                             std::vector<float> &out) const {
  const GgufKV *kv = find(key);
  if (!kv || kv->type != GgufType::Array)
    return false;
  GgufType et = kv->elemType;
  if (!(et == GgufType::Float32 || et == GgufType::Float64 || isInteger(et)))
    return false;
  uint64_t sz = scalarSize(static_cast<uint32_t>(et));
  out.resize(static_cast<size_t>(kv->count));
  const uint8_t *p = data_ + kv->dataOffset;
  for (uint64_t k = 0; k < kv->count; ++k) {
    int64_t i = 0;
    uint64_t u = 0;
    double f = 0;
    decodeScalar(et, p + k * sz, i, u, f);
    if (et == GgufType::Float32 || et == GgufType::Float64)
      out[k] = static_cast<float>(f);
    else
      out[k] = isSigned(et) ? static_cast<float>(i) : static_cast<float>(u);
  }
  return true;
}

bool GgufFile::getIntArray(std::string_view key,
                           std::vector<int64_t> &out) const {
  const GgufKV *kv = find(key);
  if (!kv || kv->type != GgufType::Array)
    return false;
  GgufType et = kv->elemType;
  if (!(isInteger(et) || et == GgufType::Bool))
    return false;
  uint64_t sz = scalarSize(static_cast<uint32_t>(et));
  out.resize(static_cast<size_t>(kv->count));
  const uint8_t *p = data_ + kv->dataOffset;
  for (uint64_t k = 0; k < kv->count; ++k) {
    int64_t i = 0;
    uint64_t u = 0;
    double f = 0;
    decodeScalar(et, p + k * sz, i, u, f);
    out[k] = i;
  }
  return true;
}

} // namespace rt
} // namespace tfm
