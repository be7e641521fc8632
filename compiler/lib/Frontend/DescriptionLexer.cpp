//===- DescriptionLexer.cpp - Tokens of .tfm descriptions -----------------===//

#include "DescriptionSyntax.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <utility>

namespace tfm {
namespace description {

bool Diagnostics::error(llvm::SMLoc loc, const llvm::Twine &message) {
  if (failed())
    return false;
  std::string text = message.str();
  llvm::SMDiagnostic diag = sm.GetMessage(loc, llvm::SourceMgr::DK_Error, text);
  sm.PrintMessage(loc, llvm::SourceMgr::DK_Error, text);
  std::string line;
  llvm::raw_string_ostream os(line);
  os << diag.getFilename() << ":" << diag.getLineNo() << ":"
     << diag.getColumnNo() + 1 << ": error: " << text;
  firstError = os.str();
  return false;
}

void Diagnostics::note(llvm::SMLoc loc, const llvm::Twine &message) {
  sm.PrintMessage(loc, llvm::SourceMgr::DK_Note, message);
}

namespace {

bool isIdentStart(char c) { return llvm::isAlpha(c) || c == '_'; }
bool isIdentChar(char c) { return llvm::isAlnum(c) || c == '_'; }

std::string printable(char c) {
  if (llvm::isPrint(c))
    return std::string("'") + c + "'";
  std::string out;
  llvm::raw_string_ostream os(out);
  os << "byte 0x" << llvm::format_hex_no_prefix((unsigned char)c, 2);
  return os.str();
}

class Lexer {
public:
  Lexer(llvm::StringRef buffer, Diagnostics &diags)
      : buffer(buffer), diags(diags) {}

  bool run(std::vector<Token> &out) {
    while (true) {
      Token tok;
      if (!next(tok))
        return false;
      out.push_back(std::move(tok));
      if (out.back().kind == TokenKind::Eof)
        return true;
    }
  }

private:
  llvm::SMLoc locAt(size_t offset) const {
    return llvm::SMLoc::getFromPointer(buffer.data() + offset);
  }

  Token make(TokenKind kind, size_t begin) const {
    Token tok;
    tok.kind = kind;
    tok.spelling = buffer.slice(begin, pos);
    tok.text = tok.spelling.str();
    tok.loc = locAt(begin);
    return tok;
  }

  char peek(size_t ahead = 0) const {
    return pos + ahead < buffer.size() ? buffer[pos + ahead] : '\0';
  }

  bool next(Token &tok) {
    // Skip blanks and comments; newlines are tokens.
    while (pos < buffer.size()) {
      char c = buffer[pos];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
        ++pos;
      } else if (c == '#') {
        while (pos < buffer.size() && buffer[pos] != '\n')
          ++pos;
      } else {
        break;
      }
    }
    size_t begin = pos;
    if (pos >= buffer.size()) {
      tok = make(TokenKind::Eof, begin);
      return true;
    }
    char c = buffer[pos];
    if (llvm::isDigit(c) || ((c == '-' || c == '+') && llvm::isDigit(peek(1))))
      return lexNumber(tok);
    // The one-character tokens.
    static constexpr std::pair<char, TokenKind> kSingles[] = {
        {'\n', TokenKind::Newline}, {'{', TokenKind::LBrace},
        {'}', TokenKind::RBrace},   {'(', TokenKind::LParen},
        {')', TokenKind::RParen},   {'=', TokenKind::Equal},
        {',', TokenKind::Comma},    {';', TokenKind::Semicolon},
        {'+', TokenKind::Plus}};
    for (auto [ch, kind] : kSingles) {
      if (c == ch) {
        ++pos;
        tok = make(kind, begin);
        return true;
      }
    }
    if (c == '"')
      return lexString(tok);
    if (isIdentStart(c)) {
      while (pos < buffer.size()) {
        if (isIdentChar(buffer[pos]))
          ++pos;
        else if (buffer[pos] == '-' && isIdentStart(peek(1)))
          pos += 2;
        else
          break;
      }
      tok = make(TokenKind::Ident, begin);
      return true;
    }
    return diags.error(locAt(begin), "unexpected character " + printable(c));
  }

  bool lexNumber(Token &tok) {
    size_t begin = pos;
    bool isFloat = false;
    if (peek() == '-' || peek() == '+')
      ++pos;
    while (llvm::isDigit(peek()))
      ++pos;
    if (peek() == '.' && llvm::isDigit(peek(1))) {
      isFloat = true;
      ++pos;
      while (llvm::isDigit(peek()))
        ++pos;
    }
    if ((peek() == 'e' || peek() == 'E') &&
        (llvm::isDigit(peek(1)) ||
         ((peek(1) == '-' || peek(1) == '+') && llvm::isDigit(peek(2))))) {
      isFloat = true;
      pos += 2;
      while (llvm::isDigit(peek()))
        ++pos;
    }
    if (isIdentChar(peek()) || peek() == '.') {
      while (isIdentChar(peek()) || peek() == '.')
        ++pos;
      return diags.error(locAt(begin),
                         "malformed number '" + buffer.slice(begin, pos) + "'");
    }
    tok = make(isFloat ? TokenKind::Float : TokenKind::Integer, begin);
    return true;
  }

  bool lexString(Token &tok) {
    size_t begin = pos++;
    std::string value;
    while (true) {
      if (pos >= buffer.size() || buffer[pos] == '\n')
        return diags.error(locAt(begin),
                           "unterminated string: expected '\"' before the "
                           "end of the line");
      char c = buffer[pos++];
      if (c == '"')
        break;
      if (c != '\\') {
        value.push_back(c);
        continue;
      }
      // The escapes: \" \\ \n \t.
      size_t escape = llvm::StringRef("\"\\nt").find(peek());
      if (escape == llvm::StringRef::npos)
        return diags.error(locAt(pos - 1),
                           "unknown escape sequence in string; expected "
                           "\\\", \\\\, \\n or \\t");
      value.push_back("\"\\\n\t"[escape]);
      ++pos;
    }
    tok = make(TokenKind::String, begin);
    tok.text = std::move(value);
    return true;
  }

  llvm::StringRef buffer;
  Diagnostics &diags;
  size_t pos = 0;
};

} // namespace

bool lex(llvm::StringRef buffer, Diagnostics &diags, std::vector<Token> &out) {
  return Lexer(buffer, diags).run(out);
}

std::string describe(const Token &tok) {
  switch (tok.kind) {
  case TokenKind::Eof:
    return "end of file";
  case TokenKind::Newline:
    return "end of line";
  case TokenKind::Ident:
    return "'" + tok.text + "'";
  case TokenKind::String:
    return "string " + tok.spelling.str();
  case TokenKind::Integer:
  case TokenKind::Float:
    return "number " + tok.text;
  case TokenKind::Error:
    return "invalid token";
  default:
    return "'" + tok.spelling.str() + "'";
  }
}

} // namespace description
} // namespace tfm
