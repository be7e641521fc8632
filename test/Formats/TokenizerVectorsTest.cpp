//===- TokenizerVectorsTest.cpp - Tokenizers against independent oracles --===//
//
// Compares our tokenizers with SentencePiece itself (run through Python at
// test time) and with llama.cpp's published tokenizer vectors, on the real
// vocabularies in the shared data directory. Skips when that directory
// (TFM_TEST_DATA, default TFM_SOURCE_DIR/../shared) or Python's
// sentencepiece module is missing.
//
//===----------------------------------------------------------------------===//

#include "tfm/Formats/TokenizerFiles.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

using namespace tfm::rt;

namespace {

std::string sharedDir() {
  if (const char *env = std::getenv("TFM_TEST_DATA"))
    return env;
  return std::string(TFM_SOURCE_DIR) + "/../shared";
}

bool fileExists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string readAll(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Splits `data` into the strings that each end with `separator`.
std::vector<std::string> splitTerminated(const std::string &data,
                                         const std::string &separator) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    size_t at = data.find(separator, pos);
    if (at == std::string::npos)
      break;
    out.push_back(data.substr(pos, at - pos));
    pos = at + separator.size();
  }
  return out;
}

std::vector<int32_t> parseIds(const std::string &line) {
  std::vector<int32_t> ids;
  std::istringstream in(line);
  int32_t id;
  while (in >> id)
    ids.push_back(id);
  return ids;
}

std::string escaped(const std::string &s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7F && c != '\\')
      out += char(c);
    else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

std::unique_ptr<Tokenizer> load(const std::string &path) {
  auto tok = tfm::formats::loadTokenizer(path);
  if (!tok) {
    ADD_FAILURE() << llvm::toString(tok.takeError());
    return nullptr;
  }
  return std::move(*tok);
}

std::string corpusPath() {
  return std::string(TFM_SOURCE_DIR) + "/test/runtime/oracle/spm_corpus.txt";
}

std::vector<std::string> corpus() {
  return splitTerminated(readAll(corpusPath()), "\n__tfm_corpus__\n");
}

#define REQUIRE_SHARED(path)                                                   \
  do {                                                                         \
    if (!fileExists(path))                                                     \
      GTEST_SKIP() << "shared test data not found: " << (path)                 \
                   << " (set TFM_TEST_DATA to the shared directory)";          \
  } while (0)

/// Runs the llama.cpp vectors NAME.inp/.out against `tok`; returns passes.
size_t runLlamaCppVectors(const Tokenizer &tok, const std::string &base,
                          size_t &total) {
  std::vector<std::string> inputs =
      splitTerminated(readAll(base + ".inp"), "\n__ggml_vocab_test__\n");
  std::vector<std::string> outputs =
      splitTerminated(readAll(base + ".out"), "\n");
  EXPECT_EQ(inputs.size(), outputs.size());
  total = std::min(inputs.size(), outputs.size());
  size_t passed = 0;
  for (size_t i = 0; i < total; ++i) {
    std::vector<int32_t> expected = parseIds(outputs[i]);
    std::vector<int32_t> got = tok.encode(inputs[i], /*addBos=*/false);
    EXPECT_EQ(got, expected)
        << "string " << i << ": '" << escaped(inputs[i]) << "'";
    passed += got == expected;
  }
  return passed;
}

} // namespace

TEST(TokenizerVectors, SpmMatchesSentencePiece) {
  const std::string model = sharedDir() + "/tokenizers/llama2/tokenizer.model";
  REQUIRE_SHARED(model);
  const std::string script =
      std::string(TFM_SOURCE_DIR) + "/test/runtime/oracle/spm_vectors.py";
  std::string command = std::string(TFM_PYTHON) + " '" + script + "' '" +
                        model + "' '" + corpusPath() + "'";
  FILE *pipe = ::popen(command.c_str(), "r");
  ASSERT_TRUE(pipe) << command;
  std::string output;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0)
    output.append(buf, n);
  int status = ::pclose(pipe);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
    GTEST_SKIP() << "python sentencepiece module not available";
  ASSERT_EQ(status, 0) << command;

  std::vector<std::string> strings = corpus();
  std::vector<std::string> lines = splitTerminated(output, "\n");
  ASSERT_EQ(lines.size(), strings.size());
  ASSERT_GE(strings.size(), 50u);

  // The same vocabulary in llama2.c's format, as GGUF metadata and in
  // SentencePiece's own tokenizer.model (issue 14, bug 11: it was misread
  // as a tokenizer.bin).
  for (const char *file :
       {"/tokenizers/llama2/tokenizer.bin",
        "/tokenizers/llamacpp-vocab/ggml-vocab-llama-spm.gguf",
        "/tokenizers/llama2/tokenizer.model"}) {
    auto tok = load(sharedDir() + file);
    ASSERT_TRUE(tok);
    size_t passed = 0, bytes = 0;
    for (size_t i = 0; i < strings.size(); ++i) {
      std::vector<int32_t> expected = parseIds(lines[i]);
      std::vector<int32_t> got = tok->encode(strings[i], false);
      EXPECT_EQ(got, expected)
          << file << " string " << i << ": '" << escaped(strings[i]) << "'";
      passed += got == expected;
      bytes += strings[i].size();
    }
    std::printf("[ vectors  ] %s vs SentencePiece: %zu/%zu strings (%zu "
                "bytes) identical\n",
                file, passed, strings.size(), bytes);
  }
}

