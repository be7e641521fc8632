//===- DescriptionKeys.h - Typed keys and values of a .tfm file -*- C++ -*-===//
//
// Private to the description frontend. The syntax tree (DescriptionSyntax.h)
// knows nothing of models; KeyReader reads it as keys and typed values:
// unknown and duplicate keys, required keys, integers in a range, floats,
// booleans, choices with "did you mean", strings, paths, call arguments.
// Each check reports its error at the key or value it concerns and returns
// false. DescriptionModel.cpp knows which keys a model has and builds the
// ModelSpec with these.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_LIB_FRONTEND_DESCRIPTIONKEYS_H
#define TFM_LIB_FRONTEND_DESCRIPTIONKEYS_H

#include "DescriptionSyntax.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tfm {
namespace description {

/// "; did you mean 'x'?" when one of `candidates` is close to `word`.
std::string didYouMean(llvm::StringRef word,
                       llvm::ArrayRef<llvm::StringRef> candidates);
/// "a, b or c".
std::string joinNames(llvm::ArrayRef<llvm::StringRef> names);
/// A term for messages: "number 3", "string \"x\"", "'ident(...)'".
std::string describe(const Term &term);

/// The entries of one block, after checking for unknown and duplicate keys.
class Keys {
public:
  const Entry *get(llvm::StringRef key) const {
    auto it = entries.find(key);
    return it == entries.end() ? nullptr : it->second;
  }
  llvm::StringMap<const Entry *> entries;
};

/// Reads keys and typed values, reporting the first error through `diags`.
/// Relative paths are resolved against the directory of `bufferName`.
class KeyReader {
public:
  KeyReader(Diagnostics &diags, llvm::StringRef bufferName);

  bool checkKeys(const Block &block, llvm::StringRef what,
                 llvm::ArrayRef<llvm::StringRef> allowed, Keys &keys);
  const Entry *require(const Keys &keys, llvm::StringRef key,
                       llvm::StringRef what, llvm::SMLoc where);
  /// Entry must be `key = value`; returns its value.
  const Value *valueOf(const Entry &entry);
  /// Entry must be `key { ... }`; returns the block.
  const Block *blockOf(const Entry &entry);
  /// Value must be a single term with nothing after it.
  const Term *singleTerm(const Entry &entry);
  bool noArgs(const Term &term);

  bool readInt(const Term &term, llvm::StringRef what, int64_t min, int64_t max,
               int64_t &out);
  bool readFloat(const Term &term, llvm::StringRef what, float &out);
  bool readBool(const Term &term, llvm::StringRef what, bool &out);
  bool readChoice(const Term &term, llvm::StringRef what,
                  llvm::ArrayRef<llvm::StringRef> choices, size_t &out);
  bool readString(const Term &term, llvm::StringRef what, std::string &out);
  bool readPath(const Term &term, llvm::StringRef what, std::string &out);
  /// Binds the arguments of a call to `params` (positionally or by name).
  bool readArgs(const Term &call, llvm::ArrayRef<llvm::StringRef> params,
                std::vector<const Term *> &out);

  bool readIntEntry(const Keys &keys, llvm::StringRef key, int64_t min,
                    int64_t max, int64_t &out);
  bool readBoolEntry(const Keys &keys, llvm::StringRef key, bool &out);

protected:
  Diagnostics &diags;
  std::string baseDir;
};

} // namespace description
} // namespace tfm

#endif // TFM_LIB_FRONTEND_DESCRIPTIONKEYS_H
