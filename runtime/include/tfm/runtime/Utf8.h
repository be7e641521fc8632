//===- Utf8.h - UTF-8 decoding and Unicode classes --------------*- C++ -*-===//
//
// Small, strict UTF-8 helpers shared by the tokenizers and the CLI, plus the
// three Unicode classes GPT-2's pre-tokeniser needs (\p{L}, \p{N}, \s).
//
//===----------------------------------------------------------------------===//

#ifndef TFM_RUNTIME_UTF8_H
#define TFM_RUNTIME_UTF8_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tfm::rt {

/// U+FFFD, what invalid input bytes become.
constexpr uint32_t kReplacementChar = 0xFFFD;

/// Decodes one code point at the start of `s` under the strict rules that
/// SentencePiece uses: no overlong forms, no surrogates, nothing above
/// U+10FFFF. On success sets `cp` and `len` (1..4) and returns true. On
/// failure sets `len` to 1 (an invalid sequence is skipped one byte at a
/// time), `cp` to U+FFFD and returns false. `s` must not be empty.
bool decodeUtf8(std::string_view s, uint32_t &cp, size_t &len);

/// Appends the UTF-8 encoding of `cp` (which must be a valid scalar value).
void appendUtf8(std::string &out, uint32_t cp);

/// Returns true if `s` is entirely valid UTF-8; otherwise false and, if
/// `errorOffset` is given, the byte offset of the first invalid byte.
bool isValidUtf8(std::string_view s, size_t *errorOffset = nullptr);

/// Number of bytes of a sequence starting with `lead` (1..4), or 0 if `lead`
/// can never start a sequence (a continuation byte, 0xC0, 0xC1, 0xF5..0xFF).
size_t utf8SequenceLength(uint8_t lead);

/// Splits a byte stream into whole UTF-8 characters. Bytes are pushed as they
/// arrive; complete characters come out, an incomplete tail is held back
/// until more bytes arrive. Invalid bytes come out as U+FFFD (one per byte),
/// so the output is always valid UTF-8.
class Utf8Assembler {
public:
  /// Appends `bytes` and moves every complete character to `out`.
  void push(std::string_view bytes, std::string &out);
  /// Flushes what is held back: an incomplete tail becomes U+FFFD per byte.
  void finish(std::string &out);
  /// Bytes currently held back (0..3).
  size_t getPending() const { return pending.size(); }

private:
  std::string pending;
};

/// Unicode general category L* (letters), as in the regex class \p{L}.
bool isUnicodeLetter(uint32_t cp);
/// Unicode general category N* (numbers), as in the regex class \p{N}.
bool isUnicodeNumber(uint32_t cp);
/// The Unicode White_Space property, as in the regex class \s.
bool isUnicodeWhitespace(uint32_t cp);

} // namespace tfm::rt

#endif // TFM_RUNTIME_UTF8_H
