//===- TokenizerLoad.cpp - Tokenizer file loaders -------------------------===//
//
// Readers for llama2.c's tokenizer.bin, GPT-2's vocab.json + merges.txt and
// GGUF tokenizer metadata, and loadTokenizer(), which tells them apart by
// content. Every reader bounds-checks and names the byte offset of an error.
//
//===----------------------------------------------------------------------===//

#include "JsonLite.h"
#include "tfm/runtime/Gguf.h"
#include "tfm/runtime/Tokenizer.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <sys/stat.h>
#include <unordered_map>

namespace tfm::rt {
namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";
constexpr std::string_view kGpt2EndOfText = "<|endoftext|>";

bool isByteTokenSpelling(std::string_view s) {
  auto hex = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') ||
           (c >= 'a' && c <= 'f');
  };
  return s.size() == 6 && s.substr(0, 3) == "<0x" && hex(s[3]) && hex(s[4]) &&
         s[5] == '>';
}

/// Types for a SentencePiece vocabulary that does not store them (llama2.c):
/// the conventional <unk>/<s>/</s> at 0/1/2 and <0xNN> byte tokens.
TokenType inferSpmType(size_t id, std::string_view piece) {
  if (id == 0 && piece == "<unk>")
    return TokenType::Unknown;
  if (id == 1 || id == 2)
    return TokenType::Control;
  if (isByteTokenSpelling(piece))
    return TokenType::Byte;
  return TokenType::Normal;
}

int32_t readI32(const uint8_t *p) {
  uint32_t v = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
               uint32_t(p[3]) << 24;
  return int32_t(v);
}

bool readFile(const std::string &path, std::string &out, std::string &error) {
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = fmt::format("{}: cannot open: {}", path, std::strerror(errno));
    return false;
  }
  out.clear();
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
    out.append(buf, n);
  bool bad = std::ferror(f);
  std::fclose(f);
  if (bad) {
    error = fmt::format("{}: read error", path);
    return false;
  }
  return true;
}

bool isDirectory(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string directoryOf(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".")
                                    : path.substr(0, slash == 0 ? 1 : slash);
}

/// Builds a GPT-2 tokenizer from tokens and "left right" merge lines;
/// `mergeWhere(i)` describes where merge line i came from for errors.
template <typename WhereFn>
std::unique_ptr<Tokenizer>
buildGpt2(std::vector<std::string> tokens, std::vector<TokenType> types,
          const std::vector<std::string_view> &mergeLines, int32_t bos,
          int32_t eos, WhereFn mergeWhere, std::string &error) {
  std::unordered_map<std::string_view, int32_t> ids;
  ids.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i)
    ids.emplace(tokens[i], int32_t(i));
  std::vector<std::pair<int32_t, int32_t>> merges;
  merges.reserve(mergeLines.size());
  for (size_t i = 0; i < mergeLines.size(); ++i) {
    std::string_view line = mergeLines[i];
    size_t space = line.find(' ');
    if (space == std::string_view::npos || space == 0 ||
        space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string_view::npos) {
      error = fmt::format("{}: merge '{}' is not two tokens separated by one "
                          "space",
                          mergeWhere(i), line);
      return nullptr;
    }
    auto l = ids.find(line.substr(0, space));
    auto r = ids.find(line.substr(space + 1));
    if (l == ids.end() || r == ids.end()) {
      error = fmt::format("{}: merge '{}' names a token not in the vocabulary",
                          mergeWhere(i), line);
      return nullptr;
    }
    merges.emplace_back(l->second, r->second);
  }
  return Tokenizer::createGpt2(std::move(tokens), std::move(types), merges,
                               bos, eos, error);
}

} // namespace

