//===- fuzz_tokenizer_gpt2.cpp - GPT-2 vocab.json + merges.txt reader -----===//
//
// Input: vocab.json, a NUL byte, then merges.txt (no NUL: no merges).
//
//===----------------------------------------------------------------------===//

#include "FuzzTokenizer.h"
#include "FuzzUtil.h"

#include "tfm/Formats/TokenizerFiles.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto [vocab, merges] = tfm::fuzz::splitAtNul(data, size);
  if (auto tok = tfm::formats::loadGpt2Tokenizer(vocab, merges))
    tfm::fuzz::exerciseTokenizer(**tok);
  else
    llvm::consumeError(tok.takeError());
  return 0;
}
