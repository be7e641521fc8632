//===- Tokenizer.cpp - Tokenizer construction, decoding, serialisation ----===//
//
// What both tokenizer kinds share: validation and lookup tables, the
// streaming decoder, and the versioned binary form tfmc embeds. The encoders
// live in TokenizerSpm.cpp and TokenizerGpt2.cpp; the readers of tokenizer
// files are in the formats library (formats/lib/TokenizerFiles.cpp).
//
//===----------------------------------------------------------------------===//

#include "tfm/runtime/Tokenizer.h"

#include <fmt/format.h>

#include <cstring>

namespace tfm::rt {
namespace {

constexpr char kMagic[8] = {'T', 'F', 'M', 'T', 'O', 'K', 0, 0};
constexpr uint32_t kMaxVocab = 1u << 24;
constexpr uint32_t kMaxPieceBytes = 65536;

/// Parses "<0xNN>" (upper- or lower-case hex); -1 if `s` is not that.
int parseByteToken(std::string_view s) {
  if (s.size() != 6 || s.substr(0, 3) != "<0x" || s[5] != '>')
    return -1;
  int v = 0;
  for (int i = 3; i < 5; ++i) {
    char c = s[size_t(i)];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                   : -1;
    if (d < 0)
      return -1;
    v = v * 16 + d;
  }
  return v;
}

bool validType(uint8_t t) { return t >= 1 && t <= 6; }

void putU32(std::vector<uint8_t> &out, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(uint8_t(v >> (8 * i)));
}

/// Bounds-checked little-endian reader that remembers the first error.
class Reader {
public:
  Reader(const uint8_t *data, size_t size) : data(data), size(size) {}
  bool u32(uint32_t &v, const char *what, std::string &error) {
    if (size - pos < 4) {
      error = fmt::format("tokenizer data truncated at byte offset {}: "
                          "need 4 bytes for {}, {} left",
                          pos, what, size - pos);
      return false;
    }
    v = 0;
    for (int i = 0; i < 4; ++i)
      v |= uint32_t(data[pos + size_t(i)]) << (8 * i);
    pos += 4;
    return true;
  }
  bool bytes(size_t n, const uint8_t *&p, const char *what,
             std::string &error) {
    if (size - pos < n) {
      error = fmt::format("tokenizer data truncated at byte offset {}: "
                          "need {} bytes for {}, {} left",
                          pos, n, what, size - pos);
      return false;
    }
    p = data + pos;
    pos += n;
    return true;
  }
  size_t getPos() const { return pos; }
  size_t left() const { return size - pos; }

private:
  const uint8_t *data;
  size_t size;
  size_t pos = 0;
};

} // namespace

uint32_t gpt2ByteToCodePoint(uint8_t byte) {
  // Bytes GPT-2 keeps as themselves: '!'..'~', '¡'..'¬', '®'..'ÿ'.
  auto kept = [](unsigned b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) ||
           (b >= 0xAE && b <= 0xFF);
  };
  if (kept(byte))
    return byte;
  uint32_t n = 0;
  for (unsigned b = 0; b < byte; ++b)
    n += kept(b) ? 0 : 1;
  return 256 + n;
}

std::unique_ptr<Tokenizer>
Tokenizer::createSentencePiece(std::vector<std::string> pieces,
                               std::vector<float> scores,
                               std::vector<TokenType> types, int32_t bos,
                               int32_t eos, std::string &error) {
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  t->kind = TokenizerKind::SentencePiece;
  t->pieces = std::move(pieces);
  t->scores = std::move(scores);
  t->types = std::move(types);
  t->bos = bos;
  t->eos = eos;
  if (!t->finalize(error))
    return nullptr;
  return t;
}

std::unique_ptr<Tokenizer>
Tokenizer::createGpt2(std::vector<std::string> tokens,
                      std::vector<TokenType> types,
                      const std::vector<std::pair<int32_t, int32_t>> &merges,
                      int32_t bos, int32_t eos, std::string &error) {
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  t->kind = TokenizerKind::Gpt2;
  t->addBosByDefault = false;
  t->scores.assign(tokens.size(), 0.0f);
  t->pieces = std::move(tokens);
  t->types = std::move(types);
  t->merges = merges;
  t->bos = bos;
  t->eos = eos;
  if (!t->finalize(error))
    return nullptr;
  return t;
}

