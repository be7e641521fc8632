//===- TokenizerTest.cpp - Tokenizer unit tests on synthetic vocabularies -===//
//
// Properties that need no shared data: streaming decoding never splits a
// UTF-8 character, byte-level round trips, and the binary form rejects
// truncated or corrupt input with a byte offset, never a crash. (The readers
// of tokenizer files are tested in test/Formats.)
//
//===----------------------------------------------------------------------===//

#include "tfm/runtime/Tokenizer.h"

#include "../support/TinyVocabularies.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace tfm::rt;

namespace {

/// A llama2.c-style vocabulary with `extra` pieces after the byte tokens.
std::unique_ptr<Tokenizer> makeSpm(const std::vector<std::string> &extra) {
  std::string error;
  auto t = tfm::test::tinySentencePiece(extra, error);
  EXPECT_TRUE(t) << error;
  return t;
}

/// A GPT-2 vocabulary of the 256 byte characters plus a few merges.
std::unique_ptr<Tokenizer> makeGpt2() {
  std::string error;
  auto t = tfm::test::tinyGpt2(
      {{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"Ġ", "w"}}, error);
  EXPECT_TRUE(t) << error;
  return t;
}

} // namespace

TEST(Tokenizer, StreamingHoldsBackPartialCharacters) {
  auto tok = makeSpm({"\xE2\x96\x81", "a"}); // "▁", "a".
  ASSERT_TRUE(tok);
  std::string text = "a\xE4\xB8\xAD\xF0\x9F\x98\x80\xC3\xA9 a";
  std::vector<int32_t> ids = tok->encode(text, true);
  // 中, 😀 and é are not pieces: they must fall back to byte tokens.
  size_t byteTokens = 0;
  for (int32_t id : ids)
    byteTokens += tok->type(id) == TokenType::Byte;
  EXPECT_EQ(byteTokens, std::strlen("\xE4\xB8\xAD\xF0\x9F\x98\x80\xC3\xA9"));

  TokenDecoder decoder(*tok);
  std::string out;
  size_t emptyChunks = 0;
  for (int32_t id : ids) {
    std::string chunk = decoder.push(id);
    EXPECT_TRUE(isValidUtf8(chunk));
    emptyChunks += chunk.empty();
    out += chunk;
  }
  out += decoder.finish();
  EXPECT_EQ(out, text);
  // At least the 2 + 3 + 1 leading bytes of the three characters.
  EXPECT_GE(emptyChunks, 2u + 3u + 1u);
}

TEST(Tokenizer, StreamingReplacesStrayBytes) {
  auto tok = makeSpm({"\xE2\x96\x81"});
  ASSERT_TRUE(tok);
  // A lead byte followed by an ASCII byte, and a lead byte at the end.
  std::vector<int32_t> ids = {3 + 0xE4, 3 + 'x', 3 + 0xF0};
  std::string out = tok->decode(ids);
  EXPECT_TRUE(isValidUtf8(out));
  std::string want;
  appendUtf8(want, kReplacementChar);
  want += 'x';
  appendUtf8(want, kReplacementChar);
  EXPECT_EQ(out, want);
}

TEST(Tokenizer, DummyPrefixStrippedOnlyAfterBos) {
  auto tok = makeSpm({"\xE2\x96\x81",
                      "\xE2\x96\x81"
                      "a",
                      "a"});
  ASSERT_TRUE(tok);
  std::vector<int32_t> ids = tok->encode("a a", false);
  EXPECT_EQ(tok->decode(ids), " a a");
  ids.insert(ids.begin(), tok->getBos());
  EXPECT_EQ(tok->decode(ids), "a a");
  EXPECT_TRUE(tok->encode("", false).empty());
  EXPECT_EQ(tok->encode("", true), std::vector<int32_t>{tok->getBos()});
}

