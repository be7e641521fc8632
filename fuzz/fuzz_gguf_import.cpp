//===- fuzz_gguf_import.cpp - GGUF checkpoint importer --------------------===//
//
// Input: the bytes of a `.gguf` model. Exercises the compiler's importer
// (hyper-parameters from metadata, tensor checks) on top of the checkpoint
// reader of the formats library.
//
//===----------------------------------------------------------------------===//

#include "FuzzCheckpoint.h"
#include "FuzzUtil.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace tfm;
  std::string path = fuzz::writeScratch(
      "model.gguf",
      std::string_view(reinterpret_cast<const char *>(data), size));
  fuzz::exerciseCheckpoint(path, formats::Checkpoint::Format::Gguf);
  return 0;
}
