//===- TokenizerFiles.cpp - Tokenizers from the files they come in --------===//

#include "tfm/Formats/TokenizerFiles.h"
#include "tfm/Formats/Files.h"
#include "tfm/Formats/Gguf.h"
#include "tfm/Formats/Json.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

using llvm::Error;
using llvm::Expected;
using llvm::formatv;
using llvm::StringRef;
using tfm::rt::Tokenizer;
using tfm::rt::TokenType;

namespace tfm::formats {
namespace {

using TokenizerOrError = Expected<std::unique_ptr<Tokenizer>>;

constexpr StringRef kSpaceSymbol = "\xE2\x96\x81";
constexpr StringRef kGpt2EndOfText = "<|endoftext|>";

bool isByteTokenSpelling(StringRef s) {
  return s.size() == 6 && s.starts_with("<0x") && llvm::isHexDigit(s[3]) &&
         llvm::isHexDigit(s[4]) && s[5] == '>';
}

/// Types for a SentencePiece vocabulary that does not store them (llama2.c):
/// the conventional <unk>/<s>/</s> at 0/1/2 and <0xNN> byte tokens.
TokenType inferSpmType(size_t id, StringRef piece) {
  if (id == 0 && piece == "<unk>")
    return TokenType::Unknown;
  if (id == 1 || id == 2)
    return TokenType::Control;
  if (isByteTokenSpelling(piece))
    return TokenType::Byte;
  return TokenType::Normal;
}

/// The runtime's constructors report with a message; the readers with Error.
TokenizerOrError built(std::unique_ptr<Tokenizer> t, const std::string &error,
                       StringRef prefix) {
  if (!t)
    return readerError(prefix + error);
  return t;
}

/// A cursor over protobuf wire format (the subset SentencePiece's ModelProto
/// uses: varints, fixed32 and length-delimited fields). `base` is the byte
/// offset of `bytes` in the file, for errors.
class ProtoReader {
public:
  ProtoReader(StringRef bytes, uint64_t base) : buffer(bytes), base(base) {}
  bool done() const { return pos == buffer.size(); }
  uint64_t offset() const { return base + pos; }

  Error varint(uint64_t &value) {
    value = 0;
    uint64_t at = offset();
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos == buffer.size())
        return readerError(formatv("tokenizer.model truncated in a varint at "
                                   "byte offset {0}",
                                   at));
      uint8_t b = uint8_t(buffer[pos++]);
      value |= uint64_t(b & 0x7F) << shift;
      if (!(b & 0x80))
        return Error::success();
    }
    return readerError(
        formatv("tokenizer.model: varint at byte offset {0} is too long", at));
  }
  /// Reads a field's tag: its number and wire type.
  Error tag(uint32_t &field, uint32_t &wire) {
    uint64_t at = offset(), t;
    if (Error e = varint(t))
      return e;
    field = uint32_t(t >> 3);
    wire = uint32_t(t & 7);
    if (field == 0 || t >> 3 > 0x1FFFFFFF)
      return readerError(formatv(
          "tokenizer.model: invalid field number 0 at byte offset {0}", at));
    return Error::success();
  }
  /// The payload of a length-delimited field, with its file offset.
  Error bytes(StringRef &out, uint64_t &at) {
    uint64_t n;
    if (Error e = varint(n))
      return e;
    at = offset();
    if (n > buffer.size() - pos)
      return readerError(formatv("tokenizer.model truncated at byte offset "
                                 "{0}: a field needs {1} bytes, {2} left",
                                 at, n, buffer.size() - pos));
    out = buffer.substr(pos, n);
    pos += n;
    return Error::success();
  }
  Error fixed32(uint32_t &out) {
    if (buffer.size() - pos < 4)
      return readerError(formatv("tokenizer.model truncated at byte offset "
                                 "{0}: a fixed32 needs 4 bytes",
                                 offset()));
    out = llvm::support::endian::read32le(buffer.data() + pos);
    pos += 4;
    return Error::success();
  }
  /// Skips a field of wire type `wire` (groups are not used by ModelProto).
  Error skip(uint32_t wire) {
    uint64_t at = offset(), v;
    StringRef ignored;
    switch (wire) {
    case 0:
      return varint(v);
    case 1:
      if (buffer.size() - pos < 8)
        return readerError(
            formatv("tokenizer.model truncated at byte offset {0}", at));
      pos += 8;
      return Error::success();
    case 2:
      return bytes(ignored, v);
    case 5:
      uint32_t x;
      return fixed32(x);
    default:
      return readerError(formatv("tokenizer.model: unsupported wire type {0} "
                                 "at byte offset {1}",
                                 wire, at));
    }
  }

private:
  StringRef buffer;
  uint64_t base;
  size_t pos = 0;
};

