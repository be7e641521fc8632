//===- Importers.h - ModelSpecs from llama2.c, GGUF and safetensors -------===//
//
// Each importer reads a checkpoint's hyper-parameters, fills a ModelSpec with
// the default weight bindings of its format (DefaultBindings.h), and checks
// that every expected weight resolves to a tensor of the right shape before
// returning (checkWeights), so errors surface at import, not at packing.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FRONTEND_IMPORTERS_H
#define TFM_FRONTEND_IMPORTERS_H

#include "tfm/Frontend/ModelSpec.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace tfm {

class Checkpoint;

struct ImportOptions {
  /// Tokenizer file overriding what the checkpoint implies. Without it:
  /// llama2.c and Llama safetensors use `tokenizer.bin` beside the model
  /// (TokenizerKind::None when there is none), GGUF its own metadata, GPT-2
  /// safetensors `vocab.json` beside the model (merges.txt next to it).
  std::string tokenizerPath;
};

/// The format of a checkpoint path: a directory (config.json +
/// model.safetensors) or `*.safetensors` is Safetensors, `*.gguf` or a file
/// starting with "GGUF" is Gguf, `*.bin` is Llama2c.
llvm::Expected<CheckpointFormat> detectCheckpointFormat(llvm::StringRef path);

/// Imports any supported checkpoint (format from detectCheckpointFormat).
llvm::Expected<ModelSpec> importModel(llvm::StringRef path,
                                      const ImportOptions &options = {});

/// llama2.c `.bin`: Llama with RMSNorm (1e-5), SwiGLU, interleaved RoPE
/// (theta 10000), tied head unless the header's vocab_size is negative.
llvm::Expected<ModelSpec> importLlama2c(llvm::StringRef path,
                                        const ImportOptions &options = {});
/// GGUF with general.architecture `llama` or `gpt2`.
llvm::Expected<ModelSpec> importGguf(llvm::StringRef path,
                                     const ImportOptions &options = {});
/// Hugging Face directory: config.json (LlamaForCausalLM, GPT2LMHeadModel)
/// and model.safetensors.
llvm::Expected<ModelSpec> importSafetensors(llvm::StringRef path,
                                            const ImportOptions &options = {});

// Helpers shared by the importers.

/// The file's stem, or its directory's name when the stem is "model" (or
/// `path` is a directory).
std::string defaultModelName(llvm::StringRef path);
/// validateSpec + checkWeights against the open checkpoint.
llvm::Error finishImport(const ModelSpec &spec, const Checkpoint &ckpt);

} // namespace tfm

#endif // TFM_FRONTEND_IMPORTERS_H
