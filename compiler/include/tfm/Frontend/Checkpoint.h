//===- Checkpoint.h - Memory-mapped view of a checkpoint's tensors --------===//
//
// One class for the three checkpoint formats tfmc reads. A Checkpoint maps
// the file read-only (llvm::MemoryBuffer), validates every offset and size
// against it once, and then lists tensors with row-major shapes (outermost
// dimension first, whatever the format's own order) and absolute byte ranges.
//
//   llama2.c `.bin`: tensors get canonical names (`tok_embeddings.weight`,
//     `layers.3.wq.weight`, `final_norm.weight`, `lm_head.weight` when
//     untied); llama2.c's own field names are accepted as aliases by find()
//     (`token_embedding_table`, `rms_att_weight.3`, `wq.3`, `w1.3`,
//     `rms_final_weight`, `wcls`).
//   GGUF: tensors by their GGUF names; metadata through gguf().
//   safetensors: a `.safetensors` file, or a directory holding
//     `model.safetensors`; tensors by their names.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FRONTEND_CHECKPOINT_H
#define TFM_FRONTEND_CHECKPOINT_H

#include "tfm/Frontend/ModelSpec.h"
#include "tfm/runtime/Gguf.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tfm {

/// A reader error with a plain message (readers put the file and byte
/// offset into the message themselves).
inline llvm::Error readerError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}


/// Element types tfmc can convert to f32.
enum class DType { F32, F16, BF16, Q8_0 };
const char *toString(DType t);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape; ///< Row-major, outermost first.
  uint64_t offset = 0;        ///< Absolute byte offset in the file.
  uint64_t size = 0;          ///< Byte size.
  int64_t numElements() const;
};

/// Formats a shape as "[2, 3]".
std::string shapeString(llvm::ArrayRef<int64_t> shape);

/// The 7 x int32 header of a llama2.c checkpoint.
struct Llama2cHeader {
  int32_t dim = 0, hiddenDim = 0, numLayers = 0, numHeads = 0, numKvHeads = 0;
  int32_t vocabSize = 0; ///< Absolute value; see `sharedClassifier`.
  int32_t seqLen = 0;
  bool sharedClassifier = true; ///< Header vocab_size was positive.
};

class Checkpoint {
public:
  /// Opens `path` as `format` (Llama2c, Gguf or Safetensors) and validates
  /// its structure. Errors start with the file's path and name byte offsets.
  static llvm::Expected<std::unique_ptr<Checkpoint>>
  open(llvm::StringRef path, CheckpointFormat format);

  CheckpointFormat format() const { return format_; }
  /// The file that was mapped (for a safetensors directory, the file in it).
  llvm::StringRef path() const { return path_; }
  llvm::ArrayRef<TensorInfo> tensors() const { return tensors_; }
  /// nullptr when absent (llama2.c also accepts its field-name aliases).
  const TensorInfo *find(llvm::StringRef name) const;

  /// Converts `t` to f32 into `out`, which must hold t.numElements() values.
  llvm::Error readF32(const TensorInfo &t,
                      llvm::MutableArrayRef<float> out) const;

  /// The parsed GGUF file (metadata), or nullptr for other formats.
  const rt::GgufFile *gguf() const { return gguf_.get(); }
  /// The llama2.c header, or nullptr for other formats.
  const Llama2cHeader *llama2c() const {
    return format_ == CheckpointFormat::Llama2c ? &header_ : nullptr;
  }
  llvm::StringRef bytes() const { return buffer_->getBuffer(); }

private:
  Checkpoint() = default;
  llvm::Error parseLlama2c();
  llvm::Error parseGguf();
  llvm::Error parseSafetensors();
  llvm::Error addTensor(TensorInfo t);

  CheckpointFormat format_ = CheckpointFormat::None;
  std::string path_;
  std::unique_ptr<llvm::MemoryBuffer> buffer_;
  std::vector<TensorInfo> tensors_;
  llvm::StringMap<size_t> index_;
  std::unique_ptr<rt::GgufFile> gguf_;
  Llama2cHeader header_;
};

} // namespace tfm

#endif // TFM_FRONTEND_CHECKPOINT_H
