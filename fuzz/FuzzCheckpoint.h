//===- FuzzCheckpoint.h - What every checkpoint harness exercises -*- C++
//-*-===//
//
// Open the fuzzed file as a Checkpoint, read every tensor as f32, import it,
// and, when the import succeeded, read every expected weight through its
// binding (split/transpose included). Errors are fine; crashes, hangs and
// out-of-bounds reads are not.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FUZZ_FUZZCHECKPOINT_H
#define TFM_FUZZ_FUZZCHECKPOINT_H

#include "FuzzUtil.h"

#include "tfm/Formats/Checkpoint.h"
#include "tfm/Frontend/Description.h"
#include "tfm/Frontend/Importers.h"
#include "tfm/Frontend/ModelSpec.h"
#include "tfm/Frontend/Weights.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <vector>

namespace tfm::fuzz {

/// Tensors and weights larger than this many elements are not read (the
/// readers bound them by the file size already; this only keeps runs fast).
constexpr int64_t kMaxReadElements = int64_t(1) << 22;

inline void exerciseCheckpoint(const std::string &path,
                               formats::Checkpoint::Format format) {
  auto ckpt = formats::Checkpoint::open(path, format);
  if (!ckpt) {
    llvm::consumeError(ckpt.takeError());
    return;
  }
  std::vector<float> buf;
  for (const formats::TensorInfo &t : (*ckpt)->getTensors()) {
    int64_t n = t.numElements();
    if (n < 0 || n > kMaxReadElements)
      continue;
    buf.assign(size_t(n), 0.0f);
    llvm::consumeError((*ckpt)->readF32(t, buf));
  }
  llvm::Expected<ModelSpec> imported = importCheckpoint(path, **ckpt);
  if (!imported) {
    llvm::consumeError(imported.takeError());
    return;
  }
  const ModelSpec &spec = *imported;
  if (llvm::Error invalid = validateSpec(spec)) { // finishImport promised
    llvm::consumeError(std::move(invalid));       // a valid spec.
    std::abort();
  }
  for (const WeightDecl &decl : expectedWeights(spec)) {
    int64_t n = 1;
    for (int64_t d : decl.shape)
      n = d > 0 && n <= kMaxReadElements ? n * d : kMaxReadElements + 1;
    if (n > kMaxReadElements)
      continue;
    buf.assign(size_t(n), 0.0f);
    if (llvm::Error e = readWeight(spec, ckpt->get(), decl, buf)) {
      // checkWeights passed at import, so every weight must be readable.
      llvm::errs() << "readWeight failed after a successful import: "
                   << llvm::toString(std::move(e)) << "\n";
      std::abort();
    }
  }
  // An imported spec prints as a description that parses back to it.
  std::string text;
  llvm::raw_string_ostream os(text);
  printDescription(spec, os);
  os.flush();
  (void)text;
}

/// The whole harness of a single-file checkpoint format: the input is the
/// file, written to the scratch directory as `name`.
inline void exerciseCheckpointBytes(const uint8_t *data, size_t size,
                                    const char *name,
                                    formats::Checkpoint::Format format) {
  std::string path = writeScratch(
      name, std::string_view(reinterpret_cast<const char *>(data), size));
  exerciseCheckpoint(path, format);
}

} // namespace tfm::fuzz

#endif // TFM_FUZZ_FUZZCHECKPOINT_H