/// Loads the tokenizer in `file` and checks it against the 46 llama.cpp
/// vectors of `base` (a GGUF in tokenizers/llamacpp-vocab, with its .inp
/// and .out). Returns the tokenizer (null when it did not load).
static std::unique_ptr<Tokenizer>
expectLlamaCppVectors(const std::string &file, const std::string &base) {
  auto tok = load(file);
  if (!tok)
    return nullptr;
  size_t total = 0;
  size_t passed = runLlamaCppVectors(*tok, base, total);
  EXPECT_EQ(total, 46u);
  std::printf("[ vectors  ] %s vectors with %s: %zu/%zu\n",
              base.c_str() + base.rfind('/') + 1, file.c_str(), passed, total);
  return tok;
}

TEST(TokenizerVectors, LlamaCppSpm) {
  const std::string base =
      sharedDir() + "/tokenizers/llamacpp-vocab/ggml-vocab-llama-spm.gguf";
  REQUIRE_SHARED(base);
  for (const std::string &file :
       {base, sharedDir() + "/tokenizers/llama2/tokenizer.bin",
        sharedDir() + "/tokenizers/llama2/tokenizer.model"})
    EXPECT_TRUE(expectLlamaCppVectors(file, base));
}

TEST(TokenizerVectors, LlamaCppGpt2) {
  const std::string base =
      sharedDir() + "/tokenizers/llamacpp-vocab/ggml-vocab-gpt-2.gguf";
  REQUIRE_SHARED(base);
  // GGUF metadata and the identical vocab.json + merges.txt of tiny-gpt2.
  for (const std::string &file :
       {base, sharedDir() + "/models/tiny-gpt2/vocab.json"}) {
    auto tok = expectLlamaCppVectors(file, base);
    ASSERT_TRUE(tok);
    EXPECT_EQ(tok->vocabSize(), 50257);
    EXPECT_EQ(tok->getEos(), 50256);
  }
}

TEST(TokenizerVectors, RoundTripValidUtf8) {
  const std::string spm = sharedDir() + "/tokenizers/llama2/tokenizer.bin";
  REQUIRE_SHARED(spm);
  auto llama = load(spm);
  auto gpt2 = load(sharedDir() + "/models/tiny-gpt2/vocab.json");
  ASSERT_TRUE(llama && gpt2);
  size_t checked = 0;
  for (const std::string &s : corpus()) {
    if (!isValidUtf8(s))
      continue;
    // "▁" in the text means a space to SentencePiece: not invertible.
    if (s.find("\xE2\x96\x81") == std::string::npos) {
      EXPECT_EQ(llama->decode(llama->encode(s, true)), s) << escaped(s);
    }
    EXPECT_EQ(gpt2->decode(gpt2->encode(s, false)), s) << escaped(s);
    ++checked;
  }
  EXPECT_GE(checked, 50u);
}

TEST(TokenizerVectors, SerializationRoundTrip) {
  const std::string spm = sharedDir() + "/tokenizers/llama2/tokenizer.bin";
  REQUIRE_SHARED(spm);
  for (const std::string &file :
       {spm, sharedDir() + "/models/tiny-gpt2/vocab.json",
        sharedDir() + "/models/stories260K-gguf/model.gguf"}) {
    auto tok = load(file);
    ASSERT_TRUE(tok);
    std::vector<uint8_t> bytes = tok->serialize();
    std::string error;
    auto back = Tokenizer::deserialize(bytes.data(), bytes.size(), error);
    ASSERT_TRUE(back) << error;
    EXPECT_EQ(back->getKind(), tok->getKind());
    EXPECT_EQ(back->vocabSize(), tok->vocabSize());
    EXPECT_EQ(back->getBos(), tok->getBos());
    EXPECT_EQ(back->getEos(), tok->getEos());
    EXPECT_EQ(back->getAddBosByDefault(), tok->getAddBosByDefault());
    for (int32_t id = 0; id < tok->vocabSize(); ++id) {
      ASSERT_EQ(back->piece(id), tok->piece(id));
      ASSERT_EQ(back->score(id), tok->score(id));
      ASSERT_EQ(back->type(id), tok->type(id));
    }
    for (const std::string &s : corpus())
      EXPECT_EQ(back->encode(s, true), tok->encode(s, true)) << escaped(s);
    EXPECT_EQ(back->serialize(), bytes);
  }
}

TEST(TokenizerVectors, ModelTokenizersAgreeAcrossFormats) {
  // stories260K ships the same 512-token vocabulary as tokenizer.bin and in
  // its GGUF metadata; both must encode identically.
  const std::string bin = sharedDir() + "/models/stories260K/tokenizer.bin";
  REQUIRE_SHARED(bin);
  auto a = load(bin);
  auto b = load(sharedDir() + "/models/stories260K-gguf/model.gguf");
  auto c = load(sharedDir() + "/models/aidreams260K/tokenizer.bin");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->vocabSize(), 512);
  EXPECT_EQ(b->vocabSize(), 512);
  EXPECT_EQ(c->vocabSize(), 512);
  for (const std::string &s : corpus()) {
    EXPECT_EQ(a->encode(s, true), b->encode(s, true)) << escaped(s);
    if (isValidUtf8(s) && s.find("\xE2\x96\x81") == std::string::npos) {
      EXPECT_EQ(c->decode(c->encode(s, true)), s) << escaped(s);
    }
  }
}
