//===- DescriptionKeys.cpp - Typed keys and values of a .tfm file ---------===//

#include "DescriptionKeys.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace tfm {
namespace description {

namespace {

/// The closest of `candidates` to `word` if it is close enough to be a typo.
std::string closest(llvm::StringRef word,
                    llvm::ArrayRef<llvm::StringRef> candidates) {
  std::string best;
  unsigned bestDistance = ~0u;
  for (llvm::StringRef c : candidates) {
    unsigned d = word.edit_distance(c, /*AllowReplacements=*/true);
    if (d < bestDistance) {
      bestDistance = d;
      best = c.str();
    }
  }
  unsigned limit = std::max<unsigned>(2, word.size() / 3);
  return bestDistance <= limit ? best : "";
}

} // namespace

std::string didYouMean(llvm::StringRef word,
                       llvm::ArrayRef<llvm::StringRef> candidates) {
  std::string best = closest(word, candidates);
  return best.empty() ? "" : "; did you mean '" + best + "'?";
}

std::string joinNames(llvm::ArrayRef<llvm::StringRef> names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i)
      out += i + 1 == names.size() ? " or " : ", ";
    out += names[i].str();
  }
  return out;
}

std::string describe(const Term &term) {
  switch (term.kind) {
  case Term::Integer:
  case Term::Float:
    return "number " + term.text;
  case Term::String:
    return "string \"" + term.text + "\"";
  case Term::Ident:
    return "'" + term.text + (term.isCall ? "(...)'" : "'");
  }
  return "?";
}

/// The entries of one block, after checking for unknown and duplicate keys.
KeyReader::KeyReader(Diagnostics &diags, llvm::StringRef bufferName)
    : diags(diags) {
  llvm::SmallString<256> dir(bufferName);
  llvm::sys::path::remove_filename(dir);
  if (dir.empty())
    dir = ".";
  llvm::sys::fs::make_absolute(dir);
  baseDir = std::string(dir);
}

bool KeyReader::checkKeys(const Block &block, llvm::StringRef what,
                          llvm::ArrayRef<llvm::StringRef> allowed, Keys &keys) {
  for (const Entry &entry : block.entries) {
    if (entry.stringKey)
      return diags.error(entry.keyLoc, "expected a key name in '" + what +
                                           "', found string \"" + entry.key +
                                           "\"");
    if (!llvm::is_contained(allowed, llvm::StringRef(entry.key)))
      return diags.error(entry.keyLoc, "unknown key '" + entry.key + "' in '" +
                                           what + "'" +
                                           didYouMean(entry.key, allowed));
    auto [it, inserted] = keys.entries.try_emplace(entry.key, &entry);
    if (!inserted) {
      diags.error(entry.keyLoc,
                  "duplicate key '" + entry.key + "' in '" + what + "'");
      diags.note(it->second->keyLoc, "first given here");
      return false;
    }
    if (entry.repeat && entry.key != "block")
      return diags.error(entry.repeatLoc,
                         "only 'block' takes a repeat count 'x N'");
  }
  return true;
}

const Entry *KeyReader::require(const Keys &keys, llvm::StringRef key,
                                llvm::StringRef what, llvm::SMLoc where) {
  if (const Entry *e = keys.get(key))
    return e;
  diags.error(where, "missing required key '" + key + "' in '" + what + "'");
  return nullptr;
}

const Value *KeyReader::valueOf(const Entry &entry) {
  if (entry.value)
    return entry.value.get();
  diags.error(entry.block->open,
              "expected '=' after '" + entry.key + "', found '{'");
  return nullptr;
}

const Block *KeyReader::blockOf(const Entry &entry) {
  if (entry.block)
    return entry.block.get();
  diags.error(entry.value->loc, "expected '{' after '" + entry.key +
                                    "': it is a block, not a value");
  return nullptr;
}

const Term *KeyReader::singleTerm(const Entry &entry) {
  const Value *value = valueOf(entry);
  if (!value)
    return nullptr;
  if (!value->plusLocs.empty()) {
    diags.error(value->plusLocs.front(),
                "unexpected '+' in the value of '" + entry.key + "'");
    return nullptr;
  }
  if (!value->modifiers.empty()) {
    diags.error(value->modifiers.front().loc,
                "unexpected " + describe(value->modifiers.front()) +
                    " after the value of '" + entry.key + "'");
    return nullptr;
  }
  if (value->block && entry.key != "weights") {
    diags.error(value->block->open,
                "unexpected '{' after the value of '" + entry.key + "'");
    return nullptr;
  }
  return &value->sum.front();
}

bool KeyReader::noArgs(const Term &term) {
  if (!term.isCall)
    return true;
  return diags.error(term.lparenLoc, "'" + term.text + "' takes no arguments");
}

