//===- TinyVocabularies.h - Small tokenizers built in memory ----*- C++ -*-===//
//
// Vocabularies for unit tests and fuzz targets that must not depend on the
// shared model files: llama2.c's SentencePiece layout and GPT-2's byte-level
// BPE, each with a handful of pieces. On failure they return null and set
// `error`.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TEST_SUPPORT_TINYVOCABULARIES_H
#define TFM_TEST_SUPPORT_TINYVOCABULARIES_H

#include "tfm/runtime/Tokenizer.h"
#include "tfm/runtime/Utf8.h"

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tfm::test {

/// <unk>, <s>, </s>, the 256 byte tokens, then `extra` pieces (SentencePiece
/// form, U+2581 for a space) with decreasing scores.
inline std::unique_ptr<rt::Tokenizer>
tinySentencePiece(const std::vector<std::string> &extra, std::string &error) {
  std::vector<std::string> pieces = {"<unk>", "<s>", "</s>"};
  std::vector<rt::TokenType> types = {
      rt::TokenType::Unknown, rt::TokenType::Control, rt::TokenType::Control};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
    pieces.push_back(buf);
    types.push_back(rt::TokenType::Byte);
  }
  std::vector<float> scores(pieces.size(), 0.0f);
  for (size_t i = 0; i < extra.size(); ++i) {
    pieces.push_back(extra[i]);
    types.push_back(rt::TokenType::Normal);
    scores.push_back(-float(i));
  }
  return rt::Tokenizer::createSentencePiece(pieces, scores, types, 1, 2, error);
}

/// The 256 byte characters, one token per merge (left + right, in order),
/// then <|endoftext|> as BOS and EOS.
inline std::unique_ptr<rt::Tokenizer>
tinyGpt2(const std::vector<std::pair<std::string, std::string>> &merges,
         std::string &error) {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) {
    std::string s;
    rt::appendUtf8(s, rt::gpt2ByteToCodePoint(uint8_t(b)));
    tokens.push_back(s);
  }
  auto id = [&](const std::string &s) {
    for (size_t i = 0; i < tokens.size(); ++i)
      if (tokens[i] == s)
        return int32_t(i);
    return int32_t(-1);
  };
  std::vector<std::pair<int32_t, int32_t>> ids;
  for (const auto &[l, r] : merges) {
    ids.emplace_back(id(l), id(r));
    tokens.push_back(l + r);
  }
  tokens.push_back("<|endoftext|>");
  std::vector<rt::TokenType> types(tokens.size(), rt::TokenType::Normal);
  types.back() = rt::TokenType::Control;
  int32_t eot = int32_t(tokens.size() - 1);
  return rt::Tokenizer::createGpt2(tokens, types, ids, eot, eot, error);
}

} // namespace tfm::test

#endif // TFM_TEST_SUPPORT_TINYVOCABULARIES_H
