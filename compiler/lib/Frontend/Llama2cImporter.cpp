//===- Llama2cImporter.cpp - ModelSpec from a llama2.c checkpoint ---------===//
//
// A llama2.c file is a Llama whose hyper-parameters are its header (read by
// formats/lib/Llama2c.cpp); everything else is llama2.c's fixed choice.
//
//===----------------------------------------------------------------------===//

#include "tfm/Frontend/DefaultBindings.h"
#include "tfm/Frontend/Importers.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using llvm::Error;
using llvm::Expected;

namespace tfm {

std::vector<StatedValue> llama2cStatedValues(const formats::Checkpoint &ckpt) {
  const formats::Llama2cHeader &h = *ckpt.llama2c();
  std::vector<StatedValue> out;
  auto add = [&](SpecKey key, int64_t value, const char *name, int byte) {
    out.push_back({key, double(value), name,
                   "llama2.c header, byte " + std::to_string(byte)});
  };
  add(SpecKey::Dim, h.dim, "dim", 0);
  add(SpecKey::Hidden, h.hiddenDim, "hidden_dim", 4);
  add(SpecKey::Layers, h.numLayers, "n_layers", 8);
  add(SpecKey::Heads, h.numHeads, "n_heads", 12);
  add(SpecKey::KvHeads, h.numKvHeads, "n_kv_heads", 16);
  add(SpecKey::Vocab, h.vocabSize, "vocab_size", 20);
  add(SpecKey::Context, h.seqLen, "seq_len", 24);
  if (h.numHeads > 0) // llama2.c's head size is dim / n_heads.
    out.push_back({SpecKey::HeadDim, double(h.dim / h.numHeads),
                   "dim / n_heads", "llama2.c header"});
  return out;
}

Expected<ModelSpec> importLlama2c(llvm::StringRef path,
                                  const formats::Checkpoint &ckpt,
                                  const ImportOptions &options) {
  const formats::Llama2cHeader &h = *ckpt.llama2c();
  // Everything but the sizes is llama2.c's fixed choice: the Llama defaults.
  ModelSpec spec = archDefaults(ArchFamily::Llama);
  spec.name = defaultModelName(path);
  spec.vocabSize = h.vocabSize;
  spec.dim = h.dim;
  spec.contextLength = h.seqLen;
  spec.numLayers = h.numLayers;
  spec.block.attention.heads = h.numHeads;
  spec.block.attention.kvHeads = h.numKvHeads;
  spec.block.attention.headDim = h.dim / h.numHeads;
  spec.block.ffn.hidden = h.hiddenDim;
  spec.tiedHead = h.sharedClassifier;
  // llama2.c checkpoints carry no tokenizer: take the option, else a
  // tokenizer.bin beside the model.
  std::string tok = options.tokenizerPath;
  if (tok.empty()) {
    llvm::SmallString<256> beside(llvm::sys::path::parent_path(path));
    llvm::sys::path::append(beside, "tokenizer.bin");
    if (llvm::sys::fs::exists(beside))
      tok = std::string(beside);
  }
  if (!tok.empty())
    spec.tokenizer = {TokenizerKind::SentencePiece, tok};
  spec.weights.format = CheckpointFormat::Llama2c;
  spec.weights.path = path.str();
  spec.source.file = path.str();
  completeBindings(spec);
  if (Error e =
          finishImport(spec, ckpt, ckpt.getPath(), llama2cStatedValues(ckpt)))
    return e;
  return spec;
}

} // namespace tfm
