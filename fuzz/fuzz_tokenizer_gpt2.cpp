//===- fuzz_tokenizer_gpt2.cpp - GPT-2 vocab.json + merges.txt loader -----===//
//
// Input: vocab.json, a NUL byte, then merges.txt (no NUL: no merges).
//
//===----------------------------------------------------------------------===//

#include "FuzzTokenizer.h"
#include "FuzzUtil.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto [vocab, merges] = tfm::fuzz::splitAtNul(data, size);
  std::string error;
  if (auto tok = tfm::rt::loadGpt2Tokenizer(vocab, merges, error))
    tfm::fuzz::exerciseTokenizer(*tok);
  return 0;
}