bool Tokenizer::finalize(std::string &error) {
  const size_t n = pieces.size();
  if (n == 0 || n > kMaxVocab) {
    error = fmt::format("vocabulary size {} out of range 1..{}", n, kMaxVocab);
    return false;
  }
  if (scores.size() != n || types.size() != n) {
    error = fmt::format("vocabulary has {} pieces but {} scores and {} types",
                        n, scores.size(), types.size());
    return false;
  }
  for (int32_t special : {bos, eos}) {
    if (special < -1 || special >= int32_t(n)) {
      error = fmt::format("special token id {} out of range (vocabulary {})",
                          special, n);
      return false;
    }
  }
  all.clear();
  mergeable.clear();
  userDefined.clear();
  mergeRank.clear();
  bytes.assign(n, std::string());
  std::fill(std::begin(byteToken), std::end(byteToken), -1);
  unk = -1;

  // Inverse of GPT-2's byte -> unicode mapping (all targets are < U+0200).
  int cpToByte[0x200];
  std::fill(std::begin(cpToByte), std::end(cpToByte), -1);
  for (int b = 0; b < 256; ++b)
    cpToByte[gpt2ByteToCodePoint(uint8_t(b))] = b;

  for (size_t i = 0; i < n; ++i) {
    const std::string &p = pieces[i];
    TokenType type = types[i];
    if (!validType(uint8_t(type))) {
      error = fmt::format("token {} has invalid type {}", i, unsigned(type));
      return false;
    }
    // First occurrence wins, as in SentencePiece and llama.cpp.
    all.emplace(p, int32_t(i));
    if (type == TokenType::Unknown && unk < 0)
      unk = int32_t(i);
    if (kind == TokenizerKind::SentencePiece) {
      if (type == TokenType::Normal || type == TokenType::UserDefined ||
          type == TokenType::Unused)
        mergeable.emplace(p, int32_t(i));
      if (type == TokenType::UserDefined && !p.empty())
        userDefined.push_back(p);
      if (type == TokenType::Byte) {
        int b = parseByteToken(p);
        if (b < 0) {
          error =
              fmt::format("byte token {} is not spelled <0xNN>: '{}'", i, p);
          return false;
        }
        if (byteToken[b] < 0)
          byteToken[b] = int32_t(i);
        bytes[i] = std::string(1, char(b));
      } else if (type != TokenType::Control) {
        // "▁" (U+2581, e2 96 81) stands for a space.
        std::string &s = bytes[i];
        for (size_t k = 0; k < p.size();) {
          if (p.compare(k, 3, "\xE2\x96\x81") == 0) {
            s += ' ';
            k += 3;
          } else {
            s += p[k++];
          }
        }
      }
    } else if (type != TokenType::Control) {
      // GPT-2: each character of the token is one byte, unless the token is
      // not in byte-level form (then it stands for its own UTF-8).
      std::string s;
      bool byteLevel = true;
      for (size_t k = 0; k < p.size() && byteLevel;) {
        uint32_t cp;
        size_t len;
        byteLevel = decodeUtf8(std::string_view(p).substr(k), cp, len);
        k += len;
        int b = byteLevel && cp < 0x200 ? cpToByte[cp] : -1;
        byteLevel = b >= 0;
        s += char(b);
      }
      bytes[i] = byteLevel ? s : p;
    }
  }

  if (kind == TokenizerKind::Gpt2) {
    for (int b = 0; b < 256; ++b) {
      std::string ch;
      appendUtf8(ch, gpt2ByteToCodePoint(uint8_t(b)));
      auto it = all.find(ch);
      if (it == all.end()) {
        error = fmt::format("GPT-2 vocabulary has no token for byte 0x{:02X} "
                            "('{}')",
                            b, ch);
        return false;
      }
      byteToken[b] = it->second;
    }
    std::string joined;
    for (size_t r = 0; r < merges.size(); ++r) {
      auto [l, rt] = merges[r];
      if (l < 0 || rt < 0 || size_t(l) >= n || size_t(rt) >= n) {
        error = fmt::format("merge {} refers to token ids {} {} outside the "
                            "vocabulary",
                            r, l, rt);
        return false;
      }
      joined = pieces[size_t(l)] + pieces[size_t(rt)];
      auto it = all.find(joined);
      if (it == all.end()) {
        error = fmt::format("merge {} ('{}' '{}') yields '{}', which is not in "
                            "the vocabulary",
                            r, pieces[size_t(l)], pieces[size_t(rt)], joined);
        return false;
      }
      uint64_t key = (uint64_t(uint32_t(l)) << 32) | uint32_t(rt);
      // The first (lowest-rank) occurrence of a pair wins.
      mergeRank.emplace(key, std::make_pair(int32_t(r), it->second));
    }
  }
  return true;
}

