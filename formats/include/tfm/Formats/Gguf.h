//===- Gguf.h - Reader for GGUF files (versions 2 and 3) --------*- C++ -*-===//
//
// The one GGUF parser of the project: the checkpoint reader (Checkpoint.h)
// and the tokenizer loader (TokenizerFiles.h) both use it, on bytes mapped
// once.
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
// is used, and no two tensors' data may overlap; errors name the byte offset
// of the offending field, e.g.
// "gguf: tensor count 1099511627776 at byte 8 cannot fit in the 4096-byte
// file".
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FORMATS_GGUF_H
#define TFM_FORMATS_GGUF_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace tfm::formats {

/// Metadata value types (gguf_type), numbered 0 to 12 in this order.
enum class GgufType : uint32_t {
  UInt8,
  Int8,
  UInt16,
  Int16,
  UInt32,
  Int32,
  Float32,
  Bool,
  String,
  Array,
  UInt64,
  Int64,
  Float64,
};

/// Tensor element types (ggml_type). The parser accepts every type whose
/// block size it knows (see toString); the code names these, and tfmc reads
/// the types of the encodings table (Encodings.h).
enum class GgmlType : uint32_t { F32 = 0, F16 = 1, Q8_0 = 8, BF16 = 30 };

/// Name of a metadata type ("uint32", "string", ...), "?" when unknown.
const char *toString(GgufType t);
/// Name of a tensor type ("f32", "q8_0", ...), "?" when unknown.
const char *toString(GgmlType t);

/// One metadata key/value pair. Strings point into the file's bytes.
struct GgufKV {
  llvm::StringRef key;
  GgufType type = GgufType::UInt8;
  uint64_t keyOffset = 0;   ///< Byte offset of the key's length field.
  uint64_t valueOffset = 0; ///< Byte offset of the value (after the type).
  // Scalars (type != Array). Integer types fill both i and u (u is the raw
  // bit pattern for signed types), floats fill f, Bool fills u (0 or 1),
  // String fills str.
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  llvm::StringRef str;
  // Arrays (type == Array).
  GgufType elemType = GgufType::UInt8;
  uint64_t count = 0;
  uint64_t dataOffset = 0;           ///< Byte offset of the first element.
  std::vector<llvm::StringRef> strs; ///< Elements of a string array.
};

/// One tensor info with its data range resolved.
struct GgufTensor {
  llvm::StringRef name;
  uint64_t infoOffset = 0; ///< Byte offset of the tensor info record.
  GgmlType type = GgmlType::F32;
  std::vector<uint64_t> dims; ///< ggml order: dims[0] is the fastest-varying.
  uint64_t numElements = 0;
  uint64_t offset = 0; ///< Absolute byte offset of the data in the file.
  uint64_t size = 0;   ///< Byte size of the data.
};

/// A parsed GGUF file. It borrows the bytes it was parsed from: they must
/// outlive it.
class GgufFile {
public:
  /// Parses `bytes`. Errors start with "gguf: " and name a byte offset.
  static llvm::Expected<GgufFile> parse(llvm::StringRef bytes);

  uint32_t getVersion() const { return version; }
  uint64_t getAlignment() const { return alignment; }
  /// Absolute byte offset of the tensor data section.
  uint64_t getDataOffset() const { return dataOffset; }
  llvm::StringRef getBytes() const { return bytes; }

  llvm::ArrayRef<GgufKV> metadata() const { return kvs; }
  llvm::ArrayRef<GgufTensor> getTensors() const { return tensors; }

  /// nullptr when absent.
  const GgufKV *find(llvm::StringRef key) const;
  const GgufTensor *findTensor(llvm::StringRef name) const;

  // Typed scalar accessors; nullopt when the key is absent or its type does
  // not fit (getInt takes any integer type and Bool, getUInt any
  // non-negative integer, getFloat Float32/Float64 and integers).
  std::optional<llvm::StringRef> getString(llvm::StringRef key) const;
  std::optional<int64_t> getInt(llvm::StringRef key) const;
  std::optional<uint64_t> getUInt(llvm::StringRef key) const;
  std::optional<double> getFloat(llvm::StringRef key) const;
  std::optional<bool> getBool(llvm::StringRef key) const;

  // Array accessors; nullopt when absent or when the element type does not
  // fit (getFloatArray takes float and integer elements, getIntArray integer
  // and Bool elements).
  std::optional<llvm::ArrayRef<llvm::StringRef>>
  getStringArray(llvm::StringRef key) const;
  std::optional<std::vector<float>> getFloatArray(llvm::StringRef key) const;
  std::optional<std::vector<int64_t>> getIntArray(llvm::StringRef key) const;

  /// Raw bytes of a tensor (inside the file, bounds-checked at parse time).
  llvm::StringRef tensorData(const GgufTensor &t) const {
    return bytes.substr(t.offset, t.size);
  }

private:
  GgufFile() = default;
  llvm::Error parseAll();

  llvm::StringRef bytes;
  uint32_t version = 0;
  uint64_t alignment = 32;
  uint64_t dataOffset = 0;
  std::vector<GgufKV> kvs;
  std::vector<GgufTensor> tensors;
  llvm::StringMap<size_t> kvIndex;
  llvm::StringMap<size_t> tensorIndex;
};

} // namespace tfm::formats

#endif // TFM_FORMATS_GGUF_H
