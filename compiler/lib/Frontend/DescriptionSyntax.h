//===- DescriptionSyntax.h - Tokens and syntax tree of .tfm files -*- C++
//-*-===//
//
// Private to the description frontend. The lexer turns a buffer into tokens;
// the syntax parser turns tokens into a generic tree of blocks, entries and
// values that knows nothing of models. DescriptionKeys.cpp and
// DescriptionModel.cpp then read the tree into a ModelSpec, checking keys and
// values.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_LIB_FRONTEND_DESCRIPTIONSYNTAX_H
#define TFM_LIB_FRONTEND_DESCRIPTIONSYNTAX_H

#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/SMLoc.h"
#include "llvm/Support/SourceMgr.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tfm {
namespace description {

/// Reports the first error of a parse through the SourceMgr and remembers
/// its one-line form for the llvm::Error returned to the caller.
class Diagnostics {
public:
  explicit Diagnostics(llvm::SourceMgr &sm) : sm(sm) {}

  /// Prints `message` at `loc` (only the first error is printed) and
  /// returns false so callers can `return error(...)`.
  bool error(llvm::SMLoc loc, const llvm::Twine &message);
  /// A note attached to the error just printed.
  void note(llvm::SMLoc loc, const llvm::Twine &message);

  bool failed() const { return !firstError.empty(); }
  const std::string &message() const { return firstError; }
  llvm::SourceMgr &sourceMgr() { return sm; }

private:
  llvm::SourceMgr &sm;
  std::string firstError;
};

enum class TokenKind {
  Eof,
  Newline,
  Ident,   ///< [A-Za-z_][A-Za-z0-9_]*, inner '-' before a letter: pre-norm
  String,  ///< "..." with \" \\ \n \t escapes; text holds the contents
  Integer, ///< [-+]?[0-9]+
  Float,   ///< [-+]?[0-9]+(.[0-9]+)?([eE][-+]?[0-9]+)? with a '.' or exponent
  LBrace,
  RBrace,
  LParen,
  RParen,
  Equal,
  Comma,
  Plus,
  Semicolon,
  Error,
};

struct Token {
  TokenKind kind = TokenKind::Eof;
  llvm::StringRef spelling; ///< The source characters.
  std::string text;         ///< Identifier / number spelling, string contents.
  llvm::SMLoc loc;
};

/// Splits the buffer into tokens; `#` starts a comment to the end of line.
/// On a malformed token, reports it and returns false.
bool lex(llvm::StringRef buffer, Diagnostics &diags, std::vector<Token> &out);

/// A human-readable name of a token for "expected X, found Y" messages.
std::string describe(const Token &tok);

struct Term;
struct Block;

/// `name = term` or a positional `term` inside a call's parentheses.
struct Arg {
  std::string name; ///< Empty for positional arguments.
  llvm::SMLoc loc;  ///< Of the name, or of the value if positional.
  std::unique_ptr<Term> value;
};

/// A literal, an identifier, or a call `ident(args)`.
struct Term {
  enum Kind { Integer, Float, String, Ident } kind = Ident;
  llvm::SMLoc loc;
  std::string text;    ///< Identifier name, string contents, number spelling.
  bool isCall = false; ///< Had parentheses (maybe empty).
  llvm::SMLoc lparenLoc;
  std::vector<Arg> args;
};

/// The right-hand side of `key = ...`: terms joined by '+', then modifier
/// terms (identifiers or calls on the same line), then an optional block.
struct Value {
  llvm::SMLoc loc;
  std::vector<Term> sum; ///< One term unless the value was `a + b`.
  std::vector<llvm::SMLoc> plusLocs;
  std::vector<Term> modifiers; ///< e.g. `transpose split(1, 0, 3)`.
  std::unique_ptr<Block> block;
};

struct Entry {
  std::string key;
  bool stringKey = false;
  llvm::SMLoc keyLoc;
  std::optional<int64_t> repeat; ///< `key x N { ... }`
  llvm::SMLoc repeatLoc;
  std::unique_ptr<Value> value; ///< `key = value`
  std::unique_ptr<Block> block; ///< `key { ... }`
};

struct Block {
  llvm::SMLoc open, close;
  std::vector<Entry> entries;
};

/// The whole file: `model "name" { ... }`.
struct File {
  llvm::SMLoc modelLoc;
  std::string name;
  llvm::SMLoc nameLoc;
  Block body;
};

/// Parses the tokens into `file`; reports the first error and returns false.
bool parseSyntax(const std::vector<Token> &tokens, Diagnostics &diags,
                 File &file);

} // namespace description
} // namespace tfm

#endif // TFM_LIB_FRONTEND_DESCRIPTIONSYNTAX_H