/// Whether `bytes` looks like a SentencePiece ModelProto: its first field
/// is `pieces` (1, length-delimited) holding a non-empty message whose first
/// field is `piece` (1, length-delimited). A llama2.c tokenizer.bin starts
/// with its int32 max_token_length, whose second byte is 0.
bool looksLikeSentencePieceModel(StringRef bytes) {
  return bytes.size() >= 4 && uint8_t(bytes[0]) == 0x0A &&
         uint8_t(bytes[1]) != 0 &&
         (uint8_t(bytes[2]) == 0x0A || uint8_t(bytes[3]) == 0x0A);
}

/// Builds a GPT-2 tokenizer from tokens and "left right" merge lines;
/// `mergeWhere(i)` describes where merge line i came from for errors.
template <typename WhereFn>
TokenizerOrError buildGpt2(std::vector<std::string> tokens,
                           std::vector<TokenType> types,
                           llvm::ArrayRef<StringRef> mergeLines, int32_t bos,
                           int32_t eos, WhereFn mergeWhere, StringRef prefix) {
  llvm::StringMap<int32_t> ids;
  for (size_t i = 0; i < tokens.size(); ++i)
    ids.try_emplace(tokens[i], int32_t(i));
  std::vector<std::pair<int32_t, int32_t>> merges;
  merges.reserve(mergeLines.size());
  for (size_t i = 0; i < mergeLines.size(); ++i) {
    StringRef line = mergeLines[i];
    auto [left, right] = line.split(' ');
    if (left.empty() || right.empty() || right.contains(' '))
      return readerError(prefix + mergeWhere(i) + ": merge '" + line +
                         "' is not two tokens separated by one space");
    auto l = ids.find(left);
    auto r = ids.find(right);
    if (l == ids.end() || r == ids.end())
      return readerError(prefix + mergeWhere(i) + ": merge '" + line +
                         "' names a token not in the vocabulary");
    merges.emplace_back(l->second, r->second);
  }
  std::string error;
  auto t = Tokenizer::createGpt2(std::move(tokens), std::move(types), merges,
                                 bos, eos, error);
  return built(std::move(t), error, prefix);
}

/// The GGUF array `key` of one value per token, read by `get`: nullopt
/// when absent, an error naming its byte offset when it is not `n` values of
/// `what` type.
template <typename T>
Expected<std::optional<std::vector<T>>>
perTokenArray(const GgufFile &gguf, StringRef key, size_t n, const char *what,
              std::optional<std::vector<T>> (GgufFile::*get)(StringRef) const) {
  const GgufKV *kv = gguf.find(key);
  if (!kv)
    return std::nullopt;
  std::optional<std::vector<T>> values = (gguf.*get)(key);
  if (!values || values->size() != n)
    return readerError(formatv("gguf: {0} at byte offset {1} is not {2} array "
                               "of {3} elements",
                               key, kv->valueOffset, what, n));
  return values;
}

} // namespace

