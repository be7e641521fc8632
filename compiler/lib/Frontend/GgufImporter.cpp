//===- GgufImporter.cpp - ModelSpec from GGUF; format detection -----------===//
//
// GGUF hyper-parameters live in `<arch>.*` metadata keys (llama.cpp's
// convention): context_length, embedding_length, feed_forward_length,
// block_count, attention.head_count, attention.head_count_kv,
// attention.layer_norm_rms_epsilon (llama) / attention.layer_norm_epsilon
// (gpt2), rope.freq_base. The vocabulary size is the row count of
// token_embd.weight and must agree with tokenizer.ggml.tokens when present.
//
//===----------------------------------------------------------------------===//

#include "tfm/Frontend/Checkpoint.h"
#include "tfm/Frontend/DefaultBindings.h"
#include "tfm/Frontend/Importers.h"
#include "tfm/Frontend/Weights.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using llvm::Error;
using llvm::Expected;

namespace tfm {

namespace {

/// Reads `<arch>.<key>` metadata with messages naming the key and its byte.
class Meta {
public:
  Meta(const std::string &path, const rt::GgufFile &f, std::string arch)
      : path_(path), f_(f), arch_(std::move(arch)) {}

  std::string full(llvm::StringRef key) const { return arch_ + "." + key.str(); }

  Expected<int64_t> integer(llvm::StringRef key, int64_t def = -1) const {
    std::string k = full(key);
    const rt::GgufKV *kv = f_.find(k);
    if (!kv) {
      if (def < 0)
        return readerError(path_ + ": missing metadata key '" + k + "'");
      return def;
    }
    std::optional<int64_t> v = f_.getInt(k);
    if (!v || kv->type == rt::GgufType::Bool)
      return readerError(path_ + ": metadata key '" + k + "' at byte " +
                  llvm::Twine(kv->keyOffset) + " has type " +
                  rt::toString(kv->type) + ", expected an integer");
    if (*v <= 0 || *v > (int64_t(1) << 40))
      return readerError(path_ + ": metadata key '" + k + "' at byte " +
                  llvm::Twine(kv->keyOffset) + " is " + llvm::Twine(*v) +
                  ", expected a positive size");
    return *v;
  }

