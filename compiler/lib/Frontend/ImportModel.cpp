//===- ImportModel.cpp - From a checkpoint path to a ModelSpec ------------===//
//
// The import dispatch: open the checkpoint once, in the format its name and
// content say, and hand it to that format's importer (Llama2cImporter.cpp,
// GgufImporter.cpp, SafetensorsImporter.cpp). Also the helpers the
// importers share.
//
//===----------------------------------------------------------------------===//

#include "tfm/Formats/Files.h"
#include "tfm/Frontend/Importers.h"
#include "tfm/Frontend/Weights.h"

#include "llvm/Support/Path.h"

using llvm::Error;
using llvm::Expected;
using tfm::formats::Checkpoint;

namespace tfm {

Expected<ImportedModel> importModel(llvm::StringRef path,
                                    const ImportOptions &options) {
  auto ckpt = Checkpoint::open(path);
  if (!ckpt)
    return ckpt.takeError();
  auto spec = importCheckpoint(path, **ckpt, options);
  if (!spec)
    return spec.takeError();
  return ImportedModel{std::move(*spec), std::move(*ckpt)};
}

Expected<ModelSpec> importCheckpoint(llvm::StringRef path,
                                     const Checkpoint &ckpt,
                                     const ImportOptions &options) {
  switch (ckpt.format()) {
  case Checkpoint::Format::Llama2c:
    return importLlama2c(path, ckpt, options);
  case Checkpoint::Format::Gguf:
    return importGguf(path, ckpt, options);
  case Checkpoint::Format::Safetensors:
    return importSafetensors(path, ckpt, options);
  }
  llvm_unreachable("unknown checkpoint format");
}

std::string defaultModelName(llvm::StringRef path) {
  llvm::StringRef p = path;
  while (p.size() > 1 && llvm::sys::path::is_separator(p.back()))
    p = p.drop_back();
  llvm::StringRef stem = llvm::sys::path::stem(p);
  if (stem == "model") {
    llvm::StringRef parent =
        llvm::sys::path::filename(llvm::sys::path::parent_path(p));
    if (!parent.empty() && parent != "." && parent != "/")
      return parent.str();
  }
  return stem.str();
}

Error finishImport(const ModelSpec &spec, const Checkpoint &ckpt) {
  std::string invalid = validateSpec(spec);
  if (!invalid.empty())
    return formats::readerError(ckpt.path() + ": " + invalid);
  return checkWeights(spec, ckpt);
}

} // namespace tfm