TokenizerOrError loadLlama2cTokenizer(StringRef bytes,
                                      int64_t expectedVocabSize) {
  using llvm::support::endian::read32le;
  const uint8_t *data = bytes.bytes_begin();
  const size_t size = bytes.size();
  if (size < 4)
    return readerError(
        formatv("tokenizer.bin truncated at byte offset 0: "
                "need 4 bytes for max_token_length, file has {0}",
                size));
  int32_t maxLen = static_cast<int32_t>(read32le(data));
  if (maxLen <= 0 || maxLen > 65536)
    return readerError(formatv("tokenizer.bin: max_token_length {0} at byte "
                               "offset 0 is not in 1..65536",
                               maxLen));
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<TokenType> types;
  size_t pos = 4;
  while (pos < size) {
    size_t id = pieces.size();
    if (expectedVocabSize >= 0 && int64_t(id) == expectedVocabSize)
      return readerError(formatv("tokenizer.bin: {0} unexpected bytes at byte "
                                 "offset {1} after the {2} tokens the model "
                                 "expects",
                                 size - pos, pos, expectedVocabSize));
    if (size - pos < 8)
      return readerError(formatv("tokenizer.bin truncated at byte offset {0}: "
                                 "token {1} needs 8 bytes for its score and "
                                 "length, {2} left",
                                 pos, id, size - pos));
    float score = llvm::bit_cast<float>(read32le(data + pos));
    int32_t len = static_cast<int32_t>(read32le(data + pos + 4));
    if (len < 0 || len > maxLen)
      return readerError(formatv("tokenizer.bin: token {0} has length {1} at "
                                 "byte offset {2}, outside "
                                 "0..max_token_length ({3})",
                                 id, len, pos + 4, maxLen));
    pos += 8;
    if (size - pos < size_t(len))
      return readerError(formatv("tokenizer.bin truncated at byte offset {0}: "
                                 "token {1} needs {2} bytes, {3} left",
                                 pos, id, len, size - pos));
    StringRef raw = bytes.substr(pos, size_t(len));
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
  if (pieces.empty())
    return readerError("tokenizer.bin has no tokens: the file ends at byte "
                       "offset 4, right after max_token_length");
  if (expectedVocabSize >= 0 && int64_t(pieces.size()) != expectedVocabSize)
    return readerError(formatv("tokenizer.bin ends at byte offset {0} after "
                               "{1} tokens, but the model expects {2}",
                               size, pieces.size(), expectedVocabSize));
  int32_t bos = pieces.size() > 1 ? 1 : -1;
  int32_t eos = pieces.size() > 2 ? 2 : -1;
  std::string error;
  auto t = Tokenizer::createSentencePiece(std::move(pieces), std::move(scores),
                                          std::move(types), bos, eos, error);
  return built(std::move(t), error, "tokenizer.bin: ");
}

TokenizerOrError loadSentencePieceModel(StringRef bytes) {
  // ModelProto (sentencepiece_model.proto): 1 pieces, 2 trainer_spec,
  // 3 normalizer_spec; other fields are skipped.
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<TokenType> types;
  // proto2 defaults of the fields read.
  uint64_t modelType = 1; // UNIGRAM
  int64_t bosId = 1, eosId = 2;
  bool addDummyPrefix = true, removeExtraWhitespaces = true;
  std::string normalizerName;
  uint64_t normalizerAt = 0, trainerAt = 0;
  ProtoReader model(bytes, 0);
  while (!model.done()) {
    uint32_t field, wire;
    if (Error e = model.tag(field, wire))
      return e;
    if (wire != 2 || field < 1 || field > 3) {
      if (Error e = model.skip(wire))
        return e;
      continue;
    }
    StringRef body;
    uint64_t at;
    if (Error e = model.bytes(body, at))
      return e;
    if (field == 1) {
      pieces.emplace_back();
      scores.push_back(0.0f);
      types.push_back(TokenType::Normal);
    } else if (field == 2) {
      trainerAt = at;
    } else {
      normalizerAt = at;
    }
    ProtoReader sub(body, at);
    while (!sub.done()) {
      uint32_t f, w;
      uint64_t fieldAt = sub.offset(), v = 0;
      if (Error e = sub.tag(f, w))
        return e;
      StringRef text;
      Error e = Error::success();
      if (w == 0)
        e = sub.varint(v);
      else if (w == 2 && f == 1 && field != 2)
        e = sub.bytes(text, v);
      else if (w == 5 && f == 2 && field == 1) {
        uint32_t bits = 0;
        e = sub.fixed32(bits);
        scores.back() = llvm::bit_cast<float>(bits);
      } else
        e = sub.skip(w);
      if (e)
        return e;
      if (field == 1 && f == 1 && w == 2) {
        pieces.back() = text.str();
      } else if (field == 1 && f == 3 && w == 0) {
        if (v < 1 || v > 6)
          return readerError(formatv("tokenizer.model: piece {0} has type "
                                     "{1} at byte offset {2}, not 1..6",
                                     pieces.size() - 1, v, fieldAt));
        types.back() = TokenType(v);
      } else if (field == 2 && w == 0) {
        if (f == 3)
          modelType = v;
        else if (f == 41)
          bosId = int32_t(uint32_t(v));
        else if (f == 42)
          eosId = int32_t(uint32_t(v));
      } else if (field == 3 && f == 1 && w == 2) {
        normalizerName = text.str();
      } else if (field == 3 && f == 3 && w == 0) {
        addDummyPrefix = v != 0;
      } else if (field == 3 && f == 4 && w == 0) {
        removeExtraWhitespaces = v != 0;
      }
    }
  }
  if (pieces.empty())
    return readerError("tokenizer.model has no pieces");
  // tfm's SentencePiece tokenizer is Llama's: BPE over an identity
  // normaliser with a dummy prefix and whitespace kept as it is.
  if (modelType != 2)
    return readerError(formatv(
        "tokenizer.model (trainer_spec at byte offset {0}) is a {1} model; "
        "tfmc reads SentencePiece BPE models (Llama's) only",
        trainerAt,
        modelType == 1   ? "unigram"
        : modelType == 3 ? "word"
        : modelType == 4 ? "char"
                         : "model_type " + std::to_string(modelType)));
  if ((!normalizerName.empty() && normalizerName != "identity") ||
      !addDummyPrefix || removeExtraWhitespaces)
    return readerError(formatv(
        "tokenizer.model (normalizer_spec at byte offset {0}): normalizer "
        "'{1}', add_dummy_prefix {2}, remove_extra_whitespaces {3}; tfmc "
        "reads Llama's settings only (identity, true, false)",
        normalizerAt, normalizerName.empty() ? "nmt_nfkc" : normalizerName,
        addDummyPrefix, removeExtraWhitespaces));
  auto idOrNone = [&](int64_t id) {
    return id >= 0 && id < int64_t(pieces.size()) ? int32_t(id) : -1;
  };
  std::string error;
  auto t = Tokenizer::createSentencePiece(std::move(pieces), std::move(scores),
                                          std::move(types), idOrNone(bosId),
                                          idOrNone(eosId), error);
  return built(std::move(t), error, "tokenizer.model: ");
}

TokenizerOrError loadGpt2Tokenizer(StringRef vocabJson, StringRef mergesTxt) {
  auto json = parseJson(vocabJson);
  if (!json)
    return readerError("vocab.json: " + llvm::toString(json.takeError()));
  const llvm::json::Object *vocab = json->getAsObject();
  if (!vocab)
    return readerError("vocab.json: the top level is not an object");
  if (vocab->empty())
    return readerError("vocab.json: empty vocabulary");
  std::vector<std::string> tokens(vocab->size());
  std::vector<bool> seen(vocab->size(), false);
  for (const auto &[piece, value] : *vocab) {
    std::optional<int64_t> id = value.getAsInteger();
    if (!id)
      return readerError("vocab.json: the id of '" + piece.str() +
                         "' is not an integer");
    if (*id < 0 || uint64_t(*id) >= tokens.size() || seen[size_t(*id)])
      return readerError(formatv("vocab.json: id {0} of '{1}' is duplicate or "
                                 "outside 0..{2} (ids must be dense)",
                                 *id, piece.str(), tokens.size() - 1));
    seen[size_t(*id)] = true;
    tokens[size_t(*id)] = piece.str();
  }
  std::vector<TokenType> types(tokens.size(), TokenType::Normal);
  int32_t eot = -1;
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] == kGpt2EndOfText) {
      eot = int32_t(i);
      types[i] = TokenType::Control;
    }

  // merges.txt: an optional "#version" line, then "left right" per line.
  std::vector<StringRef> lines;
  std::vector<size_t> offsets;
  size_t pos = 0;
  while (pos < mergesTxt.size()) {
    size_t end = std::min(mergesTxt.find('\n', pos), mergesTxt.size());
    StringRef line = mergesTxt.slice(pos, end);
    line.consume_back("\r");
    bool header = pos == 0 && line.starts_with("#version");
    if (!line.empty() && !header) {
      lines.push_back(line);
      offsets.push_back(pos);
    }
    pos = end + 1;
  }
  auto where = [&](size_t i) {
    return "merges.txt byte offset " + std::to_string(offsets[i]);
  };
  return buildGpt2(std::move(tokens), std::move(types), lines, eot, eot, where,
                   "");
}

