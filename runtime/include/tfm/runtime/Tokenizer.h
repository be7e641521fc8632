//===- Tokenizer.h - SentencePiece-BPE and GPT-2 tokenizers -----*- C++ -*-===//
//
// The two tokenizers tfmc's models use, a streaming decoder, and the binary
// form that tfmc embeds in executables (the readers of the files tokenizers
// come in are in the formats library, tfm/Formats/TokenizerFiles.h).
//
// * SentencePiece-style BPE with scores (llama2.c `tokenizer.bin`, GGUF
//   `tokenizer.ggml.model = llama`). Byte-exact with SentencePiece's `encode`
//   for Llama-2-style models (identity normaliser, add_dummy_prefix, no
//   whitespace folding, byte fallback): the text gets a leading "▁", every
//   " " becomes "▁", each invalid UTF-8 byte becomes U+FFFD (SentencePiece's
//   rule), code points are merged pairwise by highest piece score (leftmost
//   first on ties), and a symbol not in the vocabulary becomes one `<0xNN>`
//   token per UTF-8 byte. Only normal, user-defined and unused pieces take
//   part in merges (control pieces such as "<s>" in the text stay text).
//
// * GPT-2 byte-level BPE (vocab.json + merges.txt, GGUF
//   `tokenizer.ggml.model = gpt2`): GPT-2's pre-tokenisation regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   implemented by hand, then byte->unicode mapping and merges by rank.
//   Special tokens in the text (e.g. "<|endoftext|>") are not recognised:
//   they are encoded as text, like Hugging Face with split_special_tokens.
//
// Serialised form (all integers little-endian; see Tokenizer::serialize):
//
//   offset size  field
//   0      8     magic "TFMTOK\0\0"
//   8      4     u32 format version (kTokenizerFormatVersion = 1)
//   12     4     u32 kind (1 = SentencePiece BPE, 2 = GPT-2 byte-level BPE)
//   16     4     u32 vocabulary size N (1 .. 2^24)
//   20     4     i32 BOS id (-1 = none)
//   24     4     i32 EOS id (-1 = none)
//   28     4     u32 merge count M (0 for SentencePiece)
//   32     4     u32 flags: bit 0 = add BOS by default; other bits zero
//   36     ...   N tokens: u32 byte length L (<= 65536), L bytes of piece
//                (as in the vocabulary: "▁" for SentencePiece spaces, GPT-2's
//                byte->unicode characters), f32 score, u8 TokenType
//   ...    8*M   M merges in rank order: i32 left id, i32 right id
//   end          nothing may follow
//
//===----------------------------------------------------------------------===//

#ifndef TFM_RUNTIME_TOKENIZER_H
#define TFM_RUNTIME_TOKENIZER_H

#include "tfm/runtime/Utf8.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tfm::rt {

/// Version written by Tokenizer::serialize and accepted by deserialize.
constexpr uint32_t kTokenizerFormatVersion = 1;

/// The tokenizer families, numbered as the serialized form's `kind` (the
/// compiler's ModelSpec uses the same enum). None, a model without a
/// tokenizer, is never serialized.
enum class TokenizerKind : uint32_t {
  None = 0,
  SentencePiece = 1, ///< BPE over code points with piece scores.
  Gpt2 = 2,          ///< Byte-level BPE with ranked merges.
};

/// Token types, numbered as SentencePiece and GGUF's
/// `tokenizer.ggml.token_type`.
enum class TokenType : uint8_t {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
};

/// An immutable tokenizer; encode/decode are const and thread-safe.
class Tokenizer {
public:
  // The lookup tables point into the vocabulary: no copies.
  Tokenizer(const Tokenizer &) = delete;
  Tokenizer &operator=(const Tokenizer &) = delete;

  /// Builds a SentencePiece-style BPE tokenizer. `pieces` are in
  /// SentencePiece form (U+2581 for spaces). Byte tokens are those of type
  /// Byte; they must be spelled `<0xNN>`. Returns null and sets `error` if
  /// the vocabulary is inconsistent.
  static std::unique_ptr<Tokenizer>
  createSentencePiece(std::vector<std::string> pieces,
                      std::vector<float> scores, std::vector<TokenType> types,
                      int32_t bos, int32_t eos, std::string &error);

  /// Builds a GPT-2 byte-level BPE tokenizer. `merges` are in rank order,
  /// each the pair of token ids whose concatenation is also a token. Every
  /// byte's GPT-2 character must be a token.
  static std::unique_ptr<Tokenizer>
  createGpt2(std::vector<std::string> tokens, std::vector<TokenType> types,
             const std::vector<std::pair<int32_t, int32_t>> &merges,
             int32_t bos, int32_t eos, std::string &error);

