//===- Checkpoint.cpp - Memory-mapped view of a checkpoint's tensors ------===//
//
// Format-independent parts of Checkpoint and the GGUF reader (a thin layer
// over tfm::rt::GgufFile). llama2.c and safetensors are in Llama2c.cpp and
// Safetensors.cpp.
//
//===----------------------------------------------------------------------===//

#include "tfm/Frontend/Checkpoint.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using llvm::Error;
using llvm::Expected;

namespace tfm {

const char *toString(DType t) {
  switch (t) {
  case DType::F32: return "f32";
  case DType::F16: return "f16";
  case DType::BF16: return "bf16";
  case DType::Q8_0: return "q8_0";
  }
  return "?";
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

Expected<std::unique_ptr<Checkpoint>> Checkpoint::open(llvm::StringRef path,
                                                        CheckpointFormat format) {
  std::unique_ptr<Checkpoint> ckpt(new Checkpoint());
  ckpt->format_ = format;
  std::string file = path.str();
  if (format == CheckpointFormat::Safetensors && llvm::sys::fs::is_directory(path)) {
    llvm::SmallString<256> p(path);
    llvm::sys::path::append(p, "model.safetensors");
    file = std::string(p);
  }
  ckpt->path_ = file;
  if (format != CheckpointFormat::Llama2c && format != CheckpointFormat::Gguf &&
      format != CheckpointFormat::Safetensors)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "%s: no checkpoint file for format '%s'",
                                   file.c_str(), toString(format));
  // Not volatile: the mapping is read-only and the file should not change
  // while we compile.
  auto buf = llvm::MemoryBuffer::getFile(file, /*IsText=*/false,
                                         /*RequiresNullTerminator=*/false);
  if (!buf)
    return llvm::createStringError(buf.getError(), "%s: cannot open: %s",
                                   file.c_str(),
                                   buf.getError().message().c_str());
  ckpt->buffer_ = std::move(*buf);
  Error err = Error::success();
  switch (format) {
  case CheckpointFormat::Llama2c:
    err = ckpt->parseLlama2c();
    break;
  case CheckpointFormat::Gguf:
    err = ckpt->parseGguf();
    break;
  default:
    err = ckpt->parseSafetensors();
    break;
  }
  if (err)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   file + ": " + llvm::toString(std::move(err)));
  return ckpt;
}

Error Checkpoint::addTensor(TensorInfo t) {
  if (index_.count(t.name))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "duplicate tensor '%s'", t.name.c_str());
  index_[t.name] = tensors_.size();
  tensors_.push_back(std::move(t));
  return Error::success();
}

const TensorInfo *Checkpoint::find(llvm::StringRef name) const {
  auto it = index_.find(name);
  if (it != index_.end())
    return &tensors_[it->second];
  if (format_ != CheckpointFormat::Llama2c)
    return nullptr;
  // llama2.c field names (TransformerWeights), with ".<layer>" for the
  // per-layer fields.
  static const std::pair<const char *, const char *> kTop[] = {
      {"token_embedding_table", "tok_embeddings.weight"},
      {"rms_final_weight", "final_norm.weight"},
      {"wcls", "lm_head.weight"}};
  for (auto &[alias, canon] : kTop)
    if (name == alias)
      return find(canon);
  static const std::pair<const char *, const char *> kLayer[] = {
      {"rms_att_weight", "attn_norm"}, {"rms_ffn_weight", "ffn_norm"},
      {"wq", "wq"}, {"wk", "wk"}, {"wv", "wv"}, {"wo", "wo"},
      {"w1", "w1"}, {"w2", "w2"}, {"w3", "w3"}};
  auto [field, layer] = name.rsplit('.');
  unsigned idx;
  if (layer.empty() || layer.getAsInteger(10, idx))
    return nullptr;
  for (auto &[alias, canon] : kLayer)
    if (field == alias) {
      std::string c = "layers." + layer.str() + "." + canon + ".weight";
      auto it2 = index_.find(c);
      return it2 == index_.end() ? nullptr : &tensors_[it2->second];
    }
  return nullptr;
}

Error Checkpoint::readF32(const TensorInfo &t,
                          llvm::MutableArrayRef<float> out) const {
  int64_t n = t.numElements();
  if (static_cast<int64_t>(out.size()) != n)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "%s: tensor '%s' has %lld elements, destination holds %zu",
        path_.c_str(), t.name.c_str(), static_cast<long long>(n), out.size());
  if (t.offset > bytes().size() || t.size > bytes().size() - t.offset)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "%s: tensor '%s' at byte %llu is outside "
                                   "the file",
                                   path_.c_str(), t.name.c_str(),
                                   static_cast<unsigned long long>(t.offset));
  rt::GgmlType g = rt::GgmlType::F32;
  uint64_t elemBytes = 4;
  switch (t.dtype) {
  case DType::F32: g = rt::GgmlType::F32; elemBytes = 4; break;
  case DType::F16: g = rt::GgmlType::F16; elemBytes = 2; break;
  case DType::BF16: g = rt::GgmlType::BF16; elemBytes = 2; break;
  case DType::Q8_0: g = rt::GgmlType::Q8_0; elemBytes = 0; break;
  }
  uint64_t need = elemBytes ? static_cast<uint64_t>(n) * elemBytes
                            : static_cast<uint64_t>(n) / 32 * 34;
  if (need != t.size || (t.dtype == DType::Q8_0 && n % 32 != 0))
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "%s: tensor '%s' at byte %llu: %llu bytes do not hold %lld %s values",
        path_.c_str(), t.name.c_str(), static_cast<unsigned long long>(t.offset),
        static_cast<unsigned long long>(t.size), static_cast<long long>(n),
        toString(t.dtype));
  const uint8_t *src =
      reinterpret_cast<const uint8_t *>(bytes().data()) + t.offset;
  if (!rt::ggmlToF32(g, src, static_cast<uint64_t>(n), out.data()))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "%s: cannot convert tensor '%s' from %s",
                                   path_.c_str(), t.name.c_str(),
                                   toString(t.dtype));
  return Error::success();
}

Error Checkpoint::parseGguf() {
  gguf_ = std::make_unique<rt::GgufFile>();
  std::string err;
  if (!gguf_->parse(bytes().data(), bytes().size(), err))
    return llvm::createStringError(llvm::inconvertibleErrorCode(), err);
  for (const rt::GgufTensor &g : gguf_->tensors()) {
    TensorInfo t;
    t.name = std::string(g.name);
    switch (static_cast<rt::GgmlType>(g.type)) {
    case rt::GgmlType::F32: t.dtype = DType::F32; break;
    case rt::GgmlType::F16: t.dtype = DType::F16; break;
    case rt::GgmlType::BF16: t.dtype = DType::BF16; break;
    case rt::GgmlType::Q8_0: t.dtype = DType::Q8_0; break;
    default:
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "gguf: tensor '%s' (info at byte %llu) has type %s, which tfmc "
          "cannot read (supported: f32, f16, bf16, q8_0)",
          t.name.c_str(), static_cast<unsigned long long>(g.infoOffset),
          rt::toString(static_cast<rt::GgmlType>(g.type)));
    }
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

} // namespace tfm