int32_t Tokenizer::pieceToId(std::string_view piece) const {
  auto it = all.find(piece);
  return it == all.end() ? -1 : it->second;
}

std::string_view Tokenizer::tokenBytes(int32_t id) const {
  if (id < 0 || size_t(id) >= bytes.size())
    return {};
  return bytes[size_t(id)];
}

std::vector<int32_t> Tokenizer::encode(std::string_view text,
                                       bool addBos) const {
  std::vector<int32_t> out;
  if (addBos && bos >= 0)
    out.push_back(bos);
  if (kind == TokenizerKind::SentencePiece)
    encodeSentencePiece(text, out);
  else
    encodeGpt2(text, out);
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t> &ids) const {
  TokenDecoder decoder(*this);
  std::string out;
  for (int32_t id : ids)
    out += decoder.push(id);
  out += decoder.finish();
  return out;
}

std::string TokenDecoder::push(int32_t id) {
  std::string out;
  if (id < 0 || id >= tokenizer.vocabSize())
    return out;
  std::string_view bytes = tokenizer.tokenBytes(id);
  // The dummy prefix: SentencePiece adds a space before the text, llama2.c
  // drops it again from the first piece after BOS.
  if (tokenizer.getKind() == TokenizerKind::SentencePiece && prev >= 0 &&
      prev == tokenizer.getBos() && tokenizer.type(id) != TokenType::Byte &&
      !bytes.empty() && bytes[0] == ' ')
    bytes.remove_prefix(1);
  prev = id;
  utf8.push(bytes, out);
  return out;
}

std::string TokenDecoder::finish() {
  std::string out;
  utf8.finish(out);
  prev = -1;
  return out;
}

std::vector<uint8_t> Tokenizer::serialize() const {
  std::vector<uint8_t> out(kMagic, kMagic + sizeof(kMagic));
  putU32(out, kTokenizerFormatVersion);
  putU32(out, uint32_t(kind));
  putU32(out, uint32_t(pieces.size()));
  putU32(out, uint32_t(bos));
  putU32(out, uint32_t(eos));
  putU32(out, uint32_t(merges.size()));
  putU32(out, addBosByDefault ? 1u : 0u);
  for (size_t i = 0; i < pieces.size(); ++i) {
    putU32(out, uint32_t(pieces[i].size()));
    out.insert(out.end(), pieces[i].begin(), pieces[i].end());
    uint32_t bits;
    std::memcpy(&bits, &scores[i], 4);
    putU32(out, bits);
    out.push_back(uint8_t(types[i]));
  }
  for (auto [l, r] : merges) {
    putU32(out, uint32_t(l));
    putU32(out, uint32_t(r));
  }
  return out;
}

