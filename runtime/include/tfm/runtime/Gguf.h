//===- Gguf.h - Reader for GGUF files (versions 2 and 3) ------------------===//
//
// The one GGUF parser of the project. Plain C++17, no exceptions and no LLVM,
// so both the compiler's checkpoint importer and the runtime's tokenizer
// loader use it.
//
// Layout (little-endian; see ggml's docs/gguf.md):
//   magic "GGUF" | u32 version | u64 tensor_count | u64 metadata_kv_count |
//   metadata KVs { string key, u32 value_type, value } |
//   tensor infos { string name, u32 n_dims, u64 dims[n_dims] (fastest first),
//                  u32 ggml_type, u64 offset (relative to the data section) } |
//   padding to general.alignment (default 32) | tensor data.
// A string is u64 length + bytes (no terminator); an array is u32 element
// type + u64 count + elements.
//
// Every count, length and offset is checked against the file size before it
// is used; errors name the byte offset of the offending field, e.g.
// "gguf: tensor count 1099511627776 at byte 8 cannot fit in the 4096-byte file".
//
//===----------------------------------------------------------------------===//

#ifndef TFM_RUNTIME_GGUF_H
#define TFM_RUNTIME_GGUF_H

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tfm {
namespace rt {

/// Metadata value types (gguf_type).
enum class GgufType : uint32_t {
  UInt8 = 0,
  Int8 = 1,
  UInt16 = 2,
  Int16 = 3,
  UInt32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  UInt64 = 10,
  Int64 = 11,
  Float64 = 12,
};

/// Tensor element types (ggml_type). Only the ones whose block size we know
/// are accepted by the parser; only F32, F16, BF16 and Q8_0 can be converted
/// to f32 (see ggmlToF32).
enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  BF16 = 30,
};

/// Name of a metadata type ("uint32", "string", ...), "?" when unknown.
const char *toString(GgufType t);
/// Name of a tensor type ("f32", "q8_0", ...), "?" when unknown.
const char *toString(GgmlType t);

/// Elements per block and bytes per block of a tensor type; false when the
/// type is unknown. F32 is {1, 4}; Q8_0 is {32, 34}.
bool ggmlBlockInfo(uint32_t type, uint64_t &blockElems, uint64_t &blockBytes);

/// IEEE half / bfloat16 bit patterns to float.
float halfToFloat(uint16_t h);
float bf16ToFloat(uint16_t b);

/// Converts `count` elements of type `type` starting at `src` (little-endian
/// raw tensor bytes) to f32. Supports F32, F16, BF16 and Q8_0 (count must be
/// a multiple of 32 for Q8_0). Returns false for other types.
bool ggmlToF32(GgmlType type, const uint8_t *src, uint64_t count, float *dst);

/// One metadata key/value pair. Strings point into the file data.
struct GgufKV {
  std::string_view key;
  GgufType type = GgufType::UInt8;
  uint64_t keyOffset = 0;   ///< Byte offset of the key's length field.
  uint64_t valueOffset = 0; ///< Byte offset of the value (after the type).
  // Scalars (type != Array). Integer types fill both i and u (u is the raw
  // bit pattern for signed types), floats fill f, Bool fills u (0 or 1),
  // String fills str.
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  std::string_view str;
  // Arrays (type == Array).
  GgufType elemType = GgufType::UInt8;
  uint64_t count = 0;
  uint64_t dataOffset = 0;            ///< Byte offset of the first element.
  std::vector<std::string_view> strs; ///< Elements of a string array.
};

/// One tensor info with its data range resolved.
struct GgufTensor {
  std::string_view name;
  uint64_t infoOffset = 0;   ///< Byte offset of the tensor info record.
  uint32_t type = 0;         ///< A GgmlType value.
  std::vector<uint64_t> dims; ///< ggml order: dims[0] is the fastest-varying.
  uint64_t numElements = 0;
  uint64_t offset = 0;       ///< Absolute byte offset of the data in the file.
  uint64_t size = 0;         ///< Byte size of the data.
};

/// A parsed GGUF file. Owns a read-only memory mapping when opened with
/// `open`, or borrows the bytes given to `parse` (they must outlive it).
class GgufFile {
public:
  GgufFile() = default;
  ~GgufFile();
  GgufFile(GgufFile &&other) noexcept;
  GgufFile &operator=(GgufFile &&other) noexcept;
  GgufFile(const GgufFile &) = delete;
  GgufFile &operator=(const GgufFile &) = delete;

  /// Memory-maps and parses `path`. On failure returns false and sets
  /// `error` (which then starts with the path).
  bool open(const std::string &path, std::string &error);
  /// Parses `size` bytes at `data` (borrowed). On failure returns false and
  /// sets `error`.
  bool parse(const void *data, size_t size, std::string &error);

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  /// Absolute byte offset of the tensor data section.
  uint64_t dataOffset() const { return dataOffset_; }
  const uint8_t *data() const { return data_; }
  size_t size() const { return size_; }

  const std::vector<GgufKV> &metadata() const { return kvs_; }
  const std::vector<GgufTensor> &tensors() const { return tensors_; }

  /// nullptr when absent.
  const GgufKV *find(std::string_view key) const;
  const GgufTensor *findTensor(std::string_view name) const;

  // Typed scalar accessors; nullopt when the key is absent or its type does
  // not fit (getInt takes any integer type and Bool, getUInt any
  // non-negative integer, getFloat Float32/Float64 and integers).
  std::optional<std::string_view> getString(std::string_view key) const;
  std::optional<int64_t> getInt(std::string_view key) const;
  std::optional<uint64_t> getUInt(std::string_view key) const;
  std::optional<double> getFloat(std::string_view key) const;
  std::optional<bool> getBool(std::string_view key) const;

  // Array accessors; false when absent or when the element type does not
  // fit (getFloatArray takes float and integer elements, getIntArray integer
  // and Bool elements).
  bool getStringArray(std::string_view key,
                      std::vector<std::string_view> &out) const;
  bool getFloatArray(std::string_view key, std::vector<float> &out) const;
  bool getIntArray(std::string_view key, std::vector<int64_t> &out) const;

  /// Raw bytes of a tensor (inside the file, bounds-checked at parse time).
  const uint8_t *tensorData(const GgufTensor &t) const {
    return data_ + t.offset;
  }

private:
  void reset();
  bool parseImpl(const void *data, size_t size, std::string &error);

  const uint8_t *data_ = nullptr;
  size_t size_ = 0;
  void *mapping_ = nullptr; ///< Non-null when we own an mmap.
  size_t mappingSize_ = 0;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t dataOffset_ = 0;
  std::vector<GgufKV> kvs_;
  std::vector<GgufTensor> tensors_;
  std::unordered_map<std::string_view, size_t> kvIndex_;
  std::unordered_map<std::string_view, size_t> tensorIndex_;
};

} // namespace rt
} // namespace tfm

#endif // TFM_RUNTIME_GGUF_H