  /// Token ids of `text` (any bytes), with BOS first if `addBos` and the
  /// vocabulary has one.
  std::vector<int32_t> encode(std::string_view text, bool addBos) const;

  /// The whole text of `ids` (see TokenDecoder for the rules).
  std::string decode(const std::vector<int32_t> &ids) const;

  /// The bytes token `id` stands for in decoded text: "▁" becomes " ",
  /// `<0xNN>` becomes byte NN, GPT-2 characters become their bytes, control
  /// tokens are empty. Empty for ids out of range.
  std::string_view tokenBytes(int32_t id) const;

  TokenizerKind getKind() const { return kind; }
  int32_t getBos() const { return bos; }
  int32_t getEos() const { return eos; }
  int32_t vocabSize() const { return int32_t(pieces.size()); }
  /// Whether prompts conventionally start with BOS: true for SentencePiece,
  /// false for GPT-2 (GGUF's tokenizer.ggml.add_bos_token overrides).
  bool getAddBosByDefault() const { return addBosByDefault; }
  void setAddBosByDefault(bool value) { addBosByDefault = value; }
  /// The vocabulary entry of `id` as stored (id must be in range).
  const std::string &piece(int32_t id) const { return pieces[size_t(id)]; }
  float score(int32_t id) const { return scores[size_t(id)]; }
  TokenType type(int32_t id) const { return types[size_t(id)]; }
  /// Id of a vocabulary entry, or -1.
  int32_t pieceToId(std::string_view piece) const;

  /// The binary form described at the top of this file.
  std::vector<uint8_t> serialize() const;
  /// Reads serialize()'s output; null plus `error` (with byte offset) if the
  /// bytes are not a valid tokenizer.
  static std::unique_ptr<Tokenizer>
  deserialize(const uint8_t *data, size_t size, std::string &error);

private:
  Tokenizer() = default;
  /// Builds the lookup tables; false plus `error` on inconsistent data.
  bool finalize(std::string &error);
  void encodeSentencePiece(std::string_view text,
                           std::vector<int32_t> &out) const;
  void encodeGpt2(std::string_view text, std::vector<int32_t> &out) const;
  void bpeGpt2Word(std::string_view word, std::vector<int32_t> &out) const;

  TokenizerKind kind = TokenizerKind::SentencePiece;
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<TokenType> types;
  std::vector<std::pair<int32_t, int32_t>> merges; ///< GPT-2, by rank.
  int32_t bos = -1;
  int32_t eos = -1;
  bool addBosByDefault = true;

  // Derived in finalize().
  std::vector<std::string> bytes;                    ///< tokenBytes per id.
  std::unordered_map<std::string_view, int32_t> all; ///< piece -> id.
  /// SentencePiece: pieces that merges may produce (normal, user, unused).
  std::unordered_map<std::string_view, int32_t> mergeable;
  std::vector<std::string_view> userDefined; ///< Matched before merging.
  int32_t byteToken[256];                    ///< Byte fallback / GPT-2 bytes.
  int32_t unk = -1;
  /// GPT-2: (left << 32 | right) -> (rank, merged id).
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> mergeRank;
};

/// Turns a stream of token ids into text, one token at a time, never
/// emitting part of a UTF-8 character: an incomplete sequence (e.g. the
/// first of the byte tokens <0xE4><0xB8><0xAD>) is held until it completes.
/// Bytes that cannot form valid UTF-8 come out as U+FFFD, so the output is
/// always valid UTF-8. For SentencePiece vocabularies the leading space of
/// the first piece after BOS is dropped (the dummy prefix; llama2.c's rule).
class TokenDecoder {
public:
  explicit TokenDecoder(const Tokenizer &tokenizer) : tokenizer(tokenizer) {}
  /// Text completed by token `id` (possibly empty). Out-of-range ids are
  /// ignored.
  std::string push(int32_t id);
  /// Text still held back at the end of the stream (U+FFFD per stray byte).
  std::string finish();

private:
  const Tokenizer &tokenizer;
  Utf8Assembler utf8;
  int32_t prev = -1;
};

/// GPT-2's byte -> unicode mapping: printable Latin-1 bytes map to
/// themselves, the other 68 bytes to U+0100.. in byte order.
uint32_t gpt2ByteToCodePoint(uint8_t byte);

} // namespace tfm::rt

#endif // TFM_RUNTIME_TOKENIZER_H
