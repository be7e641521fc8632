//===- fuzz_safetensors.cpp - safetensors reader and Hugging Face importer ===//
//
// Input: config.json, a NUL byte, then model.safetensors. Without a NUL the
// whole input is model.safetensors and there is no config.json (the reader
// is still exercised; the importer then fails on the missing config).
//
//===----------------------------------------------------------------------===//

#include "FuzzCheckpoint.h"
#include "FuzzUtil.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace tfm;
  auto [config, model] = fuzz::splitAtNul(data, size);
  if (config.size() == size) { // No NUL: no config.json.
    model = config;
    config = std::string_view();
    fuzz::removeScratch("config.json");
  } else {
    fuzz::writeScratch("config.json", config);
  }
  std::string path = fuzz::writeScratch("model.safetensors", model);
  fuzz::exerciseCheckpoint(path, formats::Checkpoint::Format::Safetensors);
  return 0;
}