std::unique_ptr<Tokenizer>
Tokenizer::deserialize(const uint8_t *data, size_t size, std::string &error) {
  Reader in(data, size);
  const uint8_t *magic;
  if (!in.bytes(sizeof(kMagic), magic, "the magic", error))
    return nullptr;
  if (std::memcmp(magic, kMagic, sizeof(kMagic)) != 0) {
    error = "not a serialised tokenizer: bad magic at byte offset 0 "
            "(expected \"TFMTOK\")";
    return nullptr;
  }
  uint32_t version, kind, n, bos, eos, nMerges, flags;
  if (!in.u32(version, "the version", error))
    return nullptr;
  if (version != kTokenizerFormatVersion) {
    error = fmt::format("unsupported tokenizer format version {} at byte "
                        "offset 8 (this runtime reads version {})",
                        version, kTokenizerFormatVersion);
    return nullptr;
  }
  if (!in.u32(kind, "the kind", error))
    return nullptr;
  if (kind != uint32_t(TokenizerKind::SentencePiece) &&
      kind != uint32_t(TokenizerKind::Gpt2)) {
    error = fmt::format("unknown tokenizer kind {} at byte offset 12", kind);
    return nullptr;
  }
  if (!in.u32(n, "the vocabulary size", error) ||
      !in.u32(bos, "the BOS id", error) || !in.u32(eos, "the EOS id", error) ||
      !in.u32(nMerges, "the merge count", error) ||
      !in.u32(flags, "the flags", error))
    return nullptr;
  if (flags & ~1u) {
    error =
        fmt::format("unknown tokenizer flags 0x{:x} at byte offset 32", flags);
    return nullptr;
  }
  // SentencePiece merges by score: merges in its bytes would be dropped, and
  // the tokenizer would not serialise back to them (one encoding each).
  if (kind == uint32_t(TokenizerKind::SentencePiece) && nMerges != 0) {
    error = fmt::format("merge count {} at byte offset 28: a SentencePiece "
                        "tokenizer has no merges",
                        nMerges);
    return nullptr;
  }
  if (n == 0 || n > kMaxVocab) {
    error = fmt::format("vocabulary size {} at byte offset 16 out of range "
                        "1..{}",
                        n, kMaxVocab);
    return nullptr;
  }
  // Each token takes >= 9 bytes and each merge 8: reject absurd counts
  // before allocating.
  if (uint64_t(n) * 9 + uint64_t(nMerges) * 8 > in.left()) {
    error = fmt::format("tokenizer data truncated: {} tokens and {} merges "
                        "need more than the {} bytes after byte offset {}",
                        n, nMerges, in.left(), in.getPos());
    return nullptr;
  }
  std::vector<std::string> pieces(n);
  std::vector<float> scores(n);
  std::vector<TokenType> types(n);
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t len, bits;
    const uint8_t *p;
    size_t at = in.getPos();
    if (!in.u32(len, "a piece length", error))
      return nullptr;
    if (len > kMaxPieceBytes) {
      error = fmt::format("token {}: piece length {} at byte offset {} "
                          "exceeds {}",
                          i, len, at, kMaxPieceBytes);
      return nullptr;
    }
    if (!in.bytes(len, p, "a piece", error) || !in.u32(bits, "a score", error))
      return nullptr;
    pieces[i].assign(reinterpret_cast<const char *>(p), len);
    std::memcpy(&scores[i], &bits, 4);
    at = in.getPos();
    if (!in.bytes(1, p, "a token type", error))
      return nullptr;
    if (!validType(p[0])) {
      error = fmt::format("token {}: invalid token type {} at byte offset {}",
                          i, p[0], at);
      return nullptr;
    }
    types[i] = TokenType(p[0]);
  }
  std::vector<std::pair<int32_t, int32_t>> merges(nMerges);
  for (auto &m : merges) {
    uint32_t l, r;
    if (!in.u32(l, "a merge", error) || !in.u32(r, "a merge", error))
      return nullptr;
    m = {int32_t(l), int32_t(r)};
  }
  if (in.left() != 0) {
    error = fmt::format("{} unexpected bytes after the tokenizer at byte "
                        "offset {}",
                        in.left(), in.getPos());
    return nullptr;
  }
  std::unique_ptr<Tokenizer> t;
  if (kind == uint32_t(TokenizerKind::SentencePiece))
    t = createSentencePiece(std::move(pieces), std::move(scores),
                            std::move(types), int32_t(bos), int32_t(eos),
                            error);
  else {
    t = createGpt2(std::move(pieces), std::move(types), merges, int32_t(bos),
                   int32_t(eos), error);
    if (t)
      t->scores = scores;
  }
  if (!t)
    error = "invalid serialised tokenizer: " + error;
  else
    t->addBosByDefault = flags & 1u;
  return t;
}

} // namespace tfm::rt
