//===- JsonLite.cpp - Minimal JSON reading for vocab.json -----------------===//

#include "JsonLite.h"

#include "tfm/runtime/Utf8.h"

#include <fmt/format.h>

namespace tfm::rt {
namespace {

class JsonReader {
public:
  JsonReader(std::string_view s, std::string &error) : s_(s), error_(error) {}

  bool fail(const std::string &what) {
    error_ = fmt::format("JSON error at byte offset {}: {}", pos_, what);
    return false;
  }
  void skipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' ||
                                s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool expect(char c) {
    skipSpace();
    if (pos_ >= s_.size() || s_[pos_] != c)
      return fail(fmt::format("expected '{}'", c));
    ++pos_;
    return true;
  }
  bool peek(char c) {
    skipSpace();
    return pos_ < s_.size() && s_[pos_] == c;
  }
  bool hex4(uint32_t &v) {
    if (s_.size() - pos_ < 4)
      return fail("truncated \\u escape");
    v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (d < 0) {
        --pos_;
        return fail("bad hex digit in \\u escape");
      }
      v = v * 16 + uint32_t(d);
    }
    return true;
  }
  bool string(std::string &out) {
    if (!expect('"'))
      return false;
    out.clear();
    while (true) {
      if (pos_ >= s_.size())
        return fail("unterminated string");
      char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (uint8_t(c) < 0x20)
        return fail("control character in string");
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      if (++pos_ >= s_.size())
        return fail("unterminated escape");
      char e = s_[pos_++];
      switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        uint32_t cp;
        if (!hex4(cp))
          return false;
        if (cp >= 0xD800 && cp < 0xDC00) {
          uint32_t lo;
          if (s_.substr(pos_, 2) != "\\u")
            return fail("high surrogate without low surrogate");
          pos_ += 2;
          if (!hex4(lo))
            return false;
          if (lo < 0xDC00 || lo > 0xDFFF)
            return fail("bad low surrogate");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp < 0xE000) {
          return fail("lone low surrogate");
        }
        appendUtf8(out, cp);
        break;
      }
      default:
        --pos_;
        return fail(fmt::format("unknown escape '\\{}'", e));
      }
    }
  }
  bool integer(int64_t &v) {
    skipSpace();
    bool neg = pos_ < s_.size() && s_[pos_] == '-';
    if (neg)
      ++pos_;
    size_t start = pos_;
    v = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      if (v > (INT64_MAX - 9) / 10)
        return fail("integer too large");
      v = v * 10 + (s_[pos_++] - '0');
    }
    if (pos_ == start)
      return fail("expected an integer");
    if (pos_ < s_.size() &&
        (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E'))
      return fail("expected an integer, found a fraction or exponent");
    if (neg)
      v = -v;
    return true;
  }
  bool end() {
    skipSpace();
    if (pos_ != s_.size())
      return fail("unexpected data after the JSON value");
    return true;
  }

private:
  std::string_view s_;
  std::string &error_;
  size_t pos_ = 0;
};

} // namespace

bool parseJsonStringIntObject(std::string_view json,
                              std::vector<std::pair<std::string, int64_t>> &out,
                              std::string &error) {
  JsonReader r(json, error);
  out.clear();
  if (!r.expect('{'))
    return false;
  if (r.peek('}'))
    return r.expect('}') && r.end();
  while (true) {
    std::string key;
    int64_t value;
    if (!r.string(key) || !r.expect(':') || !r.integer(value))
      return false;
    out.emplace_back(std::move(key), value);
    if (r.peek(',')) {
      r.expect(',');
      continue;
    }
    return r.expect('}') && r.end();
  }
}

} // namespace tfm::rt