std::unique_ptr<Tokenizer> loadLlama2cTokenizer(const uint8_t *data,
                                                size_t size,
                                                std::string &error,
                                                int64_t expectedVocabSize) {
  if (size < 4) {
    error = fmt::format("tokenizer.bin truncated at byte offset 0: need 4 "
                        "bytes for max_token_length, file has {}",
                        size);
    return nullptr;
  }
  int32_t maxLen = readI32(data);
  if (maxLen <= 0 || maxLen > 65536) {
    error = fmt::format("tokenizer.bin: max_token_length {} at byte offset 0 "
                        "is not in 1..65536",
                        maxLen);
    return nullptr;
  }
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<TokenType> types;
  size_t pos = 4;
  while (pos < size) {
    size_t id = pieces.size();
    if (expectedVocabSize >= 0 && int64_t(id) == expectedVocabSize) {
      error = fmt::format("tokenizer.bin: {} unexpected bytes at byte offset "
                          "{} after the {} tokens the model expects",
                          size - pos, pos, expectedVocabSize);
      return nullptr;
    }
    if (size - pos < 8) {
      error = fmt::format("tokenizer.bin truncated at byte offset {}: token "
                          "{} needs 8 bytes for its score and length, {} left",
                          pos, id, size - pos);
      return nullptr;
    }
    float score;
    std::memcpy(&score, data + pos, 4);
    int32_t len = readI32(data + pos + 4);
    if (len < 0 || len > maxLen) {
      error = fmt::format("tokenizer.bin: token {} has length {} at byte "
                          "offset {}, outside 0..max_token_length ({})",
                          id, len, pos + 4, maxLen);
      return nullptr;
    }
    pos += 8;
    if (size - pos < size_t(len)) {
      error = fmt::format("tokenizer.bin truncated at byte offset {}: token "
                          "{} needs {} bytes, {} left",
                          pos, id, len, size - pos);
      return nullptr;
    }
    std::string_view raw(reinterpret_cast<const char *>(data + pos),
                         size_t(len));
    pos += size_t(len);
    types.push_back(inferSpmType(id, raw));
    // llama2.c's export wrote "▁" as " "; store SentencePiece's form.
    std::string piece;
    for (char c : raw) {
      if (c == ' ')
        piece += kSpaceSymbol;
      else
        piece += c;
    }
    pieces.push_back(std::move(piece));
    scores.push_back(score);
  }
  if (pieces.empty()) {
    error = "tokenizer.bin has no tokens: the file ends at byte offset 4, "
            "right after max_token_length";
    return nullptr;
  }
  if (expectedVocabSize >= 0 && int64_t(pieces.size()) != expectedVocabSize) {
    error = fmt::format("tokenizer.bin ends at byte offset {} after {} tokens, "
                        "but the model expects {}",
                        size, pieces.size(), expectedVocabSize);
    return nullptr;
  }
  int32_t bos = pieces.size() > 1 ? 1 : -1;
  int32_t eos = pieces.size() > 2 ? 2 : -1;
  auto t = Tokenizer::createSentencePiece(std::move(pieces), std::move(scores),
                                          std::move(types), bos, eos, error);
  if (!t)
    error = "tokenizer.bin: " + error;
  return t;
}

