//===- TokenizerFilesTest.cpp - Readers of tokenizer files ----------------===//
//
// Synthetic tokenizer.bin, vocab.json and merges.txt files: what a reader
// loads is the vocabulary written, and every truncated or corrupt file is
// rejected with the byte offset of the problem, never a crash.
//
//===----------------------------------------------------------------------===//

#include "tfm/Formats/TokenizerFiles.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace tfm::formats;
using tfm::rt::Tokenizer;
using tfm::rt::TokenType;

namespace {

/// Writes llama2.c's tokenizer.bin for `pieces` (spaces as ' '); records the
/// offset of each length field in `lengthOffsets` when non-null.
std::string writeLlama2c(const std::vector<std::string> &pieces,
                         std::vector<size_t> *lengthOffsets) {
  std::string out;
  auto put = [&](const void *p, size_t n) {
    out.append(static_cast<const char *>(p), n);
  };
  int32_t maxLen = 0;
  for (auto &p : pieces)
    maxLen = std::max(maxLen, int32_t(p.size()));
  put(&maxLen, 4);
  for (size_t i = 0; i < pieces.size(); ++i) {
    float score = -float(i);
    int32_t len = int32_t(pieces[i].size());
    put(&score, 4);
    if (lengthOffsets)
      lengthOffsets->push_back(out.size());
    put(&len, 4);
    out += pieces[i];
  }
  return out;
}

std::vector<std::string> smallLlama2cPieces() {
  std::vector<std::string> pieces = {"<unk>", "\n<s>\n", "\n</s>\n"};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
    pieces.push_back(buf);
  }
  for (const char *p :
       {" ", "e", "h", "l", "o", " h", "he", "ll", " he", "llo", " hello"})
    pieces.push_back(p);
  return pieces;
}

/// The message of a failed load ("" when it loaded).
std::string errorOf(llvm::Expected<std::unique_ptr<Tokenizer>> t) {
  return t ? std::string() : llvm::toString(t.takeError());
}

TEST(TokenizerFiles, Llama2cLoaderReadsWhatItWrites) {
  auto pieces = smallLlama2cPieces();
  auto loaded = loadLlama2cTokenizer(writeLlama2c(pieces, nullptr));
  ASSERT_TRUE(bool(loaded)) << llvm::toString(loaded.takeError());
  const Tokenizer &tok = **loaded;
  EXPECT_EQ(tok.vocabSize(), int32_t(pieces.size()));
  EXPECT_EQ(tok.getBos(), 1);
  EXPECT_EQ(tok.getEos(), 2);
  EXPECT_EQ(tok.type(0), TokenType::Unknown);
  EXPECT_EQ(tok.type(3 + 0x41), TokenType::Byte);
  EXPECT_EQ(tok.tokenBytes(3 + 0x41), "A");
  EXPECT_EQ(tok.tokenBytes(1), "");
  // Spaces are stored as SentencePiece's "▁" and decode back to spaces.
  int32_t hello = tok.pieceToId("\xE2\x96\x81hello");
  ASSERT_GE(hello, 0);
  EXPECT_EQ(tok.tokenBytes(hello), " hello");
  EXPECT_EQ(tok.decode(tok.encode("hello hello", true)), "hello hello");
}

TEST(TokenizerFiles, Llama2cTruncationReportsByteOffset) {
  auto pieces = smallLlama2cPieces();
  const std::string bytes = writeLlama2c(pieces, nullptr);
  size_t accepted = 0;
  for (size_t len = 0; len < bytes.size(); ++len) {
    // A copy, so that reading past the cut is caught by ASan.
    std::string cut = bytes.substr(0, len);
    auto tok = loadLlama2cTokenizer(cut);
    if (tok) {
      // Only cuts at a token boundary are whole files.
      EXPECT_LT((*tok)->vocabSize(), int32_t(pieces.size()));
      ++accepted;
      continue;
    }
    std::string error = llvm::toString(tok.takeError());
    EXPECT_NE(error.find("byte offset"), std::string::npos) << error;
  }
  // One cut per token boundary after the first (vocabulary must not be
  // empty).
  EXPECT_EQ(accepted, pieces.size() - 1);
  // With the model's vocabulary size every cut, and extra bytes, fail.
  const int64_t vocab = int64_t(pieces.size());
  for (size_t len = 0; len < bytes.size(); ++len) {
    std::string error =
        errorOf(loadLlama2cTokenizer(bytes.substr(0, len), vocab));
    EXPECT_NE(error.find("byte offset"), std::string::npos) << error;
  }
  EXPECT_EQ(errorOf(loadLlama2cTokenizer(bytes, vocab)), "");
  std::string error =
      errorOf(loadLlama2cTokenizer(bytes + std::string(3, '\0'), vocab));
  EXPECT_NE(error.find("byte offset " + std::to_string(bytes.size())),
            std::string::npos)
      << error;
}

