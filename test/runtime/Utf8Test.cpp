//===- Utf8Test.cpp - UTF-8 helpers and Unicode classes -------------------===//

#include "tfm/runtime/Utf8.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>

using namespace tfm::rt;

TEST(Utf8, EveryScalarValueRoundTrips) {
  for (uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp < 0xE000)
      continue;
    std::string s;
    appendUtf8(s, cp);
    uint32_t back;
    size_t len;
    ASSERT_TRUE(decodeUtf8(s, back, len)) << cp;
    ASSERT_EQ(back, cp);
    ASSERT_EQ(len, s.size());
    ASSERT_EQ(utf8SequenceLength(uint8_t(s[0])), s.size());
  }
}

TEST(Utf8, RejectsSurrogatesOverlongsAndOutOfRange) {
  // Encode the forbidden values by hand with the generic bit layout.
  auto raw3 = [](uint32_t cp) {
    return std::string{char(0xE0 | (cp >> 12)), char(0x80 | ((cp >> 6) & 63)),
                       char(0x80 | (cp & 63))};
  };
  for (uint32_t cp = 0xD800; cp < 0xE000; cp += 0x11) {
    uint32_t out;
    size_t len;
    EXPECT_FALSE(decodeUtf8(raw3(cp), out, len));
    EXPECT_EQ(len, 1u);
    EXPECT_EQ(out, kReplacementChar);
  }
  for (uint32_t cp = 0; cp < 0x800; cp += 7) { // Overlong 3-byte forms.
    uint32_t out;
    size_t len;
    EXPECT_FALSE(decodeUtf8(raw3(cp), out, len));
  }
  const std::string tooBig = "\xF4\x90\x80\x80";
  size_t offset = 99;
  EXPECT_FALSE(isValidUtf8("ok" + tooBig, &offset));
  EXPECT_EQ(offset, 2u);
  std::string text = "abc";
  text += "\xE4\xB8"; // Truncated.
  EXPECT_FALSE(isValidUtf8(text, &offset));
  EXPECT_EQ(offset, 3u);
  EXPECT_TRUE(isValidUtf8(""));
}

TEST(Utf8, AssemblerNeverSplitsCharacters) {
  std::string text;
  for (uint32_t cp : {0x41u, 0xE9u, 0x4E2Du, 0x1F600u, 0x20u, 0x10FFFFu})
    appendUtf8(text, cp);
  // Every way of cutting the text into two chunks, then byte by byte.
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    Utf8Assembler a;
    std::string out, chunk;
    a.push(std::string_view(text).substr(0, cut), chunk);
    EXPECT_TRUE(isValidUtf8(chunk));
    out += chunk;
    chunk.clear();
    a.push(std::string_view(text).substr(cut), chunk);
    EXPECT_TRUE(isValidUtf8(chunk));
    out += chunk;
    chunk.clear();
    a.finish(chunk);
    EXPECT_TRUE(chunk.empty());
    EXPECT_EQ(out, text);
  }
  Utf8Assembler a;
  std::string out;
  for (char c : text) {
    std::string chunk;
    a.push(std::string_view(&c, 1), chunk);
    EXPECT_TRUE(isValidUtf8(chunk));
    out += chunk;
  }
  EXPECT_EQ(out, text);
}

TEST(Utf8, AssemblerOutputIsAlwaysValid) {
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 2000; ++iter) {
    Utf8Assembler a;
    std::string all;
    for (int k = 0; k < 8; ++k) {
      std::string piece(rng() % 5, '\0');
      for (char &c : piece)
        c = char(rng() % 4 ? 0x80 | (rng() % 0x80) : rng() % 256);
      std::string chunk;
      a.push(piece, chunk);
      ASSERT_TRUE(isValidUtf8(chunk));
      all += chunk;
    }
    std::string tail;
    a.finish(tail);
    ASSERT_TRUE(isValidUtf8(tail));
    EXPECT_EQ(a.getPending(), 0u);
  }
}

TEST(Utf8, ClassesMatchPythonUnicodedata) {
  // The oracle: Python's unicodedata, one character per code point.
  std::string command = std::string(TFM_PYTHON) +
                        " -c \"import unicodedata as u,sys;"
                        "sys.stdout.write(''.join('L' if u.category(chr(c))"
                        "[0]=='L' else 'N' if u.category(chr(c))[0]=='N' else "
                        "'S' if chr(c).isspace() else '.' "
                        "for c in range(0x110000)))\"";
  FILE *pipe = ::popen(command.c_str(), "r");
  ASSERT_TRUE(pipe);
  std::string classes;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0)
    classes.append(buf, n);
  if (::pclose(pipe) != 0 || classes.size() != 0x110000)
    GTEST_SKIP() << "python3 not available to produce the oracle";
  size_t mismatches = 0;
  for (uint32_t cp = 0; cp < 0x110000; ++cp) {
    char want = classes[cp];
    bool letter = isUnicodeLetter(cp), number = isUnicodeNumber(cp);
    bool space = isUnicodeWhitespace(cp);
    // Python's isspace() also counts U+001C..U+001F, which are not
    // White_Space (the property regex engines use for \s).
    if (cp >= 0x1C && cp <= 0x1F)
      want = '.';
    char got = letter ? 'L' : number ? 'N' : space ? 'S' : '.';
    if (got != want && ++mismatches < 10)
      ADD_FAILURE() << std::hex << "U+" << cp << " want " << want << " got "
                    << got;
  }
  EXPECT_EQ(mismatches, 0u);
}
