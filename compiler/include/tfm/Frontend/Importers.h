//===- Importers.h - ModelSpecs from llama2.c, GGUF and safetensors -------===//
//
// importModel opens a checkpoint once (formats::Checkpoint) and hands it to
// the importer of its format, which reads the hyper-parameters, fills a
// ModelSpec with the default weight bindings of its format
// (DefaultBindings.h), and checks that every expected weight resolves to a
// tensor of the right shape before returning (checkWeights), so errors
// surface at import, not at packing. The checkpoint stays open for the rest
// of the compile: its weights and tokenizer are read from the same mapping.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FRONTEND_IMPORTERS_H
#define TFM_FRONTEND_IMPORTERS_H

#include "tfm/Formats/Checkpoint.h"
#include "tfm/Frontend/ModelSpec.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

namespace tfm {

struct ImportOptions {
  /// Tokenizer file overriding what the checkpoint implies. Without it:
  /// llama2.c and Llama safetensors use `tokenizer.bin` beside the model
  /// (TokenizerKind::None when there is none), GGUF its own metadata, GPT-2
  /// safetensors `vocab.json` beside the model (merges.txt next to it).
  std::string tokenizerPath;
};

/// A model imported from a checkpoint, with the checkpoint still open.
struct ImportedModel {
  ModelSpec spec;
  std::unique_ptr<formats::Checkpoint> checkpoint;
};

/// Imports any supported checkpoint: the format is the one
/// formats::Checkpoint::open(path) finds (a directory or `*.safetensors` is
/// safetensors, `*.gguf` or a file starting with "GGUF" is GGUF, `*.bin` is
/// llama2.c).
llvm::Expected<ImportedModel> importModel(llvm::StringRef path,
                                          const ImportOptions &options = {});

/// The spec of an open checkpoint, by the importer of its format. `path` is
/// the one the user named (for safetensors, possibly the directory).
llvm::Expected<ModelSpec> importCheckpoint(llvm::StringRef path,
                                           const formats::Checkpoint &ckpt,
                                           const ImportOptions &options = {});

// The importers proper, one per format, each of this type.
using FormatImporter = llvm::Expected<ModelSpec>(
    llvm::StringRef path, const formats::Checkpoint &ckpt,
    const ImportOptions &options);

/// llama2.c `.bin`: Llama with RMSNorm (1e-5), SwiGLU, interleaved RoPE
/// (theta 10000), tied head unless the header's vocab_size is negative.
FormatImporter importLlama2c;
/// GGUF with general.architecture `llama` or `gpt2`.
FormatImporter importGguf;
/// Hugging Face directory: config.json (LlamaForCausalLM, GPT2LMHeadModel)
/// and model.safetensors.
FormatImporter importSafetensors;

/// A hyper-parameter as a checkpoint states it, and where it says so.
struct StatedValue {
  SpecKey key;
  double value;
  std::string name;  ///< The file's name for it, e.g. "llama.block_count".
  std::string where; ///< e.g. "GGUF metadata, byte 312".
};

/// Every hyper-parameter the checkpoint states explicitly: the llama2.c
/// header, the GGUF `<arch>.*` metadata (and the rows of token_embd.weight),
/// the config.json beside a safetensors file (none without one). `path` is
/// the one the user named. A description using the checkpoint must agree
/// with each (checkStatedValues).
llvm::Expected<std::vector<StatedValue>>
statedValues(llvm::StringRef path, const formats::Checkpoint &ckpt);

/// A SpecError for the first value of `stated` that `spec` disagrees with,
/// naming the checkpoint's value and where it is stated.
llvm::Error checkStatedValues(const ModelSpec &spec,
                              llvm::ArrayRef<StatedValue> stated);

// Helpers shared by the importers.

/// The file's stem, or its directory's name when the stem is "model" (or
/// `path` is a directory).
std::string defaultModelName(llvm::StringRef path);
/// validateSpec + checkWeights against the open checkpoint. An invalid spec
/// is reported at `file`, at the place in `stated` that states the key the
/// problem concerns (e.g. "config.json: rms_norm_eps: 'eps' must be ...").
llvm::Error finishImport(const ModelSpec &spec, const formats::Checkpoint &ckpt,
                         llvm::StringRef file,
                         llvm::ArrayRef<StatedValue> stated);

// Per format (in each importer's file).
std::vector<StatedValue> llama2cStatedValues(const formats::Checkpoint &ckpt);
std::vector<StatedValue> ggufStatedValues(const formats::Checkpoint &ckpt);
/// The config.json beside `path`, if there is one.
llvm::Expected<std::vector<StatedValue>>
safetensorsStatedValues(llvm::StringRef path);

} // namespace tfm

#endif // TFM_FRONTEND_IMPORTERS_H
