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

Expected<ModelSpec> importLlama2c(llvm::StringRef path,
                                  const formats::Checkpoint &ckpt,
                                  const ImportOptions &options) {
  const formats::Llama2cHeader &h = *ckpt.llama2c();
  ModelSpec spec;
  spec.name = defaultModelName(path);
  spec.arch = "llama";
  spec.vocabSize = h.vocabSize;
  spec.dim = h.dim;
  spec.contextLength = h.seqLen;
  spec.numLayers = h.numLayers;
  spec.positional = PositionalKind::Rope;
  spec.ropeTheta = 10000.0f;
  spec.ropeStyle = RopeStyle::Interleaved;
  spec.block.preNorm = true;
  spec.block.norm = {NormKind::RMSNorm, 1e-5f};
  spec.block.attention.heads = h.numHeads;
  spec.block.attention.kvHeads = h.numKvHeads;
  spec.block.attention.headDim = h.dim / h.numHeads;
  spec.block.ffn = {Activation::SiLU, /*gated=*/true, h.hiddenDim,
                    /*bias=*/false};
  spec.finalNorm = true;
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
  completeBindings(spec);
  if (Error e = finishImport(spec, ckpt))
    return e;
  return spec;
}

} // namespace tfm
