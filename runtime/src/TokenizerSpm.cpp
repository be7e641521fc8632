//===- TokenizerSpm.cpp - SentencePiece-style BPE encoding ----------------===//
//
// SentencePiece's BPE encoder (bpe_model.cc) for Llama-style models, which
// is also llama2.c's algorithm, minus llama2.c's divergences: the dummy
// prefix is only added to non-empty text, invalid UTF-8 bytes become U+FFFD,
// and only normal/user-defined/unused pieces are merge targets.
//
//===----------------------------------------------------------------------===//

#include "tfm/runtime/Tokenizer.h"

#include <queue>

namespace tfm::rt {
namespace {

/// SentencePiece's escaped space, U+2581 "▁".
constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";

/// A symbol of the linked list being merged: a byte range of the normalised
/// text. Merged-away symbols have len 0.
struct Symbol {
  int prev;
  int next;
  size_t start;
  size_t len;
  bool frozen; ///< User-defined pieces never merge.
};

/// A candidate merge of symbols `left` and `left`'s successor.
struct Candidate {
  float score;
  int left;
  int right;
  size_t len; ///< Combined length when queued; stale if it changed.
};

/// Highest score first, then leftmost (SentencePiece's comparator).
struct CandidateOrder {
  bool operator()(const Candidate &a, const Candidate &b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

} // namespace

void Tokenizer::encodeSentencePiece(std::string_view text,
                                    std::vector<int32_t> &out) const {
  if (text.empty())
    return;
  // Normalise: dummy prefix, spaces escaped, invalid bytes -> U+FFFD.
  std::string norm(kSpaceSymbol);
  norm.reserve(text.size() * 3 / 2 + 3);
  for (size_t i = 0; i < text.size();) {
    uint32_t cp;
    size_t len;
    bool ok = decodeUtf8(text.substr(i), cp, len);
    if (!ok)
      appendUtf8(norm, kReplacementChar);
    else if (cp == ' ')
      norm += kSpaceSymbol;
    else
      norm.append(text.data() + i, len);
    i += len;
  }

  // Initial symbols: user-defined pieces (longest match), else code points.
  std::vector<Symbol> symbols;
  const std::string_view normView(norm);
  for (size_t i = 0; i < norm.size();) {
    size_t len = 0;
    for (std::string_view u : userDefined)
      if (u.size() > len && normView.substr(i, u.size()) == u)
        len = u.size();
    bool frozen = len > 0;
    if (!frozen) {
      uint32_t cp;
      decodeUtf8(normView.substr(i), cp, len); // Valid after normalisation.
    }
    int idx = int(symbols.size());
    symbols.push_back({idx - 1, idx + 1, i, len, frozen});
    i += len;
  }
  symbols.back().next = -1;

  std::priority_queue<Candidate, std::vector<Candidate>, CandidateOrder> agenda;
  auto consider = [&](int left, int right) {
    if (left < 0 || right < 0 || symbols[size_t(left)].frozen ||
        symbols[size_t(right)].frozen)
      return;
    const Symbol &l = symbols[size_t(left)];
    size_t len = l.len + symbols[size_t(right)].len;
    auto it = mergeable.find(normView.substr(l.start, len));
    if (it == mergeable.end())
      return;
    agenda.push({scores[size_t(it->second)], left, right, len});
  };
  for (size_t i = 1; i < symbols.size(); ++i)
    consider(int(i) - 1, int(i));

  while (!agenda.empty()) {
    Candidate c = agenda.top();
    agenda.pop();
    Symbol &l = symbols[size_t(c.left)];
    Symbol &r = symbols[size_t(c.right)];
    // Skip candidates that an earlier merge invalidated.
    if (l.len == 0 || r.len == 0 || l.next != c.right || l.len + r.len != c.len)
      continue;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0)
      symbols[size_t(r.next)].prev = c.left;
    consider(l.prev, c.left);
    consider(c.left, l.next);
  }

  for (int i = 0; i >= 0; i = symbols[size_t(i)].next) {
    const Symbol &s = symbols[size_t(i)];
    std::string_view piece = normView.substr(s.start, s.len);
    auto it = mergeable.find(piece);
    if (it != mergeable.end()) {
      out.push_back(it->second);
      continue;
    }
    // Byte fallback, one token per UTF-8 byte; one <unk> for the symbol if
    // the vocabulary lacks a byte token (SentencePiece without fallback).
    bool haveBytes = true;
    for (char ch : piece)
      haveBytes &= byteToken[uint8_t(ch)] >= 0;
    if (haveBytes) {
      for (char ch : piece)
        out.push_back(byteToken[uint8_t(ch)]);
    } else if (unk >= 0) {
      out.push_back(unk);
    }
  }
}

} // namespace tfm::rt
