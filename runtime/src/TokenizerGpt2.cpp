//===- TokenizerGpt2.cpp - GPT-2 byte-level BPE encoding ------------------===//
//
// GPT-2's encoder: split the text with its pre-tokenisation regex (by hand,
// over Unicode classes), then merge each piece's bytes by merge rank.
//
//===----------------------------------------------------------------------===//

#include "tfm/runtime/Tokenizer.h"

#include <queue>

namespace tfm::rt {
namespace {

enum class CharClass : uint8_t { Letter, Number, Space, Other };

/// One character of the text. Invalid UTF-8 bytes are single characters of
/// class Other, so every byte of the input reaches the byte-level BPE.
struct Char {
  uint32_t cp;
  size_t start;
  size_t len;
  CharClass cls;
};

std::vector<Char> splitChars(std::string_view text) {
  std::vector<Char> chars;
  chars.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t cp;
    size_t len;
    bool ok = decodeUtf8(text.substr(i), cp, len);
    CharClass cls = !ok                       ? CharClass::Other
                    : isUnicodeLetter(cp)     ? CharClass::Letter
                    : isUnicodeNumber(cp)     ? CharClass::Number
                    : isUnicodeWhitespace(cp) ? CharClass::Space
                                              : CharClass::Other;
    chars.push_back({ok ? cp : 0xFFFFFFFFu, i, len, cls});
    i += len;
  }
  return chars;
}

/// Length in characters of the regex match at `i` of
///   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
/// (the alternatives are tried in order, as the regex engine does).
size_t matchAt(const std::vector<Char> &c, size_t i) {
  const size_t n = c.size();
  auto cpAt = [&](size_t k) { return k < n ? c[k].cp : 0u; };
  if (c[i].cp == '\'') {
    uint32_t a = cpAt(i + 1), b = cpAt(i + 2);
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
      return 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') ||
        (a == 'l' && b == 'l'))
      return 3;
  }
  // " ?X+" for the three non-space classes.
  size_t k = c[i].cp == ' ' && i + 1 < n ? i + 1 : i;
  if (c[k].cls != CharClass::Space) {
    CharClass cls = c[k].cls;
    size_t e = k;
    while (e < n && c[e].cls == cls)
      ++e;
    return e - i;
  }
  // \s+(?!\S) | \s+: a whitespace run, minus its last character when a
  // non-space follows (that character then leads the next piece).
  size_t e = i;
  while (e < n && c[e].cls == CharClass::Space)
    ++e;
  if (e < n && e - i >= 2)
    --e;
  return e - i;
}

/// A merge candidate: symbols `left` and `right` -> token `id`.
struct Candidate {
  int32_t rank;
  int left;
  int right;
  int32_t id;
  int32_t leftId; ///< Token ids when queued; stale if they changed.
  int32_t rightId;
};

/// Lowest rank first, then leftmost.
struct CandidateOrder {
  bool operator()(const Candidate &a, const Candidate &b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

} // namespace

void Tokenizer::bpeGpt2Word(std::string_view word,
                            std::vector<int32_t> &out) const {
  struct Sym {
    int32_t id;
    int prev;
    int next;
  };
  std::vector<Sym> syms;
  syms.reserve(word.size());
  for (size_t i = 0; i < word.size(); ++i)
    syms.push_back({byteToken[uint8_t(word[i])], int(i) - 1, int(i) + 1});
  syms.back().next = -1;

  std::priority_queue<Candidate, std::vector<Candidate>, CandidateOrder> agenda;
  auto consider = [&](int l, int r) {
    if (l < 0 || r < 0)
      return;
    int32_t a = syms[size_t(l)].id, b = syms[size_t(r)].id;
    auto it = mergeRank.find((uint64_t(uint32_t(a)) << 32) | uint32_t(b));
    if (it != mergeRank.end())
      agenda.push({it->second.first, l, r, it->second.second, a, b});
  };
  for (size_t i = 1; i < syms.size(); ++i)
    consider(int(i) - 1, int(i));
  while (!agenda.empty()) {
    Candidate c = agenda.top();
    agenda.pop();
    Sym &l = syms[size_t(c.left)];
    Sym &r = syms[size_t(c.right)];
    if (l.id != c.leftId || r.id != c.rightId || l.next != c.right)
      continue;
    l.id = c.id;
    r.id = -1;
    l.next = r.next;
    if (r.next >= 0)
      syms[size_t(r.next)].prev = c.left;
    consider(l.prev, c.left);
    consider(c.left, l.next);
  }
  for (int i = 0; i >= 0; i = syms[size_t(i)].next)
    out.push_back(syms[size_t(i)].id);
}

void Tokenizer::encodeGpt2(std::string_view text,
                           std::vector<int32_t> &out) const {
  if (text.empty())
    return;
  std::vector<Char> chars = splitChars(text);
  for (size_t i = 0; i < chars.size();) {
    size_t len = matchAt(chars, i);
    size_t start = chars[i].start;
    size_t end = chars[i + len - 1].start + chars[i + len - 1].len;
    bpeGpt2Word(text.substr(start, end - start), out);
    i += len;
  }
}

} // namespace tfm::rt