TEST(TokenizerFiles, Llama2cCorruptLengthReportsItsOffset) {
  std::vector<size_t> lengthOffsets;
  auto pieces = smallLlama2cPieces();
  const std::string bytes = writeLlama2c(pieces, &lengthOffsets);
  for (size_t victim : {size_t(0), size_t(5), pieces.size() - 1}) {
    for (int32_t bad : {-1, 1 << 20}) {
      std::string copy = bytes;
      std::memcpy(&copy[lengthOffsets[victim]], &bad, 4);
      std::string error = errorOf(loadLlama2cTokenizer(copy));
      std::string where =
          "byte offset " + std::to_string(lengthOffsets[victim]);
      EXPECT_NE(error.find(where), std::string::npos) << error;
    }
  }
  std::string error = errorOf(loadLlama2cTokenizer(""));
  EXPECT_NE(error.find("byte offset 0"), std::string::npos) << error;
  int32_t badMax = -5;
  std::string copy = bytes;
  std::memcpy(&copy[0], &badMax, 4);
  error = errorOf(loadLlama2cTokenizer(copy));
  EXPECT_NE(error.find("byte offset 0"), std::string::npos) << error;
}

/// vocab.json of the 256 GPT-2 byte characters, "he", "ll" and
/// "<|endoftext|>".
std::string smallVocabJson() {
  std::string json = "{";
  int32_t id = 0;
  auto add = [&](const std::string &piece) {
    std::string quoted;
    for (char c : piece)
      quoted +=
          (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    json += (id ? ", \"" : "\"") + quoted + "\": " + std::to_string(id);
    ++id;
  };
  for (int b = 0; b < 256; ++b) {
    std::string piece;
    tfm::rt::appendUtf8(piece, tfm::rt::gpt2ByteToCodePoint(uint8_t(b)));
    add(piece);
  }
  for (const char *piece : {"he", "ll", "<|endoftext|>"})
    add(piece);
  return json + "}";
}

TEST(TokenizerFiles, Gpt2FilesErrorsNameTheirLocation) {
  const std::string badJson = "{\"a\": 0,, }";
  std::string error = errorOf(loadGpt2Tokenizer(badJson, ""));
  EXPECT_NE(error.find("vocab.json"), std::string::npos) << error;
  // llvm::json points just past the unexpected second comma.
  EXPECT_NE(error.find("byte=" + std::to_string(badJson.find(",,") + 2)),
            std::string::npos)
      << error;
  error = errorOf(loadGpt2Tokenizer("{\"a\": 0, \"b\": 5}", ""));
  EXPECT_NE(error.find("dense"), std::string::npos) << error;
  error = errorOf(loadGpt2Tokenizer("{\"a\": \"zero\"}", ""));
  EXPECT_NE(error.find("not an integer"), std::string::npos) << error;
  // A vocabulary without GPT-2's byte characters is rejected.
  error = errorOf(loadGpt2Tokenizer("{\"a\": 0}", ""));
  EXPECT_NE(error.find("byte"), std::string::npos) << error;

  const std::string json = smallVocabJson();
  const std::string header = "#version: 0.2\n";
  auto ok = loadGpt2Tokenizer(json, header + "h e\nl l\n");
  ASSERT_TRUE(bool(ok)) << llvm::toString(ok.takeError());
  EXPECT_EQ((*ok)->vocabSize(), 259);
  EXPECT_EQ((*ok)->getEos(), 258);
  EXPECT_EQ(
      (*ok)->encode("hell", false),
      (std::vector<int32_t>{(*ok)->pieceToId("he"), (*ok)->pieceToId("ll")}));
  error = errorOf(loadGpt2Tokenizer(json, header + "h e\nq zz\n"));
  EXPECT_NE(
      error.find("merges.txt byte offset " + std::to_string(header.size() + 4)),
      std::string::npos)
      << error;
  error = errorOf(loadGpt2Tokenizer(json, "h  e\n"));
  EXPECT_NE(error.find("merges.txt byte offset 0"), std::string::npos) << error;
}

TEST(TokenizerFiles, LoadTokenizerReportsMissingFiles) {
  std::string error = errorOf(loadTokenizer("/nonexistent/tokenizer.bin"));
  EXPECT_NE(error.find("/nonexistent/tokenizer.bin"), std::string::npos)
      << error;
}

/// Protobuf wire format, written here by hand from the encoding rules.
std::string varint(uint64_t v) {
  std::string out;
  do {
    out += char((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
    v >>= 7;
  } while (v);
  return out;
}
std::string lengthField(uint32_t field, const std::string &body) {
  return varint(field << 3 | 2) + varint(body.size()) + body;
}
std::string varintField(uint32_t field, uint64_t v) {
  return varint(field << 3) + varint(v);
}

/// A SentencePiece ModelProto: pieces (piece, score, type), trainer_spec
/// (model_type), normalizer_spec (name, add_dummy_prefix,
/// remove_extra_whitespaces).
std::string sentencePieceModel(uint64_t modelType, bool removeExtraSpaces) {
  std::string out;
  struct Piece {
    const char *text;
    float score;
    int type;
  };
  const Piece pieces[] = {{"<unk>", 0, 2},
                          {"<s>", 0, 3},
                          {"</s>", 0, 3},
                          {"<0x0A>", 0, 6},
                          {"\xE2\x96\x81", -1, 1},
                          {"h", -2, 1},
                          {"i", -3, 1},
                          {"\xE2\x96\x81h", -4, 1},
                          {"\xE2\x96\x81hi", -5, 1}};
  for (const Piece &p : pieces) {
    uint32_t bits;
    std::memcpy(&bits, &p.score, 4);
    std::string score = varint(2 << 3 | 5);
    score.append(reinterpret_cast<const char *>(&bits), 4);
    out += lengthField(1, lengthField(1, p.text) + score +
                              varintField(3, uint64_t(p.type)));
  }
  out += lengthField(2, varintField(3, modelType) + varintField(35, 1));
  out += lengthField(3, lengthField(1, "identity") + varintField(3, 1) +
                            varintField(4, removeExtraSpaces));
  return out;
}

// SentencePiece's tokenizer.model is read by content (issue 14, bug 11: it
// was taken for a llama2.c tokenizer.bin, "max_token_length 84545034").
TEST(TokenizerFiles, SentencePieceModel) {
  std::string bytes = sentencePieceModel(/*BPE=*/2, false);
  auto tok = loadSentencePieceModel(bytes);
  ASSERT_TRUE(bool(tok)) << llvm::toString(tok.takeError());
  EXPECT_EQ((*tok)->vocabSize(), 9);
  EXPECT_EQ((*tok)->getBos(), 1);
  EXPECT_EQ((*tok)->getEos(), 2);
  EXPECT_EQ((*tok)->type(3), TokenType::Byte);
  EXPECT_EQ((*tok)->type(1), TokenType::Control);
  EXPECT_EQ((*tok)->encode("hi", true), (std::vector<int32_t>{1, 8}));
  EXPECT_EQ((*tok)->encode("hi\n", false), (std::vector<int32_t>{8, 3}));

  // Detection by content goes through loadTokenizer too.
  std::string path = ::testing::TempDir() + "tfm-spm-test.model";
  {
    std::FILE *f = std::fopen(path.c_str(), "wb");
    ASSERT_TRUE(f);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }
  auto loaded = loadTokenizer(path);
  ASSERT_TRUE(bool(loaded)) << llvm::toString(loaded.takeError());
  EXPECT_EQ((*loaded)->encode("hi", false), (std::vector<int32_t>{8}));
  std::remove(path.c_str());

  // What the tokenizer does not implement is refused, by name.
  std::string error =
      errorOf(loadSentencePieceModel(sentencePieceModel(/*UNIGRAM=*/1, false)));
  EXPECT_NE(error.find("is a unigram model; tfmc reads SentencePiece BPE "
                       "models (Llama's) only"),
            std::string::npos)
      << error;
  error = errorOf(loadSentencePieceModel(sentencePieceModel(2, true)));
  EXPECT_NE(error.find("remove_extra_whitespaces true"), std::string::npos)
      << error;
  // Truncation names a byte offset.
  error = errorOf(loadSentencePieceModel(bytes.substr(0, 20)));
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
  EXPECT_NE(error.find("byte offset"), std::string::npos) << error;
}

} // namespace
