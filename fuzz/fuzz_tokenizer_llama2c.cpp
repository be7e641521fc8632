//===- fuzz_tokenizer_llama2c.cpp - llama2.c tokenizer.bin loader ---------===//
//
// Input: the bytes of a llama2.c tokenizer.bin.
//
//===----------------------------------------------------------------------===//

#include "FuzzTokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string error;
  if (auto tok = tfm::rt::loadLlama2cTokenizer(data, size, error, -1))
    tfm::fuzz::exerciseTokenizer(*tok);
  return 0;
}
