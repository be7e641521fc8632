//===- GgufImporter.cpp - ModelSpec from a GGUF checkpoint ----------------===//
//
// GGUF hyper-parameters live in `<arch>.*` metadata keys (llama.cpp's
// convention): context_length, embedding_length, feed_forward_length,
// block_count, attention.head_count, attention.head_count_kv,
// attention.layer_norm_rms_epsilon (llama) / attention.layer_norm_epsilon
// (gpt2), rope.freq_base. The vocabulary size is the row count of
// token_embd.weight and must agree with tokenizer.ggml.tokens when present.
//
//===----------------------------------------------------------------------===//

#include "tfm/Formats/Files.h"
#include "tfm/Frontend/DefaultBindings.h"
#include "tfm/Frontend/Importers.h"

#include "ImporterSupport.h"

#include <string>
#include <vector>

using llvm::Error;
using llvm::Expected;
using tfm::formats::readerError;
using tfm::formats::shapeString;
using tfm::formats::TensorInfo;

namespace tfm {

namespace {

/// Reads `<arch>.<key>` metadata with messages naming the key and its byte.
class Meta {
public:
  Meta(const std::string &path, const formats::GgufFile &f, std::string arch)
      : path(path), f(f), arch(std::move(arch)) {}

  std::string full(llvm::StringRef key) const { return arch + "." + key.str(); }

  Expected<int64_t> integer(llvm::StringRef key, int64_t def = -1) const {
    std::string k = full(key);
    const formats::GgufKV *kv = f.find(k);
    if (!kv) {
      if (def < 0)
        return readerError(path + ": missing metadata key '" + k + "'");
      return def;
    }
    std::optional<int64_t> v = f.getInt(k);
    if (!v || kv->type == formats::GgufType::Bool)
      return readerError(path + ": metadata key '" + k + "' at byte " +
                         llvm::Twine(kv->keyOffset) + " has type " +
                         formats::toString(kv->type) + ", expected an integer");
    if (*v <= 0 || *v > (int64_t(1) << 40))
      return readerError(path + ": metadata key '" + k + "' at byte " +
                         llvm::Twine(kv->keyOffset) + " is " + llvm::Twine(*v) +
                         ", expected a positive size");
    return *v;
  }

  Expected<double> number(llvm::StringRef key, double def) const {
    std::string k = full(key);
    const formats::GgufKV *kv = f.find(k);
    if (!kv)
      return def;
    std::optional<double> v = f.getFloat(k);
    if (!v)
      return readerError(path + ": metadata key '" + k + "' at byte " +
                         llvm::Twine(kv->keyOffset) + " has type " +
                         formats::toString(kv->type) + ", expected a number");
    return *v;
  }

private:
  const std::string &path;
  const formats::GgufFile &f;
  std::string arch;
};

/// The `<arch>.*` keys of each stated hyper-parameter (llama.cpp's names).
struct StatedKey {
  SpecKey key;
  const char *name;
  bool isFloat;
};
constexpr StatedKey kStatedKeys[] = {
    {SpecKey::Context, "context_length", false},
    {SpecKey::Dim, "embedding_length", false},
    {SpecKey::Hidden, "feed_forward_length", false},
    {SpecKey::Layers, "block_count", false},
    {SpecKey::Heads, "attention.head_count", false},
    {SpecKey::KvHeads, "attention.head_count_kv", false},
    {SpecKey::HeadDim, "attention.key_length", false},
    {SpecKey::Eps, "attention.layer_norm_rms_epsilon", true},
    {SpecKey::Eps, "attention.layer_norm_epsilon", true},
    {SpecKey::Theta, "rope.freq_base", true},
};

} // namespace

std::vector<StatedValue> ggufStatedValues(const formats::Checkpoint &ckpt) {
  const formats::GgufFile &f = *ckpt.getGguf();
  std::vector<StatedValue> out;
  std::optional<llvm::StringRef> arch = f.getString("general.architecture");
  if (!arch)
    return out;
  for (const StatedKey &k : kStatedKeys) {
    std::string name = arch->str() + "." + k.name;
    const formats::GgufKV *kv = f.find(name);
    if (!kv || kv->type == formats::GgufType::Bool)
      continue;
    std::optional<double> v;
    if (k.isFloat)
      v = f.getFloat(name);
    else if (std::optional<int64_t> i = f.getInt(name))
      v = double(*i);
    if (v)
      out.push_back({k.key, *v, name,
                     "GGUF metadata, byte " + std::to_string(kv->keyOffset)});
  }
  const std::string embd =
      defaultBinding(CheckpointFormat::Gguf, archFamily(arch->str()), false,
                     "tok_embeddings.weight")
          .source;
  if (const TensorInfo *emb = ckpt.find(embd); emb && emb->shape.size() == 2)
    out.push_back({SpecKey::Vocab, double(emb->shape[0]), "the rows of " + embd,
                   "GGUF tensor, data at byte " + std::to_string(emb->offset)});
  return out;
}

Expected<ModelSpec> importGguf(llvm::StringRef path,
                               const formats::Checkpoint &ckpt,
                               const ImportOptions &options) {
  const formats::GgufFile &f = *ckpt.getGguf();
  const std::string p = path.str();

  std::optional<llvm::StringRef> archSv = f.getString("general.architecture");
  if (!archSv)
    return readerError(
        p + ": missing metadata key 'general.architecture' (string)");
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
                       m.full("embedding_length") + " (" + llvm::Twine(dim) +
                       ")");

