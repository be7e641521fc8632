//===- fuzz_llama2c.cpp - llama2.c checkpoint reader and importer ---------===//
//
// Input: the bytes of a llama2.c `.bin` checkpoint.
//
//===----------------------------------------------------------------------===//

#include "FuzzCheckpoint.h"
#include "FuzzUtil.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace tfm;
  std::string path = fuzz::writeScratch(
      "model.bin",
      std::string_view(reinterpret_cast<const char *>(data), size));
  fuzz::exerciseCheckpoint(path, formats::Checkpoint::Format::Llama2c);
  return 0;
}
