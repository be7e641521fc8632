//===- fuzz_tokenizer_encode.cpp - Encoding and streaming decode ----------===//
//
// Input: one mode byte, then the payload.
//   mode bit 0: 0 = SentencePiece, 1 = GPT-2 tokenizer
//   mode bit 1: 0 = encode the payload as text, 1 = decode it as token ids
//               (2 bytes each, little-endian, folded into [-4, vocab + 4))
//   mode bit 2: add BOS when encoding
// The vocabularies are real when present: $TFM_FUZZ_SPM_TOKENIZER (default
// /work/shared/tokenizers/llama2/tokenizer.bin) and $TFM_FUZZ_GPT2_DIR
// (default /work/shared/models/tiny-gpt2, vocab.json + merges.txt); otherwise
// small vocabularies built here. Checks: ids in range, whole decode equals
// streamed decode, output is valid UTF-8, and text round-trips (GPT-2: any
// bytes; SentencePiece with BOS: valid UTF-8 without U+2581).
//
//===----------------------------------------------------------------------===//

#include "../test/support/TinyVocabularies.h"
#include "FuzzTokenizer.h"

#include "tfm/Formats/TokenizerFiles.h"

#include <cstdlib>
#include <memory>

namespace {
using tfm::rt::Tokenizer;
using tfm::rt::TokenType;

std::string envOr(const char *name, const char *fallback) {
  const char *v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::unique_ptr<Tokenizer> tinySentencePiece() {
  std::string error;
  auto t = tfm::test::tinySentencePiece({"\xe2\x96\x81", "a", "b", "c",
                                         "\xe2\x96\x81"
                                         "a",
                                         "ab", "abc", "\xe4\xb8\xad", "<s>x"},
                                        error);
  if (!t)
    tfm::fuzz::fail("tiny SentencePiece vocabulary", error);
  return t;
}

std::unique_ptr<Tokenizer> tinyGpt2() {
  std::string error;
  auto t = tfm::test::tinyGpt2({{"\xc4\xa0", "t"}, // "Ġt"
                                {"h", "e"},
                                {"\xc4\xa0t", "he"},
                                {"l", "l"},
                                {"ll", "o"}},
                               error);
  if (!t)
    tfm::fuzz::fail("tiny GPT-2 vocabulary", error);
  return t;
}

const Tokenizer &sentencePiece() {
  static std::unique_ptr<Tokenizer> t = [] {
    auto tok = tfm::formats::loadTokenizer(
        envOr("TFM_FUZZ_SPM_TOKENIZER",
              "/work/shared/tokenizers/llama2/tokenizer.bin"));
    if (tok)
      return std::move(*tok);
    llvm::consumeError(tok.takeError());
    return tinySentencePiece();
  }();
  return *t;
}

const Tokenizer &gpt2() {
  static std::unique_ptr<Tokenizer> t = [] {
    auto tok = tfm::formats::loadTokenizer(
        envOr("TFM_FUZZ_GPT2_DIR", "/work/shared/models/tiny-gpt2") +
        "/vocab.json");
    if (tok)
      return std::move(*tok);
    llvm::consumeError(tok.takeError());
    return tinyGpt2();
  }();
  return *t;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  const uint8_t mode = data[0];
  const Tokenizer &tok = (mode & 1) ? gpt2() : sentencePiece();
  const bool addBos = (mode & 4) != 0;
  std::string_view payload(reinterpret_cast<const char *>(data + 1), size - 1);
  if (mode & 2) {
    std::vector<int32_t> ids;
    const int64_t range = int64_t(tok.vocabSize()) + 8;
    for (size_t i = 0; i + 1 < payload.size(); i += 2) {
      uint32_t v = uint8_t(payload[i]) | uint32_t(uint8_t(payload[i + 1])) << 8;
      ids.push_back(int32_t(int64_t(v) % range - 4));
    }
    std::string whole = tok.decode(ids);
    std::string streamed = tfm::fuzz::streamDecode(tok, ids);
    if (whole != streamed)
      tfm::fuzz::fail("decode and streamed decode differ", "");
    return 0;
  }
  std::vector<int32_t> ids = tok.encode(payload, addBos);
  for (int32_t id : ids)
    if (id < 0 || id >= tok.vocabSize())
      tfm::fuzz::fail("encode produced an out-of-range id", std::to_string(id));
  std::string streamed = tfm::fuzz::streamDecode(tok, ids);
  if (tok.decode(ids) != streamed)
    tfm::fuzz::fail("decode and streamed decode differ", "");
  bool roundTrip = tok.getKind() == tfm::rt::TokenizerKind::Gpt2
                       ? tfm::rt::isValidUtf8(payload)
                       : addBos && tok.getBos() >= 0 &&
                             tfm::rt::isValidUtf8(payload) &&
                             payload.find("\xe2\x96\x81") == std::string::npos;
  if (roundTrip && streamed != payload)
    tfm::fuzz::fail("decode(encode(text)) != text",
                    std::string(payload) + " -> " + streamed);
  return 0;
}