TokenizerOrError loadTokenizerFromGguf(const GgufFile &gguf) {
  auto model = gguf.getString("tokenizer.ggml.model");
  if (!model)
    return readerError("gguf: no string tokenizer.ggml.model");
  auto tokenViews = gguf.getStringArray("tokenizer.ggml.tokens");
  if (!tokenViews)
    return readerError("gguf: no string array tokenizer.ggml.tokens");
  const size_t n = tokenViews->size();
  std::vector<std::string> tokens(tokenViews->begin(), tokenViews->end());
  auto valueOffset = [&](StringRef key) {
    const GgufKV *kv = gguf.find(key);
    return kv ? kv->valueOffset : 0;
  };

  // Token types: GGUF uses SentencePiece's numbering; 0 means undefined.
  std::vector<TokenType> types(n, TokenType::Normal);
  auto storedTypes = perTokenArray(gguf, "tokenizer.ggml.token_type", n,
                                   "an integer", &GgufFile::getIntArray);
  if (!storedTypes)
    return storedTypes.takeError();
  const bool haveTypes = storedTypes->has_value();
  for (size_t i = 0; haveTypes && i < n; ++i) {
    int64_t type = (**storedTypes)[i];
    if (type < 0 || type > 6)
      return readerError(formatv("gguf: tokenizer.ggml.token_type[{0}] = {1} "
                                 "(array at byte offset {2}) is not a token "
                                 "type 0..6",
                                 i, type,
                                 valueOffset("tokenizer.ggml.token_type")));
    types[i] = type == 0 ? TokenType::Normal : TokenType(type);
  }
  const bool gpt2 = *model == "gpt2";
  if (!gpt2 && *model != "llama")
    return readerError("gguf: unsupported tokenizer.ggml.model '" + *model +
                       "' (supported: 'llama', 'gpt2')");
  // GPT-2 begins and ends texts with <|endoftext|>; SentencePiece has
  // <s> and </s> at 1 and 2.
  int32_t eot = -1;
  for (size_t i = 0; gpt2 && i < n && eot < 0; ++i)
    if (tokens[i] == kGpt2EndOfText)
      eot = int32_t(i);
  int32_t ids[2] = {gpt2 ? eot : n > 1 ? 1 : -1, gpt2 ? eot : n > 2 ? 2 : -1};
  for (int k = 0; k < 2; ++k) {
    StringRef key =
        k == 0 ? "tokenizer.ggml.bos_token_id" : "tokenizer.ggml.eos_token_id";
    if (!gguf.find(key))
      continue;
    auto v = gguf.getInt(key);
    if (!v || *v < -1 || *v >= int64_t(n))
      return readerError(formatv("gguf: {0} at byte offset {1} is not a token "
                                 "id below {2}",
                                 key, valueOffset(key), n));
    ids[k] = int32_t(*v);
  }
  const int32_t bos = ids[0], eos = ids[1];

  std::unique_ptr<Tokenizer> t;
  if (gpt2) {
    auto merges = gguf.getStringArray("tokenizer.ggml.merges");
    if (!merges)
      return readerError("gguf: no string array tokenizer.ggml.merges for a "
                         "gpt2 tokenizer");
    if (!haveTypes && eot >= 0)
      types[size_t(eot)] = TokenType::Control;
    uint64_t mergesAt = valueOffset("tokenizer.ggml.merges");
    auto where = [&](size_t i) {
      return formatv("tokenizer.ggml.merges[{0}] (array at byte offset {1})", i,
                     mergesAt)
          .str();
    };
    auto gpt2Tok = buildGpt2(std::move(tokens), std::move(types), *merges, bos,
                             eos, where, "gguf: ");
    if (!gpt2Tok)
      return gpt2Tok.takeError();
    t = std::move(*gpt2Tok);
  } else {
    auto scores = perTokenArray(gguf, "tokenizer.ggml.scores", n, "a float",
                                &GgufFile::getFloatArray);
    if (!scores)
      return scores.takeError();
    if (!haveTypes)
      for (size_t i = 0; i < n; ++i)
        types[i] = inferSpmType(i, tokens[i]);
    std::string error;
    t = Tokenizer::createSentencePiece(
        std::move(tokens), scores->value_or(std::vector<float>(n, 0.0f)),
        std::move(types), bos, eos, error);
    if (!t)
      return readerError("gguf: " + error);
  }
  if (auto addBos = gguf.getBool("tokenizer.ggml.add_bos_token"))
    t->setAddBosByDefault(*addBos);
  return t;
}