  // Tensors are probed by their names in the one table of default names.
  const ArchFamily family = gpt2 ? ArchFamily::Gpt2 : ArchFamily::Llama;
  auto tensorName = [&](llvm::StringRef templ) {
    return expandTemplate(
        defaultBinding(CheckpointFormat::Gguf, family, !gpt2, templ).source, 0);
  };
  auto has = [&](llvm::StringRef templ) {
    return ckpt.find(tensorName(templ)) != nullptr;
  };

  // The vocabulary size comes from the embedding table.
  const std::string embName = tensorName("tok_embeddings.weight");
  const TensorInfo *emb = ckpt.find(embName);
  if (!emb)
    return readerError(p + ": missing tensor '" + embName + "'");
  if (emb->shape.size() != 2 || emb->shape[1] != dim)
    return readerError(p + ": tensor '" + embName + "' (data at byte " +
                       llvm::Twine(emb->offset) + ") has shape " +
                       shapeString(emb->shape) + ", expected [vocab, " +
                       llvm::Twine(dim) + "] from " +
                       m.full("embedding_length"));
  int64_t vocab = emb->shape[0];
  auto tokens = f.getStringArray("tokenizer.ggml.tokens");
  if (tokens && static_cast<int64_t>(tokens->size()) != vocab)
    return readerError(p + ": tokenizer.ggml.tokens (at byte " +
                       llvm::Twine(f.find("tokenizer.ggml.tokens")->keyOffset) +
                       ") has " + llvm::Twine(tokens->size()) + " tokens but " +
                       embName + " has " + llvm::Twine(vocab) + " rows");

  // The family's structure; the sizes and what the metadata states.
  ModelSpec spec = archDefaults(family);
  spec.name = defaultModelName(path);
  spec.arch = arch;
  spec.vocabSize = vocab;
  spec.dim = dim;
  spec.contextLength = ctx;
  spec.numLayers = layers;
  spec.block.attention.heads = heads;
  spec.block.attention.kvHeads = kvHeads;
  spec.block.attention.headDim = dim / heads;
  spec.block.ffn.hidden = hidden;
  spec.tiedHead = !has("lm_head.weight");
  if (gpt2) {
    TFM_TRY(eps, m.number("attention.layer_norm_epsilon", spec.block.norm.eps));
    spec.block.norm.eps = static_cast<float>(eps);
    // Biases as stored (a file without them is read as having none).
    spec.block.attention.qkvBias = has("layers.{i}.wq.bias");
    spec.block.attention.outBias = has("layers.{i}.wo.bias");
    spec.block.ffn.bias = has("layers.{i}.w1.bias");
  } else {
    TFM_TRY(eps,
            m.number("attention.layer_norm_rms_epsilon", spec.block.norm.eps));
    TFM_TRY(theta, m.number("rope.freq_base", spec.ropeTheta));
    // GGUF llama Q/K rows are permuted by the converter so that RoPE
    // rotates interleaved pairs, as llama2.c does (the Llama default).
    spec.ropeTheta = static_cast<float>(theta);
    spec.block.norm.eps = static_cast<float>(eps);
  }

  if (!options.tokenizerPath.empty()) {
    spec.tokenizer = {gpt2 ? TokenizerKind::Gpt2 : TokenizerKind::SentencePiece,
                      options.tokenizerPath};
  } else if (const formats::GgufKV *kv = f.find("tokenizer.ggml.model")) {
    std::optional<llvm::StringRef> model = f.getString("tokenizer.ggml.model");
    if (model && *model == "llama")
      spec.tokenizer = {TokenizerKind::SentencePiece, p};
    else if (model && *model == "gpt2")
      spec.tokenizer = {TokenizerKind::Gpt2, p};
    else
      return readerError(
          p + ": tokenizer.ggml.model at byte " + llvm::Twine(kv->keyOffset) +
          " is " +
          (model ? "'" + model->str() + "'" : std::string("not a string")) +
          "; supported: 'llama', 'gpt2'");
  }

  spec.weights.format = CheckpointFormat::Gguf;
  spec.weights.path = p;
  spec.source.file = p;
  // Every block has tensors of its own: a larger block count is corrupt, and
  // must be rejected before it sizes the weight list (found by
  // fuzz_gguf_import).
  if (layers > static_cast<int64_t>(ckpt.getTensors().size()))
    return readerError(p + ": " + m.full("block_count") + " (" +
                       llvm::Twine(layers) +
                       ") exceeds the number of tensors in the file (" +
                       llvm::Twine(ckpt.getTensors().size()) + ")");
  completeBindings(spec);
  if (Error e = finishImport(spec, ckpt, p, ggufStatedValues(ckpt)))
    return e;
  return spec;
}

} // namespace tfm
