//===- fuzz_tokenizer_deserialize.cpp - The embedded tokenizer format -----===//
//
// Input: bytes claiming to be a serialised tokenizer ("TFMTOK"). A tokenizer
// that deserialises must serialise back to exactly the input bytes (the
// format has one encoding per tokenizer: "nothing may follow").
//
//===----------------------------------------------------------------------===//

#include "FuzzTokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string error;
  auto tok = tfm::rt::Tokenizer::deserialize(data, size, error);
  if (!tok)
    return 0;
  tfm::fuzz::exerciseTokenizer(*tok);
  std::vector<uint8_t> bytes = tok->serialize();
  if (bytes != std::vector<uint8_t>(data, data + size))
    tfm::fuzz::fail("serialize(deserialize(x)) != x", "");
  return 0;
}
