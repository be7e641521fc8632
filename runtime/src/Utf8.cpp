//===- Utf8.cpp - UTF-8 decoding and Unicode classes ----------------------===//
//
// Strict UTF-8 decoding (the rules of SentencePiece's DecodeUTF8) and lookups
// in the generated Unicode range tables.
//
//===----------------------------------------------------------------------===//

#include "tfm/runtime/Utf8.h"

#include <algorithm>
#include <iterator>

namespace tfm::rt {
namespace {

struct CodePointRange {
  uint32_t first;
  uint32_t last;
};

#include "Utf8Tables.inc"

bool isTrail(uint8_t b) { return (b & 0xC0) == 0x80; }

bool isScalar(uint32_t cp) {
  return cp < 0xD800 || (cp >= 0xE000 && cp <= 0x10FFFF);
}

template <size_t N>
bool inRanges(const CodePointRange (&table)[N], uint32_t cp) {
  // First range whose last >= cp; cp is inside iff that range starts <= cp.
  const CodePointRange *it = std::lower_bound(
      std::begin(table), std::end(table), cp,
      [](const CodePointRange &r, uint32_t v) { return r.last < v; });
  return it != std::end(table) && it->first <= cp;
}

} // namespace

bool decodeUtf8(std::string_view s, uint32_t &cp, size_t &len) {
  const auto *p = reinterpret_cast<const uint8_t *>(s.data());
  const size_t n = s.size();
  if (p[0] < 0x80) {
    cp = p[0];
    len = 1;
    return true;
  }
  if (n >= 2 && (p[0] & 0xE0) == 0xC0 && isTrail(p[1])) {
    uint32_t c = (uint32_t(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
    if (c >= 0x80) {
      cp = c;
      len = 2;
      return true;
    }
  } else if (n >= 3 && (p[0] & 0xF0) == 0xE0 && isTrail(p[1]) &&
             isTrail(p[2])) {
    uint32_t c = (uint32_t(p[0] & 0x0F) << 12) | (uint32_t(p[1] & 0x3F) << 6) |
                 (p[2] & 0x3F);
    if (c >= 0x800 && isScalar(c)) {
      cp = c;
      len = 3;
      return true;
    }
  } else if (n >= 4 && (p[0] & 0xF8) == 0xF0 && isTrail(p[1]) &&
             isTrail(p[2]) && isTrail(p[3])) {
    uint32_t c = (uint32_t(p[0] & 0x07) << 18) | (uint32_t(p[1] & 0x3F) << 12) |
                 (uint32_t(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    if (c >= 0x10000 && isScalar(c)) {
      cp = c;
      len = 4;
      return true;
    }
  }
  cp = kReplacementChar;
  len = 1;
  return false;
}

void appendUtf8(std::string &out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

bool isValidUtf8(std::string_view s, size_t *errorOffset) {
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp;
    size_t len;
    if (!decodeUtf8(s.substr(i), cp, len)) {
      if (errorOffset)
        *errorOffset = i;
      return false;
    }
    i += len;
  }
  return true;
}

size_t utf8SequenceLength(uint8_t lead) {
  if (lead < 0x80)
    return 1;
  if (lead >= 0xC2 && lead <= 0xDF)
    return 2;
  if ((lead & 0xF0) == 0xE0)
    return 3;
  if (lead >= 0xF0 && lead <= 0xF4)
    return 4;
  return 0;
}

void Utf8Assembler::push(std::string_view bytes, std::string &out) {
  pending.append(bytes.data(), bytes.size());
  size_t i = 0;
  while (i < pending.size()) {
    size_t need = utf8SequenceLength(uint8_t(pending[i]));
    if (need == 0) {
      appendUtf8(out, kReplacementChar);
      ++i;
      continue;
    }
    size_t have = pending.size() - i;
    if (have < need) {
      // Hold the tail back only if it can still become a valid character;
      // a wrong continuation byte already proves it cannot.
      bool prefixOk = true;
      for (size_t k = 1; k < have; ++k)
        prefixOk &= isTrail(uint8_t(pending[i + k]));
      if (prefixOk)
        break;
    }
    uint32_t cp;
    size_t len;
    if (decodeUtf8(std::string_view(pending).substr(i), cp, len))
      out.append(pending, i, len);
    else
      appendUtf8(out, kReplacementChar);
    i += len;
  }
  pending.erase(0, i);
}

void Utf8Assembler::finish(std::string &out) {
  for (size_t k = 0; k < pending.size(); ++k)
    appendUtf8(out, kReplacementChar);
  pending.clear();
}

bool isUnicodeLetter(uint32_t cp) { return inRanges(kLetterRanges, cp); }

bool isUnicodeNumber(uint32_t cp) { return inRanges(kNumberRanges, cp); }

bool isUnicodeWhitespace(uint32_t cp) {
  // The White_Space property (PropList.txt); small and stable.
  switch (cp) {
  case 0x09:
  case 0x0A:
  case 0x0B:
  case 0x0C:
  case 0x0D:
  case 0x20:
  case 0x85:
  case 0xA0:
  case 0x1680:
  case 0x2028:
  case 0x2029:
  case 0x202F:
  case 0x205F:
  case 0x3000:
    return true;
  default:
    return cp >= 0x2000 && cp <= 0x200A;
  }
}

} // namespace tfm::rt
