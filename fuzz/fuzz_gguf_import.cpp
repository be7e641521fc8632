//===- fuzz_gguf_import.cpp - GGUF checkpoint importer --------------------===//
//
// Input: the bytes of a `.gguf` model. Exercises the compiler's importer
// (hyper-parameters from metadata, tensor checks) on top of the checkpoint
// reader of the formats library.
//
//===----------------------------------------------------------------------===//

#include "FuzzCheckpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tfm::fuzz::exerciseCheckpointBytes(data, size, "model.gguf",
                                     tfm::formats::Checkpoint::Format::Gguf);
  return 0;
}