std::unique_ptr<Tokenizer> loadGpt2Tokenizer(std::string_view vocabJson,
                                             std::string_view mergesTxt,
                                             std::string &error) {
  std::vector<std::pair<std::string, int64_t>> entries;
  if (!parseJsonStringIntObject(vocabJson, entries, error)) {
    error = "vocab.json: " + error;
    return nullptr;
  }
  if (entries.empty()) {
    error = "vocab.json: empty vocabulary";
    return nullptr;
  }
  std::vector<std::string> tokens(entries.size());
  std::vector<bool> seen(entries.size(), false);
  for (auto &[piece, id] : entries) {
    if (id < 0 || uint64_t(id) >= entries.size() || seen[size_t(id)]) {
      error = fmt::format("vocab.json: id {} of '{}' is duplicate or outside "
                          "0..{} (ids must be dense)",
                          id, piece, entries.size() - 1);
      return nullptr;
    }
    seen[size_t(id)] = true;
    tokens[size_t(id)] = std::move(piece);
  }
  std::vector<TokenType> types(tokens.size(), TokenType::Normal);
  int32_t eot = -1;
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] == kGpt2EndOfText) {
      eot = int32_t(i);
      types[i] = TokenType::Control;
    }

  // merges.txt: an optional "#version" line, then "left right" per line.
  std::vector<std::string_view> lines;
  std::vector<size_t> offsets;
  size_t pos = 0;
  while (pos < mergesTxt.size()) {
    size_t nl = mergesTxt.find('\n', pos);
    size_t end = nl == std::string_view::npos ? mergesTxt.size() : nl;
    std::string_view line = mergesTxt.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    bool header = lines.empty() && offsets.empty() && pos == 0 &&
                  line.substr(0, 8) == "#version";
    if (!line.empty() && !header) {
      lines.push_back(line);
      offsets.push_back(pos);
    }
    pos = end + 1;
  }
  auto where = [&](size_t i) {
    return fmt::format("merges.txt byte offset {}", offsets[i]);
  };
  return buildGpt2(std::move(tokens), std::move(types), lines, eot, eot, where,
                   error);
}

std::unique_ptr<Tokenizer> loadTokenizerFromGguf(const GgufFile &gguf,
                                                 std::string &error) {
  auto model = gguf.getString("tokenizer.ggml.model");
  if (!model) {
    error = "gguf: no string tokenizer.ggml.model";
    return nullptr;
  }
  std::vector<std::string_view> tokenViews;
  if (!gguf.getStringArray("tokenizer.ggml.tokens", tokenViews)) {
    error = "gguf: no string array tokenizer.ggml.tokens";
    return nullptr;
  }
  const size_t n = tokenViews.size();
  std::vector<std::string> tokens(tokenViews.begin(), tokenViews.end());
  auto arrayOffset = [&](const char *key) {
    const GgufKV *kv = gguf.find(key);
    return kv ? kv->valueOffset : 0;
  };

  // Token types: GGUF uses SentencePiece's numbering; 0 means undefined.
  std::vector<TokenType> types(n, TokenType::Normal);
  bool haveTypes = false;
  if (gguf.find("tokenizer.ggml.token_type")) {
    std::vector<int64_t> raw;
    if (!gguf.getIntArray("tokenizer.ggml.token_type", raw) ||
        raw.size() != n) {
      error = fmt::format("gguf: tokenizer.ggml.token_type at byte offset {} "
                          "is not an integer array of {} elements",
                          arrayOffset("tokenizer.ggml.token_type"), n);
      return nullptr;
    }
    for (size_t i = 0; i < n; ++i) {
      if (raw[i] < 0 || raw[i] > 6) {
        error = fmt::format("gguf: tokenizer.ggml.token_type[{}] = {} (array "
                            "at byte offset {}) is not a token type 0..6",
                            i, raw[i],
                            arrayOffset("tokenizer.ggml.token_type"));
        return nullptr;
      }
      types[i] = raw[i] == 0 ? TokenType::Normal : TokenType(raw[i]);
    }
    haveTypes = true;
  }
  auto special = [&](const char *key, int32_t dflt, int32_t &out) {
    out = dflt;
    if (!gguf.find(key))
      return true;
    auto v = gguf.getInt(key);
    if (!v || *v < -1 || *v >= int64_t(n)) {
      error = fmt::format("gguf: {} at byte offset {} is not a token id below "
                          "{}",
                          key, arrayOffset(key), n);
      return false;
    }
    out = int32_t(*v);
    return true;
  };

  std::unique_ptr<Tokenizer> t;
  std::string_view kind = *model;
  if (kind == "llama") {
    std::vector<float> scores(n, 0.0f);
    if (gguf.find("tokenizer.ggml.scores") &&
        (!gguf.getFloatArray("tokenizer.ggml.scores", scores) ||
         scores.size() != n)) {
      error = fmt::format("gguf: tokenizer.ggml.scores at byte offset {} is "
                          "not a float array of {} elements",
                          arrayOffset("tokenizer.ggml.scores"), n);
      return nullptr;
    }
    if (!haveTypes)
      for (size_t i = 0; i < n; ++i)
        types[i] = inferSpmType(i, tokens[i]);
    int32_t bos, eos;
    if (!special("tokenizer.ggml.bos_token_id", n > 1 ? 1 : -1, bos) ||
        !special("tokenizer.ggml.eos_token_id", n > 2 ? 2 : -1, eos))
      return nullptr;
    t = Tokenizer::createSentencePiece(std::move(tokens), std::move(scores),
                                       std::move(types), bos, eos, error);
  } else if (kind == "gpt2") {
    std::vector<std::string_view> merges;
    if (!gguf.getStringArray("tokenizer.ggml.merges", merges)) {
      error = "gguf: no string array tokenizer.ggml.merges for a gpt2 "
              "tokenizer";
      return nullptr;
    }
    int32_t eot = -1;
    for (size_t i = 0; i < n && eot < 0; ++i)
      if (tokens[i] == kGpt2EndOfText)
        eot = int32_t(i);
    if (!haveTypes && eot >= 0)
      types[size_t(eot)] = TokenType::Control;
    int32_t bos, eos;
    if (!special("tokenizer.ggml.bos_token_id", eot, bos) ||
        !special("tokenizer.ggml.eos_token_id", eot, eos))
      return nullptr;
    uint64_t mergesAt = arrayOffset("tokenizer.ggml.merges");
    auto where = [&](size_t i) {
      return fmt::format("gguf: tokenizer.ggml.merges[{}] (array at byte "
                         "offset {})",
                         i, mergesAt);
    };
    t = buildGpt2(std::move(tokens), std::move(types), merges, bos, eos, where,
                  error);
  } else {
    error = fmt::format("gguf: unsupported tokenizer.ggml.model '{}' (this "
                        "runtime reads 'llama' and 'gpt2')",
                        *model);
    return nullptr;
  }
  if (!t)
    error = "gguf: " + error;
  else if (auto addBos = gguf.getBool("tokenizer.ggml.add_bos_token"))
    t->setAddBosByDefault(*addBos);
  return t;
}

