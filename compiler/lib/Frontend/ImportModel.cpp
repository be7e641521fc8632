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

#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

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
  switch (ckpt.getFormat()) {
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

Expected<std::vector<StatedValue>> statedValues(llvm::StringRef path,
                                                const Checkpoint &ckpt) {
  switch (ckpt.getFormat()) {
  case Checkpoint::Format::Llama2c:
    return llama2cStatedValues(ckpt);
  case Checkpoint::Format::Gguf:
    return ggufStatedValues(ckpt);
  case Checkpoint::Format::Safetensors:
    return safetensorsStatedValues(path);
  }
  llvm_unreachable("unknown checkpoint format");
}

namespace {

/// The value of `key` in `spec`, for the keys a checkpoint may state.
std::optional<double> specValue(const ModelSpec &spec, SpecKey key) {
  const AttentionSpec &a = spec.block.attention;
  const std::pair<SpecKey, double> values[] = {
      {SpecKey::Vocab, double(spec.vocabSize)},
      {SpecKey::Dim, double(spec.dim)},
      {SpecKey::Context, double(spec.contextLength)},
      {SpecKey::Layers, double(spec.numLayers)},
      {SpecKey::Heads, double(a.heads)},
      {SpecKey::KvHeads, double(a.kvHeads)},
      {SpecKey::HeadDim, double(a.headDim)},
      {SpecKey::Hidden, double(spec.block.ffn.hidden)},
      {SpecKey::Eps, spec.block.norm.eps},
      {SpecKey::Theta, spec.ropeTheta}};
  for (auto [k, v] : values)
    if (k == key)
      return v;
  return std::nullopt;
}

} // namespace

Error checkStatedValues(const ModelSpec &spec,
                        llvm::ArrayRef<StatedValue> stated) {
  for (const StatedValue &s : stated) {
    std::optional<double> value = specValue(spec, s.key);
    if (!value ||
        (s.key == SpecKey::Theta && spec.positional != PositionEncoding::Rope))
      continue;
    const double ours = *value;
    const bool isFloat = s.key == SpecKey::Eps || s.key == SpecKey::Theta;
    // Floats as the spec holds them (f32), sizes exactly.
    double theirs = isFloat ? double(float(s.value)) : s.value;
    if (ours == theirs)
      continue;
    std::string message;
    llvm::raw_string_ostream os(message);
    auto print = [&](double v) {
      if (isFloat)
        os << llvm::format("%g", v);
      else
        os << int64_t(v);
    };
    os << toString(s.key) << " is ";
    print(ours);
    os << ", but the checkpoint has " << s.name << " = ";
    print(theirs);
    os << " (" << s.where << ")";
    return llvm::make_error<SpecError>(s.key, message);
  }
  return Error::success();
}

Error finishImport(const ModelSpec &spec, const Checkpoint &ckpt,
                   llvm::StringRef file, llvm::ArrayRef<StatedValue> stated) {
  if (Error e = validateSpec(spec)) {
    std::string where = file.str();
    llvm::handleAllErrors(std::move(e), [&](const SpecError &problem) {
      for (const StatedValue &s : stated)
        if (s.key == problem.getKey()) {
          where += ": " + s.name;
          if (!file.ends_with(s.where)) // Not "config.json (config.json)".
            where += " (" + s.where + ")";
          break;
        }
      where += ": " + problem.getMessage();
    });
    return formats::readerError(where);
  }
  return checkWeights(spec, ckpt);
}

} // namespace tfm
