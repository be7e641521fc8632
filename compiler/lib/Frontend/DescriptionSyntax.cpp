//===- DescriptionSyntax.cpp - Tokens to the syntax tree of a .tfm file ---===//
//
//   file     ::= 'model' STRING block
//   block    ::= '{' { NEWLINE | ';' | entry } '}'
//   entry    ::= key [ 'x' INTEGER ] ( '=' value | block )
//   key      ::= IDENT | STRING
//   value    ::= term { '+' term } { modifier } [ block ]
//   modifier ::= IDENT [ '(' args ')' ]        (same line, not a new key)
//   term     ::= INTEGER | FLOAT | STRING | IDENT [ '(' args ')' ]
//   args     ::= [ arg { ',' arg } ]
//   arg      ::= [ IDENT '=' ] term
//
// A value ends at the end of its line, at ';' or '}', or where the next
// entry (a key followed by '=', '{' or 'x N') starts on the same line.
// Newlines may follow '(' and ',', precede ',' and ')', and precede a '{'.
//
//===----------------------------------------------------------------------===//

#include "DescriptionSyntax.h"

namespace tfm {
namespace description {

namespace {

class SyntaxParser {
public:
  SyntaxParser(const std::vector<Token> &tokens, Diagnostics &diags)
      : toks(tokens), diags(diags) {}

  bool parseFile(File &file) {
    skipNewlines();
    if (!isIdent(cur(), "model"))
      return diags.error(cur().loc, "expected 'model' at the start of the "
                                    "description, found " +
                                        describe(cur()));
    file.modelLoc = cur().loc;
    ++pos;
    if (cur().kind != TokenKind::String)
      return diags.error(cur().loc,
                         "expected the model's name as a string after "
                         "'model', found " +
                             describe(cur()));
    file.name = cur().text;
    file.nameLoc = cur().loc;
    ++pos;
    skipNewlines();
    if (cur().kind != TokenKind::LBrace)
      return diags.error(cur().loc,
                         "expected '{' after the model's name, found " +
                             describe(cur()));
    if (!parseBlock(file.body, "model"))
      return false;
    skipNewlines();
    if (cur().kind != TokenKind::Eof)
      return diags.error(cur().loc,
                         "expected the end of the file after the model's "
                         "closing '}', found " +
                             describe(cur()));
    return true;
  }

private:
  const Token &cur() const { return at(pos); }
  const Token &at(size_t i) const {
    return i < toks.size() ? toks[i] : toks.back();
  }
  static bool isIdent(const Token &tok, llvm::StringRef name) {
    return tok.kind == TokenKind::Ident && tok.text == name;
  }
  void skipNewlines() {
    while (cur().kind == TokenKind::Newline)
      ++pos;
  }
  /// The next token that is not a newline, without consuming anything.
  const Token &peekPastNewlines() const {
    size_t i = pos;
    while (at(i).kind == TokenKind::Newline)
      ++i;
    return at(i);
  }

  /// Does token `i` start an entry: a key followed by '=', '{' or 'x N'?
  bool startsEntry(size_t i) const {
    const Token &key = at(i);
    if (key.kind != TokenKind::Ident && key.kind != TokenKind::String)
      return false;
    const Token &after = at(i + 1);
    return after.kind == TokenKind::Equal || after.kind == TokenKind::LBrace ||
           (isIdent(after, "x") && at(i + 2).kind == TokenKind::Integer);
  }

  /// `what` names the block in messages ("model", "attention", ...).
  bool parseBlock(Block &block, llvm::StringRef what) {
    block.open = cur().loc;
    if (++depth > kMaxDepth)
      return diags.error(cur().loc, "blocks are nested too deeply");
    ++pos; // '{'
    while (true) {
      const Token &tok = cur();
      switch (tok.kind) {
      case TokenKind::Newline:
      case TokenKind::Semicolon:
        ++pos;
        continue;
      case TokenKind::RBrace:
        block.close = tok.loc;
        ++pos;
        --depth;
        return true;
      case TokenKind::Eof: {
        unsigned line = diags.sourceMgr().getLineAndColumn(block.open).first;
        return diags.error(
            tok.loc, "expected '}' to close '" + what + "' opened at line " +
                         llvm::Twine(line) + ", found end of file");
      }
      case TokenKind::Ident:
      case TokenKind::String: {
        block.entries.emplace_back();
        if (!parseEntry(block.entries.back()))
          return false;
        continue;
      }
      default:
        return diags.error(tok.loc, "expected a key or '}' in '" + what +
                                        "', found " + describe(tok));
      }
    }
  }

