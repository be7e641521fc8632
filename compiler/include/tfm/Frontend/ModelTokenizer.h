//===- ModelTokenizer.h - The tokenizer a ModelSpec names -------*- C++ -*-===//
//
// tfmc embeds the model's tokenizer in the executable in the runtime's own
// serialized form. It is read from the checkpoint already open when that is
// the file the spec names (a GGUF's vocabulary), else from its own file.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FRONTEND_MODELTOKENIZER_H
#define TFM_FRONTEND_MODELTOKENIZER_H

#include "tfm/Formats/Checkpoint.h"
#include "tfm/Frontend/ModelSpec.h"
#include "tfm/runtime/Tokenizer.h"

#include "llvm/Support/Error.h"

#include <memory>

namespace tfm {

/// The tokenizer of spec.tokenizer, or null for TokenizerKind::None. `ckpt`
/// (may be null) is the open checkpoint of spec.weights. The vocabulary
/// must have spec.vocabSize tokens.
llvm::Expected<std::unique_ptr<rt::Tokenizer>>
loadModelTokenizer(const ModelSpec &spec, const formats::Checkpoint *ckpt);

} // namespace tfm

#endif // TFM_FRONTEND_MODELTOKENIZER_H