bool KeyReader::readInt(const Term &term, llvm::StringRef what, int64_t min,
                        int64_t max, int64_t &out) {
  if (term.kind != Term::Integer)
    return diags.error(term.loc, "expected an integer for '" + what +
                                     "', found " + describe(term));
  int64_t v;
  bool overflow = llvm::StringRef(term.text).getAsInteger(10, v);
  if (overflow || v < min || v > max)
    return diags.error(term.loc, "'" + what + "' must be between " +
                                     llvm::Twine(min) + " and " +
                                     llvm::Twine(max) + ", found " + term.text);
  out = v;
  return true;
}

bool KeyReader::readFloat(const Term &term, llvm::StringRef what, float &out) {
  if (term.kind != Term::Integer && term.kind != Term::Float)
    return diags.error(term.loc, "expected a number for '" + what +
                                     "', found " + describe(term));
  errno = 0;
  char *end = nullptr;
  float v = std::strtof(term.text.c_str(), &end);
  if (errno == ERANGE || !std::isfinite(v) ||
      end != term.text.c_str() + term.text.size())
    return diags.error(term.loc, "'" + what +
                                     "' is out of the range of a 32-bit "
                                     "float, found " +
                                     term.text);
  out = v;
  return true;
}

bool KeyReader::readBool(const Term &term, llvm::StringRef what, bool &out) {
  if (term.kind == Term::Ident && !term.isCall &&
      (term.text == "true" || term.text == "false")) {
    out = term.text == "true";
    return true;
  }
  return diags.error(term.loc, "expected true or false for '" + what +
                                   "', found " + describe(term));
}

bool KeyReader::readChoice(const Term &term, llvm::StringRef what,
                           llvm::ArrayRef<llvm::StringRef> choices,
                           size_t &out) {
  if (term.kind == Term::Ident) {
    for (size_t i = 0; i < choices.size(); ++i) {
      if (term.text == choices[i]) {
        out = i;
        return true;
      }
    }
  }
  std::string hint =
      term.kind == Term::Ident ? didYouMean(term.text, choices) : "";
  return diags.error(term.loc, "expected " + joinNames(choices) + " for '" +
                                   what + "', found " + describe(term) + hint);
}

bool KeyReader::readString(const Term &term, llvm::StringRef what,
                           std::string &out) {
  if (term.kind != Term::String)
    return diags.error(term.loc, "expected a string for '" + what +
                                     "', found " + describe(term));
  out = term.text;
  return true;
}

bool KeyReader::readPath(const Term &term, llvm::StringRef what,
                         std::string &out) {
  if (term.kind != Term::String)
    return diags.error(term.loc, "expected a file name in quotes for '" + what +
                                     "', found " + describe(term));
  if (term.text.empty())
    return diags.error(term.loc, "expected a file name for '" + what +
                                     "', found an empty string");
  if (llvm::sys::path::is_absolute(term.text)) {
    out = term.text;
    return true;
  }
  llvm::SmallString<256> path(baseDir);
  llvm::sys::path::append(path, term.text);
  llvm::sys::path::remove_dots(path, /*remove_dot_dot=*/true);
  out = std::string(path);
  return true;
}

bool KeyReader::readArgs(const Term &call,
                         llvm::ArrayRef<llvm::StringRef> params,
                         std::vector<const Term *> &out) {
  out.assign(params.size(), nullptr);
  size_t positional = 0;
  bool sawNamed = false;
  for (const Arg &arg : call.args) {
    size_t index;
    if (arg.name.empty()) {
      if (sawNamed)
        return diags.error(arg.loc, "positional argument after a named one "
                                    "in '" +
                                        call.text + "(...)'");
      if (positional >= params.size())
        return diags.error(
            arg.loc,
            "too many arguments to '" + call.text + "': expected " +
                (params.empty() ? std::string("none") : joinNames(params)));
      index = positional++;
    } else {
      sawNamed = true;
      auto it = llvm::find(params, llvm::StringRef(arg.name));
      if (it == params.end())
        return diags.error(arg.loc, "unknown argument '" + arg.name + "' of '" +
                                        call.text + "'" +
                                        didYouMean(arg.name, params));
      index = it - params.begin();
    }
    if (out[index])
      return diags.error(arg.loc, "argument '" + params[index] + "' of '" +
                                      call.text + "' given twice");
    out[index] = arg.value.get();
  }
  return true;
}

bool KeyReader::readIntEntry(const Keys &keys, llvm::StringRef key, int64_t min,
                             int64_t max, int64_t &out) {
  const Entry *e = keys.get(key);
  if (!e)
    return true;
  const Term *t = singleTerm(*e);
  return t && readInt(*t, key, min, max, out);
}

bool KeyReader::readBoolEntry(const Keys &keys, llvm::StringRef key,
                              bool &out) {
  const Entry *e = keys.get(key);
  if (!e)
    return true;
  const Term *t = singleTerm(*e);
  return t && readBool(*t, key, out);
}
} // namespace description
} // namespace tfm
