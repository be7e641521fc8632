//===- Description.h - The .tfm model description language ------*- C++ -*-===//
//
// A `.tfm` file describes the wiring of a transformer language model for
// people to read and write: sizes, the positional scheme, one block repeated
// N times, the final norm, the LM head, the tokenizer and where the weights
// come from. The grammar and a tutorial are in docs/tfm-language.md.
//
// Parsing produces a tfm::ModelSpec, like every other frontend; printing turns
// any ModelSpec (e.g. one imported from a checkpoint) back into a description
// that parses to an equal spec.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FRONTEND_DESCRIPTION_H
#define TFM_FRONTEND_DESCRIPTION_H

#include "tfm/Frontend/Importers.h"
#include "tfm/Frontend/ModelSpec.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace llvm {
class MemoryBuffer;
class SourceMgr;
class raw_ostream;
} // namespace llvm

namespace tfm {

/// Parses the `.tfm` description in the file at `path`.
///
/// The first error is reported through `sm` (`file:line:col: error: ...`
/// with the source line and a caret; install a diagnostic handler on `sm` to
/// capture it) and then returned as an llvm::Error whose message is the same
/// one-line `file:line:col: error: ...` text. Relative paths in the
/// description (weights, tokenizer) are resolved against the directory of
/// `path` and made absolute. `path` must be a regular file (not a FIFO, a
/// device or a directory) of at most kMaxDescriptionBytes. For checkpoint
/// weights the returned spec holds a complete binding for every weight in
/// expectedWeights(): the format's defaults (see DefaultBindings.h) overridden
/// by the description's mapping.
llvm::Expected<ModelSpec> parseDescriptionFile(llvm::StringRef path,
                                               llvm::SourceMgr &sm);

/// Parses the description at `path` (parseDescriptionFile) and checks the
/// files it names: the checkpoint is
/// opened (once: it is returned open), every hyper-parameter it states
/// (statedValues: llama2.c header, GGUF metadata, config.json) must equal
/// the description's, and every weight must resolve (checkWeights); with
/// `checkTokenizer`, the tokenizer must load (loadModelTokenizer) with the
/// model's vocabulary size (only the stages that embed it need it). Each
/// error is reported through `sm` at the description's key it concerns
/// (`file:line:col: error: heads is 8, but the checkpoint has n_heads = 4
/// (llama2.c header, byte 12)`) and returned as for parse errors. The
/// checkpoint is null for random or no weights.
llvm::Expected<ImportedModel> loadDescription(llvm::StringRef path,
                                              llvm::SourceMgr &sm,
                                              bool checkTokenizer = true);

/// The largest description, in bytes (docs/limits.md): a thousand times a
/// real one. A larger one is refused before it is lexed, at its line 1.
constexpr uint64_t kMaxDescriptionBytes = uint64_t(1) << 20;

/// Parses a description held in `buffer`; its identifier is the file name
/// used in messages and the base for relative paths.
llvm::Expected<ModelSpec>
parseDescription(std::unique_ptr<llvm::MemoryBuffer> buffer,
                 llvm::SourceMgr &sm);

/// Parses `text` as if it were the contents of the file `bufferName`.
llvm::Expected<ModelSpec> parseDescriptionString(llvm::StringRef text,
                                                 llvm::StringRef bufferName,
                                                 llvm::SourceMgr &sm);

/// Prints `spec` as a `.tfm` description. Only the weight bindings that
/// differ from the format's defaults are printed. Paths are printed as stored
/// in the spec (absolute after parsing), so the output parses to an equal
/// spec wherever it is saved.
void printDescription(const ModelSpec &spec, llvm::raw_ostream &os);

/// Compares the meaningful fields of two specs: rope theta and style only for
/// rope, the seed only for random weights, paths only where a file is used,
/// bindings only for checkpoint formats and only for weights the model has
/// (missing ones count as the format's default). On a difference, returns
/// false and, when `difference` is given, describes the first one.
bool equalSpecs(const ModelSpec &a, const ModelSpec &b,
                std::string *difference = nullptr);

/// sqrt(dim) exactly as the parser computes it for `scale = sqrt(dim)`.
float sqrtDimScale(int64_t dim);

} // namespace tfm

#endif // TFM_FRONTEND_DESCRIPTION_H