namespace {

/// Reads the tokenizer in the file `path` (not a directory). Errors in the
/// file's content are prefixed with the path here; mapFile's already are.
TokenizerOrError loadTokenizerFile(StringRef path) {
  auto file = mapFile(path);
  if (!file)
    return file.takeError();
  StringRef bytes = (*file)->getBuffer();
  auto inFile = [&](TokenizerOrError t) -> TokenizerOrError {
    if (!t)
      return readerError(path + ": " + llvm::toString(t.takeError()));
    return t;
  };
  if (bytes.starts_with("GGUF")) {
    auto gguf = GgufFile::parse(bytes);
    if (!gguf)
      return inFile(gguf.takeError());
    return inFile(loadTokenizerFromGguf(*gguf));
  }
  if (bytes.starts_with("TFMTOK")) {
    std::string error;
    auto t = Tokenizer::deserialize(bytes.bytes_begin(), bytes.size(), error);
    return inFile(built(std::move(t), error, ""));
  }
  if (looksLikeSentencePieceModel(bytes))
    return inFile(loadSentencePieceModel(bytes));
  if (bytes.ltrim(" \t\r\n").starts_with("{")) {
    llvm::SmallString<256> mergesPath(llvm::sys::path::parent_path(path));
    llvm::sys::path::append(mergesPath, "merges.txt");
    auto merges = mapFile(mergesPath);
    if (!merges)
      return readerError(llvm::toString(merges.takeError()) +
                         " (a GPT-2 vocab.json needs merges.txt beside it)");
    return inFile(loadGpt2Tokenizer(bytes, (*merges)->getBuffer()));
  }
  return inFile(loadLlama2cTokenizer(bytes));
}

} // namespace

TokenizerOrError loadTokenizer(StringRef path) {
  if (llvm::sys::fs::is_directory(path)) {
    for (const char *name :
         {"vocab.json", "tokenizer.bin", "tokenizer.model"}) {
      llvm::SmallString<256> candidate(path);
      llvm::sys::path::append(candidate, name);
      if (llvm::sys::fs::exists(candidate))
        return loadTokenizer(candidate);
    }
    return readerError(path + ": directory holds no vocab.json, "
                              "tokenizer.bin or tokenizer.model");
  }
  return loadTokenizerFile(path);
}

std::string escapePiece(llvm::StringRef piece) {
  std::string out;
  for (char c : piece) {
    auto b = uint8_t(c);
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else if (b < 0x20 || b == 0x7F)
      out += llvm::formatv("\\x{0:x-2}", unsigned(b)).str();
    else
      out += c;
  }
  return out;
}

} // namespace tfm::formats
