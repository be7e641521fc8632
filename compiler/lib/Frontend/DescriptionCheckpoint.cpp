//===- DescriptionCheckpoint.cpp - A description and the files it names ---===//
//
// A description names a checkpoint and a tokenizer file. loadDescription
// opens the checkpoint once, checks that the description agrees with every
// hyper-parameter the checkpoint states (statedValues: the llama2.c header,
// GGUF metadata, config.json) and that every weight resolves, and reads the
// tokenizer. Each error is reported like a parse
// error, at the description's key it concerns (file:line:col and a caret),
// and names the checkpoint's value and where the checkpoint states it.
//
//===----------------------------------------------------------------------===//

#include "DescriptionSyntax.h"

#include "tfm/Frontend/Description.h"
#include "tfm/Frontend/ModelTokenizer.h"
#include "tfm/Frontend/Weights.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

using llvm::Error;
using llvm::Expected;
using tfm::formats::Checkpoint;

namespace tfm {

namespace {

/// Reports errors at the keys of a parsed description, through the
/// SourceMgr that holds it.
class KeyDiagnostics {
public:
  KeyDiagnostics(llvm::SourceMgr &sm, const ModelSpec &spec)
      : sm(sm), spec(spec) {
    // The description's buffer: the one named like it (the last if none).
    for (unsigned id = 1; id <= sm.getNumBuffers(); ++id)
      if (sm.getMemoryBuffer(id)->getBufferIdentifier() == spec.source.file)
        buffer = id;
    if (!buffer)
      buffer = sm.getNumBuffers();
  }

  /// An error at `key`, or at the nearest key the description gives (e.g.
  /// the block's `norm` for an eps it leaves to the default).
  Error error(SpecKey key, const llvm::Twine &message) {
    description::Diagnostics diags(sm);
    diags.error(locOf(key), message);
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   diags.message());
  }

private:
  static std::optional<SpecKey> enclosing(SpecKey key) {
    switch (key) {
    case SpecKey::Eps:
      return SpecKey::Norm;
    case SpecKey::Theta:
      return SpecKey::Positions;
    case SpecKey::Heads:
    case SpecKey::KvHeads:
    case SpecKey::HeadDim:
      return SpecKey::Attention;
    case SpecKey::Hidden:
    case SpecKey::Activation:
      return SpecKey::Ffn;
    case SpecKey::Norm:
    case SpecKey::Order:
    case SpecKey::Attention:
    case SpecKey::Ffn:
      return SpecKey::Layers;
    case SpecKey::Model:
      return std::nullopt;
    default:
      return SpecKey::Model;
    }
  }

  llvm::SMLoc locOf(SpecKey key) {
    for (std::optional<SpecKey> k = key; k; k = enclosing(*k)) {
      auto it = spec.source.keys.find(*k);
      if (it != spec.source.keys.end())
        return sm.FindLocForLineAndColumn(buffer, it->second.first,
                                          it->second.second);
    }
    return sm.FindLocForLineAndColumn(buffer, 1, 1);
  }

  llvm::SourceMgr &sm;
  const ModelSpec &spec;
  unsigned buffer = 0;
};

/// Reads the tokenizer once to report a bad file here, at the description,
/// rather than late in the compile (tfmc reads it again for the executable;
/// a vocabulary takes milliseconds to read).
Error loadTokenizer(const ImportedModel &model) {
  auto tokenizer = loadModelTokenizer(model.spec, model.checkpoint.get());
  return tokenizer ? Error::success() : tokenizer.takeError();
}

Checkpoint::Format checkpointFormat(CheckpointFormat format) {
  switch (format) {
  case CheckpointFormat::Llama2c:
    return Checkpoint::Format::Llama2c;
  case CheckpointFormat::Gguf:
    return Checkpoint::Format::Gguf;
  default:
    return Checkpoint::Format::Safetensors;
  }
}

} // namespace

Expected<ImportedModel> loadDescription(llvm::StringRef path,
                                        llvm::SourceMgr &sm,
                                        bool checkTokenizer) {
  auto parsed = parseDescriptionFile(path, sm);
  if (!parsed)
    return parsed.takeError();
  ImportedModel model{std::move(*parsed), nullptr};
  const ModelSpec &spec = model.spec;
  KeyDiagnostics diags(sm, spec);

  const CheckpointFormat format = spec.weights.format;
  if (format == CheckpointFormat::None || format == CheckpointFormat::Random) {
    if (Error e = checkTokenizer ? loadTokenizer(model) : Error::success())
      return diags.error(SpecKey::Tokenizer, llvm::toString(std::move(e)));
    return model;
  }
  auto ckpt = Checkpoint::open(spec.weights.path, checkpointFormat(format));
  if (!ckpt)
    return diags.error(SpecKey::Weights, llvm::toString(ckpt.takeError()));
  auto stated = statedValues(spec.weights.path, **ckpt);
  if (!stated)
    return diags.error(SpecKey::Weights, llvm::toString(stated.takeError()));
  if (Error e = checkStatedValues(spec, *stated)) {
    Error located = Error::success();
    llvm::handleAllErrors(std::move(e), [&](const SpecError &problem) {
      located = diags.error(problem.getKey(), problem.getMessage());
    });
    return located;
  }
  if (Error e = checkWeights(spec, **ckpt))
    return diags.error(SpecKey::Weights, llvm::toString(std::move(e)));
  model.checkpoint = std::move(*ckpt);
  if (Error e = checkTokenizer ? loadTokenizer(model) : Error::success())
    return diags.error(SpecKey::Tokenizer, llvm::toString(std::move(e)));
  return model;
}

} // namespace tfm