  Expected<double> number(llvm::StringRef key, double def) const {
    std::string k = full(key);
    const rt::GgufKV *kv = f_.find(k);
    if (!kv)
      return def;
    std::optional<double> v = f_.getFloat(k);
    if (!v)
      return readerError(path_ + ": metadata key '" + k + "' at byte " +
                  llvm::Twine(kv->keyOffset) + " has type " +
                  rt::toString(kv->type) + ", expected a number");
    return *v;
  }

private:
  const std::string &path_;
  const rt::GgufFile &f_;
  std::string arch_;
};

#define TFM_TRY(var, expr)                                                     \
  auto var##OrErr = (expr);                                                    \
  if (!var##OrErr)                                                             \
    return var##OrErr.takeError();                                             \
  auto var = *var##OrErr;

} // namespace

Expected<ModelSpec> importGguf(llvm::StringRef path,
                               const ImportOptions &options) {
  auto ckptOrErr = Checkpoint::open(path, CheckpointFormat::Gguf);
  if (!ckptOrErr)
    return ckptOrErr.takeError();
  const Checkpoint &ckpt = **ckptOrErr;
  const rt::GgufFile &f = *ckpt.gguf();
  const std::string p = path.str();

  std::optional<std::string_view> archSv = f.getString("general.architecture");
  if (!archSv)
    return readerError(p + ": missing metadata key 'general.architecture' (string)");
  std::string arch(*archSv);
  bool gpt2 = arch == "gpt2";
  if (arch != "llama" && !gpt2)
    return readerError(p + ": general.architecture '" + arch +
                "' is not supported (llama, gpt2)");
  Meta m(p, f, arch);

  TFM_TRY(ctx, m.integer("context_length"));
  TFM_TRY(dim, m.integer("embedding_length"));
  TFM_TRY(hidden, m.integer("feed_forward_length"));
  TFM_TRY(layers, m.integer("block_count"));
  TFM_TRY(heads, m.integer("attention.head_count"));
  TFM_TRY(kvHeads, m.integer("attention.head_count_kv", heads));
  if (dim % heads != 0)
    return readerError(p + ": " + m.full("attention.head_count") + " (" +
                llvm::Twine(heads) + ") does not divide " +
                m.full("embedding_length") + " (" + llvm::Twine(dim) + ")");

  // The vocabulary size comes from the embedding table.
  const TensorInfo *emb = ckpt.find("token_embd.weight");
  if (!emb)
    return readerError(p + ": missing tensor 'token_embd.weight'");
  if (emb->shape.size() != 2 || emb->shape[1] != dim)
    return readerError(p + ": tensor 'token_embd.weight' (data at byte " +
                llvm::Twine(emb->offset) + ") has shape " +
                shapeString(emb->shape) + ", expected [vocab, " +
                llvm::Twine(dim) + "] from " + m.full("embedding_length"));
  int64_t vocab = emb->shape[0];
  std::vector<std::string_view> tokens;
  if (f.getStringArray("tokenizer.ggml.tokens", tokens) &&
      static_cast<int64_t>(tokens.size()) != vocab)
    return readerError(p + ": tokenizer.ggml.tokens (at byte " +
                llvm::Twine(f.find("tokenizer.ggml.tokens")->keyOffset) +
                ") has " + llvm::Twine(tokens.size()) +
                " tokens but token_embd.weight has " + llvm::Twine(vocab) +
                " rows");

  ModelSpec spec;
  spec.name = defaultModelName(path);
  spec.arch = arch;
  spec.vocabSize = vocab;
  spec.dim = dim;
  spec.contextLength = ctx;
  spec.numLayers = layers;
  spec.block.attention.heads = heads;
  spec.block.attention.kvHeads = kvHeads;
  spec.block.attention.headDim = dim / heads;
  spec.finalNorm = true;
  spec.tiedHead = ckpt.find("output.weight") == nullptr;
  if (gpt2) {
    TFM_TRY(eps, m.number("attention.layer_norm_epsilon", 1e-5));
    spec.positional = PositionalKind::Learned;
    spec.block.norm = {NormKind::LayerNorm, static_cast<float>(eps)};
    // Biases as stored (a file without them is read as having none).
    spec.block.attention.qkvBias = ckpt.find("blk.0.attn_qkv.bias") != nullptr;
    spec.block.attention.outBias =
        ckpt.find("blk.0.attn_output.bias") != nullptr;
    spec.block.ffn = {Activation::GeluTanh, false, hidden,
                      ckpt.find("blk.0.ffn_up.bias") != nullptr};
  } else {
    TFM_TRY(eps, m.number("attention.layer_norm_rms_epsilon", 1e-5));
    TFM_TRY(theta, m.number("rope.freq_base", 10000.0));
    spec.positional = PositionalKind::Rope;
    // GGUF llama Q/K rows are permuted by the converter so that RoPE
    // rotates interleaved pairs, as llama2.c does.
    spec.ropeStyle = RopeStyle::Interleaved;
    spec.ropeTheta = static_cast<float>(theta);
    spec.block.norm = {NormKind::RMSNorm, static_cast<float>(eps)};
    spec.block.ffn = {Activation::SiLU, true, hidden, false};
  }

  if (!options.tokenizerPath.empty()) {
    spec.tokenizer = {gpt2 ? TokenizerKind::Gpt2 : TokenizerKind::SentencePiece,
                      options.tokenizerPath};
  } else if (const rt::GgufKV *kv = f.find("tokenizer.ggml.model")) {
    std::optional<std::string_view> model = f.getString("tokenizer.ggml.model");
    if (model && *model == "llama")
      spec.tokenizer = {TokenizerKind::SentencePiece, p};
    else if (model && *model == "gpt2")
      spec.tokenizer = {TokenizerKind::Gpt2, p};
    else
      return readerError(p + ": tokenizer.ggml.model at byte " +
                  llvm::Twine(kv->keyOffset) + " is " +
                  (model ? "'" + std::string(*model) + "'"
                         : std::string("not a string")) +
                  "; supported: 'llama', 'gpt2'");
  }

  spec.weights.format = CheckpointFormat::Gguf;
  spec.weights.path = p;
  // Every block has tensors of its own: a larger block count is corrupt, and
  // must be rejected before it sizes the weight list (found by fuzz_gguf_import).
  if (layers > static_cast<int64_t>(ckpt.tensors().size()))
    return readerError(p + ": " + m.full("block_count") + " (" + llvm::Twine(layers) +
                ") exceeds the number of tensors in the file (" +
                llvm::Twine(ckpt.tensors().size()) + ")");
  completeBindings(spec);
  if (Error e = finishImport(spec, ckpt))
    return e;
  return spec;
}

Expected<CheckpointFormat> detectCheckpointFormat(llvm::StringRef path) {
  if (llvm::sys::fs::is_directory(path))
    return CheckpointFormat::Safetensors;
  llvm::StringRef ext = llvm::sys::path::extension(path);
  if (ext.equals_insensitive(".safetensors"))
    return CheckpointFormat::Safetensors;
  if (ext.equals_insensitive(".gguf"))
    return CheckpointFormat::Gguf;
  if (!llvm::sys::fs::exists(path))
    return readerError(path + ": no such file or directory");
  // Sniff the magic before trusting a .bin extension.
  auto buf = llvm::MemoryBuffer::getFileSlice(path, 4, 0);
  if (buf && (*buf)->getBuffer() == "GGUF")
    return CheckpointFormat::Gguf;
  if (ext.equals_insensitive(".bin"))
    return CheckpointFormat::Llama2c;
  return readerError(path + ": unknown checkpoint format (expected a llama2.c .bin, "
                     "a .gguf, or a directory with config.json and "
                     "model.safetensors)");
}

Expected<ModelSpec> importModel(llvm::StringRef path,
                                const ImportOptions &options) {
  auto format = detectCheckpointFormat(path);
  if (!format)
    return format.takeError();
  switch (*format) {
  case CheckpointFormat::Llama2c:
    return importLlama2c(path, options);
  case CheckpointFormat::Gguf:
    return importGguf(path, options);
  case CheckpointFormat::Safetensors:
    return importSafetensors(path, options);
  default:
    return readerError(path + ": unknown checkpoint format");
  }
}

Error finishImport(const ModelSpec &spec, const Checkpoint &ckpt) {
  std::string invalid = validateSpec(spec);
  if (!invalid.empty())
    return readerError(ckpt.path() + ": " + invalid);
  return checkWeights(spec, ckpt);
}

} // namespace tfm