  bool parseEntry(Entry &entry) {
    const Token &key = cur();
    entry.key = key.text;
    entry.stringKey = key.kind == TokenKind::String;
    entry.keyLoc = key.loc;
    ++pos;
    if (isIdent(cur(), "x") && at(pos + 1).kind == TokenKind::Integer) {
      entry.repeatLoc = at(pos + 1).loc;
      int64_t count;
      if (llvm::StringRef(at(pos + 1).text).getAsInteger(10, count))
        return diags.error(entry.repeatLoc, "repeat count " + at(pos + 1).text +
                                                " is out of range");
      entry.repeat = count;
      pos += 2;
      if (peekPastNewlines().kind != TokenKind::LBrace)
        return diags.error(peekPastNewlines().loc,
                           "expected '{' after '" + entry.key + " x " +
                               llvm::Twine(count) + "', found " +
                               describe(peekPastNewlines()));
    }
    if (cur().kind == TokenKind::Equal) {
      ++pos;
      entry.value = std::make_unique<Value>();
      if (!parseValue(*entry.value, entry.key))
        return false;
    } else if (peekPastNewlines().kind == TokenKind::LBrace) {
      skipNewlines();
      entry.block = std::make_unique<Block>();
      if (!parseBlock(*entry.block, entry.key))
        return false;
    } else {
      return diags.error(cur().loc, "expected '=' or '{' after '" + entry.key +
                                        "', found " + describe(cur()));
    }
    // The entry must end here.
    const Token &end = cur();
    if (end.kind == TokenKind::Newline || end.kind == TokenKind::Semicolon ||
        end.kind == TokenKind::RBrace || end.kind == TokenKind::Eof ||
        startsEntry(pos))
      return true;
    return diags.error(end.loc, "expected the end of the line after the "
                                "value of '" +
                                    entry.key + "', found " + describe(end));
  }

  bool parseValue(Value &value, llvm::StringRef key) {
    const Token &first = cur();
    value.loc = first.loc;
    if (first.kind != TokenKind::Integer && first.kind != TokenKind::Float &&
        first.kind != TokenKind::String && first.kind != TokenKind::Ident)
      return diags.error(first.loc, "expected a value for '" + key +
                                        "', found " + describe(first));
    value.sum.emplace_back();
    if (!parseTerm(value.sum.back()))
      return false;
    while (cur().kind == TokenKind::Plus) {
      value.plusLocs.push_back(cur().loc);
      ++pos;
      const Token &tok = cur();
      if (tok.kind != TokenKind::Integer && tok.kind != TokenKind::Float &&
          tok.kind != TokenKind::String && tok.kind != TokenKind::Ident)
        return diags.error(tok.loc, "expected a value after '+', found " +
                                        describe(tok));
      value.sum.emplace_back();
      if (!parseTerm(value.sum.back()))
        return false;
    }
    while (cur().kind == TokenKind::Ident && !startsEntry(pos)) {
      value.modifiers.emplace_back();
      if (!parseTerm(value.modifiers.back()))
        return false;
    }
    if (peekPastNewlines().kind == TokenKind::LBrace) {
      skipNewlines();
      value.block = std::make_unique<Block>();
      if (!parseBlock(*value.block, key))
        return false;
    }
    return true;
  }

  bool parseTerm(Term &term) {
    const Token &tok = cur();
    term.loc = tok.loc;
    term.text = tok.text;
    if (tok.kind == TokenKind::Integer)
      term.kind = Term::Integer;
    else if (tok.kind == TokenKind::Float)
      term.kind = Term::Float;
    else if (tok.kind == TokenKind::String)
      term.kind = Term::String;
    else if (tok.kind == TokenKind::Ident)
      term.kind = Term::Ident;
    else
      return diags.error(tok.loc, "expected a value, found " + describe(tok));
    ++pos;
    if (term.kind != Term::Ident || cur().kind != TokenKind::LParen)
      return true;
    term.isCall = true;
    term.lparenLoc = cur().loc;
    if (++depth > kMaxDepth)
      return diags.error(cur().loc, "calls are nested too deeply");
    ++pos;
    skipNewlines();
    if (cur().kind == TokenKind::RParen) {
      ++pos;
      --depth;
      return true;
    }
    while (true) {
      skipNewlines();
      Arg arg;
      arg.loc = cur().loc;
      if (cur().kind == TokenKind::Ident &&
          at(pos + 1).kind == TokenKind::Equal) {
        arg.name = cur().text;
        pos += 2;
        skipNewlines();
      }
      const Token &v = cur();
      if (v.kind != TokenKind::Integer && v.kind != TokenKind::Float &&
          v.kind != TokenKind::String && v.kind != TokenKind::Ident)
        return diags.error(v.loc, "expected an argument of '" + term.text +
                                      "(...)', found " + describe(v));
      arg.value = std::make_unique<Term>();
      if (!parseTerm(*arg.value))
        return false;
      term.args.push_back(std::move(arg));
      // A newline may precede ',' or ')' but does not separate arguments.
      if (cur().kind == TokenKind::Newline &&
          (peekPastNewlines().kind == TokenKind::Comma ||
           peekPastNewlines().kind == TokenKind::RParen))
        skipNewlines();
      if (cur().kind == TokenKind::Comma) {
        ++pos;
        continue;
      }
      if (cur().kind == TokenKind::RParen) {
        ++pos;
        --depth;
        return true;
      }
      return diags.error(cur().loc, "expected ',' or ')' in '" + term.text +
                                        "(...)', found " + describe(cur()));
    }
  }

  const std::vector<Token> &toks;
  /// Bounds the recursion on hostile input.
  static constexpr unsigned kMaxDepth = 32;

  Diagnostics &diags;
  size_t pos = 0;
  unsigned depth = 0;
};

} // namespace

bool parseSyntax(const std::vector<Token> &tokens, Diagnostics &diags,
                 File &file) {
  return SyntaxParser(tokens, diags).parseFile(file);
}

} // namespace description
} // namespace tfm
