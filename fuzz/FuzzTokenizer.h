//===- FuzzTokenizer.h - What every tokenizer harness exercises -*- C++ -*-===//
//
// A tokenizer that loaded must work: encode a few texts (valid and invalid
// UTF-8), decode whole and streamed (always valid UTF-8), and survive the
// embedding round trip (deserialize(serialize(t)) succeeds and serialises to
// the same bytes). A violation aborts, so libFuzzer reports it.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FUZZ_FUZZTOKENIZER_H
#define TFM_FUZZ_FUZZTOKENIZER_H

#include "tfm/runtime/Tokenizer.h"
#include "tfm/runtime/Utf8.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace tfm::fuzz {

[[noreturn]] inline void fail(const char *what, const std::string &detail) {
  std::fprintf(stderr, "fuzz invariant violated: %s: %s\n", what,
               detail.c_str());
  std::abort();
}

/// Decodes `ids` one at a time; the concatenation must be valid UTF-8.
inline std::string streamDecode(const rt::Tokenizer &t,
                                const std::vector<int32_t> &ids) {
  rt::TokenDecoder dec(t);
  std::string out;
  for (int32_t id : ids)
    out += dec.push(id);
  out += dec.finish();
  if (!rt::isValidUtf8(out))
    fail("streamed decode is not valid UTF-8", out);
  return out;
}

inline void exerciseTokenizer(const rt::Tokenizer &t) {
  static const char *const kTexts[] = {"",
                                       " ",
                                       "Hello world",
                                       "  two  spaces\n\ttab",
                                       "caf\xc3\xa9 \xe4\xb8\xad",
                                       "bad \xff\xfe utf8 \xe4\xb8",
                                       "<s></s><unk><|endoftext|>",
                                       "123 4567 it's"};
  for (const char *text : kTexts) {
    std::vector<int32_t> ids = t.encode(text, /*addBos=*/true);
    for (int32_t id : ids)
      if (id < 0 || id >= t.vocabSize())
        fail("encode produced an out-of-range id", std::to_string(id));
    std::string whole = t.decode(ids);
    std::string streamed = streamDecode(t, ids);
    if (whole != streamed)
      fail("decode and streamed decode differ", whole + " | " + streamed);
  }
  for (int32_t id = -2; id < t.vocabSize() + 2 && id < 4096; ++id)
    (void)t.tokenBytes(id);
  std::vector<uint8_t> bytes = t.serialize();
  std::string error;
  auto back = rt::Tokenizer::deserialize(bytes.data(), bytes.size(), error);
  if (!back)
    fail("deserialize(serialize(t)) failed", error);
  if (back->serialize() != bytes)
    fail("serialise round trip changed the bytes", "");
}

} // namespace tfm::fuzz

#endif // TFM_FUZZ_FUZZTOKENIZER_H