TEST(Tokenizer, Gpt2ByteLevelIsLossless) {
  auto tok = makeGpt2();
  ASSERT_TRUE(tok);
  EXPECT_FALSE(tok->getAddBosByDefault());
  std::mt19937 rng(7);
  for (int iter = 0; iter < 500; ++iter) {
    std::string text(rng() % 40, '\0');
    for (char &c : text)
      c = char(rng() % 3 ? "hello w'\n "[rng() % 10] : rng() % 256);
    std::vector<int32_t> ids = tok->encode(text, false);
    std::string bytes;
    for (int32_t id : ids)
      bytes += tok->tokenBytes(id);
    ASSERT_EQ(bytes, text);
    if (isValidUtf8(text))
      ASSERT_EQ(tok->decode(ids), text);
  }
}

TEST(Tokenizer, SerializationRoundTripAndTruncation) {
  std::vector<std::unique_ptr<Tokenizer>> toks;
  toks.push_back(makeSpm({"\xE2\x96\x81", "a", "b", "ab"}));
  toks.push_back(makeGpt2());
  for (auto &tok : toks) {
    ASSERT_TRUE(tok);
    std::vector<uint8_t> bytes = tok->serialize();
    std::string error;
    auto back = Tokenizer::deserialize(bytes.data(), bytes.size(), error);
    ASSERT_TRUE(back) << error;
    EXPECT_EQ(back->serialize(), bytes);
    for (const char *s : {"ab ab", "hello world", "\xFF\xC3 x"})
      EXPECT_EQ(back->encode(s, true), tok->encode(s, true));
    for (size_t len = 0; len < bytes.size(); ++len) {
      auto t = Tokenizer::deserialize(bytes.data(), len, error);
      ASSERT_FALSE(t) << "prefix " << len << " accepted";
      EXPECT_NE(error.find("byte offset"), std::string::npos) << error;
    }
    auto longer = bytes;
    longer.push_back(0);
    EXPECT_FALSE(Tokenizer::deserialize(longer.data(), longer.size(), error));
    EXPECT_NE(error.find("byte offset " + std::to_string(bytes.size())),
              std::string::npos)
        << error;
    auto badMagic = bytes;
    badMagic[0] = 'X';
    EXPECT_FALSE(
        Tokenizer::deserialize(badMagic.data(), badMagic.size(), error));
    EXPECT_NE(error.find("byte offset 0"), std::string::npos) << error;
    auto badVersion = bytes;
    badVersion[8] = 99;
    EXPECT_FALSE(
        Tokenizer::deserialize(badVersion.data(), badVersion.size(), error));
    EXPECT_NE(error.find("byte offset 8"), std::string::npos) << error;
  }
}

// Found by fuzz_tokenizer_deserialize: merges after a SentencePiece
// vocabulary were read and dropped, so the bytes did not round-trip.
TEST(Tokenizer, DeserializeRejectsSentencePieceMerges) {
  auto tok = makeSpm({"\xE2\x96\x81", "a", "b", "ab"});
  ASSERT_TRUE(tok);
  std::vector<uint8_t> bytes = tok->serialize();
  ASSERT_EQ(bytes[28], 0); // the merge count
  bytes[28] = 1;
  bytes.insert(bytes.end(), {1, 0, 0, 0, 2, 0, 0, 0}); // merge "a" + "b"
  std::string error;
  EXPECT_FALSE(Tokenizer::deserialize(bytes.data(), bytes.size(), error));
  EXPECT_NE(error.find("merge count 1 at byte offset 28"), std::string::npos)
      << error;
}

TEST(Tokenizer, DeserializeSurvivesRandomCorruption) {
  auto tok = makeGpt2();
  ASSERT_TRUE(tok);
  const std::vector<uint8_t> bytes = tok->serialize();
  std::mt19937 rng(42);
  size_t rejected = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    auto copy = bytes;
    for (int k = 0; k < 3; ++k)
      copy[rng() % copy.size()] = uint8_t(rng());
    std::string error;
    auto t = Tokenizer::deserialize(copy.data(), copy.size(), error);
    if (!t) {
      ++rejected;
      EXPECT_FALSE(error.empty());
      continue;
    }
    // Whatever loads must still encode and decode without crashing.
    auto ids = t->encode("hello world \xF0\x9F\x98\x80", true);
    (void)t->decode(ids);
  }
  EXPECT_GT(rejected, 0u);
}
