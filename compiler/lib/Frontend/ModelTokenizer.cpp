//===- ModelTokenizer.cpp - The tokenizer a ModelSpec names ---------------===//

#include "tfm/Frontend/ModelTokenizer.h"
#include "tfm/Formats/Files.h"
#include "tfm/Formats/TokenizerFiles.h"

#include "llvm/Support/FileSystem.h"

namespace tfm {

llvm::Expected<std::unique_ptr<rt::Tokenizer>>
loadModelTokenizer(const ModelSpec &spec, const formats::Checkpoint *ckpt) {
  if (spec.tokenizer.kind == TokenizerKind::None)
    return nullptr;
  const std::string &path = spec.tokenizer.path;
  // A GGUF names itself as the tokenizer: use the mapping already parsed.
  bool fromCheckpoint = ckpt && ckpt->getGguf() &&
                        llvm::sys::fs::equivalent(path, ckpt->getPath());
  auto tok = fromCheckpoint ? formats::loadTokenizerFromGguf(*ckpt->getGguf())
                            : formats::loadTokenizer(path);
  if (!tok) {
    // Reader errors start with the file's path: do not print it twice.
    std::string message = llvm::toString(tok.takeError());
    if (llvm::StringRef(message).starts_with(path))
      return formats::readerError(message);
    return formats::readerError("tokenizer " + path + ": " + message);
  }
  if ((*tok)->vocabSize() != spec.vocabSize)
    return formats::readerError(
        "tokenizer " + path + " has " + llvm::Twine((*tok)->vocabSize()) +
        " tokens but the model's vocabulary is " + llvm::Twine(spec.vocabSize));
  return tok;
}

} // namespace tfm
