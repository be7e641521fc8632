//===- fuzz_tokenizer_llama2c.cpp - llama2.c tokenizer.bin reader ---------===//
//
// Input: the bytes of a llama2.c tokenizer.bin.
//
//===----------------------------------------------------------------------===//

#include "FuzzTokenizer.h"

#include "tfm/Formats/TokenizerFiles.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  if (auto tok = tfm::formats::loadLlama2cTokenizer(bytes))
    tfm::fuzz::exerciseTokenizer(**tok);
  else
    llvm::consumeError(tok.takeError());
  return 0;
}
