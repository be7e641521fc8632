//===- Checkpoint.h - A checkpoint's tensors, mapped once -------*- C++ -*-===//
//
// One class for the three checkpoint formats tfmc reads. A Checkpoint maps
// the file read-only once (mapFile), validates every offset and size against
// it, and then lists tensors with row-major shapes (outermost dimension
// first, whatever the format's own order) and absolute byte ranges.
//
//   llama2.c `.bin`: tensors by the names of llama2.c's TransformerWeights
//     fields, with the layer for the per-layer ones (`token_embedding_table`,
//     `rms_att_weight.3`, `wq.3`, `w1.3`, `rms_final_weight`, `wcls` when
//     untied). The compiler maps its canonical names to these, as to every
//     format's, in one table (compiler/lib/Frontend/DefaultBindings.cpp).
//   GGUF: tensors by their GGUF names; metadata through gguf().
//   safetensors: a `.safetensors` file, or a directory holding
//     `model.safetensors`; tensors by their names.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FORMATS_CHECKPOINT_H
#define TFM_FORMATS_CHECKPOINT_H

#include "tfm/Formats/Files.h"
#include "tfm/Formats/Gguf.h"

#include "tfm/Formats/Encodings.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tfm::formats {

/// Element types a checkpoint's tensors may have (all convert to f32): the
/// encodings table's rows (Encodings.h).
using DType = Encoding;
const char *toString(DType t);

/// IEEE binary16 and bfloat16 bit patterns to float.
float halfToFloat(uint16_t h);
float bf16ToFloat(uint16_t b);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape; ///< Row-major, outermost first.
  uint64_t offset = 0;        ///< Absolute byte offset in the file.
  unsigned shard = 0;         ///< File of a sharded safetensors checkpoint.
  uint64_t size = 0;          ///< Byte size.
  int64_t numElements() const;
};

/// Formats a shape as "[2, 3]".
std::string shapeString(llvm::ArrayRef<int64_t> shape);

/// The 7 x int32 header of a llama2.c checkpoint (legacy or version 1).
struct Llama2cHeader {
  int32_t dim = 0, hiddenDim = 0, numLayers = 0, numHeads = 0, numKvHeads = 0;
  int32_t vocabSize = 0; ///< Absolute value; see `sharedClassifier`.
  int32_t seqLen = 0;
  bool sharedClassifier = true; ///< Legacy: vocab_size was positive.
  int32_t version = 0;          ///< 0: legacy header; 1: "ak42" version 1.
};

class Checkpoint {
public:
  enum class Format { Llama2c, Gguf, Safetensors };

  /// Opens `path` as `format` and validates its structure. A safetensors
  /// `path` may be the directory holding `model.safetensors`, or (sharded,
  /// as Hugging Face saves large models) `model.safetensors.index.json`
  /// whose weight_map names the shard of every tensor; an index file may
  /// also be given itself. Errors start
  /// with the file's path and name byte offsets.
  static llvm::Expected<std::unique_ptr<Checkpoint>> open(llvm::StringRef path,
                                                          Format format);
  /// Opens `path` in the format its name and content say: a directory or a
  /// `.safetensors` file is safetensors, a `.gguf` file or one that starts
  /// with "GGUF" is GGUF, a `.bin` file is llama2.c.
  static llvm::Expected<std::unique_ptr<Checkpoint>> open(llvm::StringRef path);

  Format getFormat() const { return format; }
  /// The file that was mapped (for a safetensors directory, the file in it;
  /// for sharded safetensors, the index).
  llvm::StringRef getPath() const { return path; }
  /// The file holding tensor `t` (getPath() unless sharded).
  llvm::StringRef getPath(const TensorInfo &t) const;
  llvm::ArrayRef<TensorInfo> getTensors() const { return tensors; }
  /// nullptr when absent.
  const TensorInfo *find(llvm::StringRef name) const;

  /// Converts elements [first, first + out.size()) of `t` (row-major) to
  /// f32 into `out`. The file's size is checked again first: a file
  /// truncated while mapped is an error naming the tensor and its byte
  /// offset, not a SIGBUS. (Between that check and the read the file could
  /// still shrink: the copy runs under llvm::CrashRecoveryContext, which
  /// turns the fault into the same error when the program has called
  /// CrashRecoveryContext::Enable(), as tfmc does while writing weights.)
  llvm::Error readF32(const TensorInfo &t, llvm::MutableArrayRef<float> out,
                      uint64_t first = 0) const;

  /// Copies the stored bytes [first, first + out.size()) of `t` (its
  /// encoding as the file has it: q8_0 blocks, f16 values, ...) into `out`,
  /// with readF32's checks: the tensor's size against its type and the
  /// file, and the file's size again before the copy.
  llvm::Error readBytes(const TensorInfo &t, llvm::MutableArrayRef<uint8_t> out,
                        uint64_t first = 0) const;

  /// Releases the mapped pages of elements [first, first + count) of `t`
  /// from the process (MappedFile::releasePages): a weights writer that has
  /// converted them keeps the resident set flat.
  void releasePages(const TensorInfo &t, uint64_t first, uint64_t count) const;

  /// The parsed GGUF file (metadata), or nullptr for other formats.
  const GgufFile *getGguf() const { return gguf ? &*gguf : nullptr; }
  /// The llama2.c header, or nullptr for other formats.
  const Llama2cHeader *llama2c() const {
    return format == Format::Llama2c ? &header : nullptr;
  }
  /// The bytes of the mapped file (empty for sharded safetensors).
  llvm::StringRef bytes() const {
    return file ? file->bytes() : llvm::StringRef();
  }

private:
  Checkpoint() = default;
  static llvm::Expected<std::unique_ptr<Checkpoint>>
  parse(std::string path, MappedFile file, Format format);
  llvm::Error parseLlama2c();
  llvm::Error parseGguf();
  /// Reads the safetensors header of `bytes` (shard `shard`).
  llvm::Error parseSafetensors(llvm::StringRef bytes, unsigned shard);
  /// Opens the shards an index names and checks them against it.
  static llvm::Expected<std::unique_ptr<Checkpoint>>
  openShardedSafetensors(llvm::StringRef indexPath);
  llvm::Error addTensor(TensorInfo t);
  llvm::Error readChecked(const TensorInfo &t, uint64_t to,
                          llvm::function_ref<void(const uint8_t *)> copy) const;
  /// The mapping that holds tensor `t`.
  const MappedFile &fileOf(const TensorInfo &t) const;

  Format format = Format::Llama2c;
  std::string path;
  std::optional<MappedFile> file;
  /// Sharded safetensors: every shard's path and mapping (file_ is empty).
  std::vector<std::pair<std::string, MappedFile>> shards;
  std::vector<TensorInfo> tensors;
  llvm::StringMap<size_t> index;
  std::optional<GgufFile> gguf;
  Llama2cHeader header;
};

} // namespace tfm::formats

#endif // TFM_FORMATS_CHECKPOINT_H