std::unique_ptr<Tokenizer> loadTokenizer(const std::string &path,
                                         std::string &error) {
  if (isDirectory(path)) {
    for (const char *name : {"vocab.json", "tokenizer.bin"}) {
      std::string candidate = path + "/" + name;
      if (exists(candidate))
        return loadTokenizer(candidate, error);
    }
    error = fmt::format("{}: directory holds neither vocab.json nor "
                        "tokenizer.bin",
                        path);
    return nullptr;
  }
  std::string bytes;
  if (!readFile(path, bytes, error))
    return nullptr;
  const auto *data = reinterpret_cast<const uint8_t *>(bytes.data());
  std::unique_ptr<Tokenizer> t;
  if (bytes.compare(0, 4, "GGUF") == 0) {
    GgufFile gguf;
    if (gguf.parse(data, bytes.size(), error))
      t = loadTokenizerFromGguf(gguf, error);
  } else if (bytes.compare(0, 6, "TFMTOK") == 0) {
    t = Tokenizer::deserialize(data, bytes.size(), error);
  } else if (bytes.find_first_not_of(" \t\r\n") != std::string::npos &&
             bytes[bytes.find_first_not_of(" \t\r\n")] == '{') {
    std::string mergesPath = directoryOf(path) + "/merges.txt";
    std::string merges;
    if (!readFile(mergesPath, merges, error)) {
      error += " (a GPT-2 vocab.json needs merges.txt beside it)";
      return nullptr;
    }
    t = loadGpt2Tokenizer(bytes, merges, error);
  } else {
    t = loadLlama2cTokenizer(data, bytes.size(), error);
  }
  if (!t)
    error = path + ": " + error;
  return t;
}

} // namespace tfm::rt
