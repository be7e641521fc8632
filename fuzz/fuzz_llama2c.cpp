//===- fuzz_llama2c.cpp - llama2.c checkpoint reader and importer ---------===//
//
// Input: the bytes of a llama2.c `.bin` checkpoint.
//
//===----------------------------------------------------------------------===//

#include "FuzzCheckpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tfm::fuzz::exerciseCheckpointBytes(data, size, "model.bin",
                                     tfm::formats::Checkpoint::Format::Llama2c);
  return 0;
}
