//===- DescriptionParser.cpp - Reads a .tfm syntax tree into a ModelSpec --===//
//
// The syntax tree (DescriptionSyntax.h) is generic; this file knows which
// keys each block has, which of them are required, the type and range of
// each value, and the cross-checks between hyper-parameters. It stops at the
// first error and reports it at the key or value it concerns.
//
//===----------------------------------------------------------------------===//

#include "DescriptionSyntax.h"

#include "tfm/Frontend/DefaultBindings.h"
#include "tfm/Frontend/Description.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>

using namespace tfm::description;

namespace tfm {

float sqrtDimScale(int64_t dim) {
  return static_cast<float>(std::sqrt(static_cast<double>(dim)));
}

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
  case Term::Float: return "number " + term.text;
  case Term::String: return "string \"" + term.text + "\"";
  case Term::Ident: return "'" + term.text + (term.isCall ? "(...)'" : "'");
  }
  return "?";
}

/// The entries of one block, after checking for unknown and duplicate keys.
class Keys {
public:
  const Entry *get(llvm::StringRef key) const {
    auto it = entries.find(key);
    return it == entries.end() ? nullptr : it->second;
  }
  llvm::StringMap<const Entry *> entries;
};

class SpecReader {
public:
  SpecReader(Diagnostics &diags, llvm::StringRef bufferName)
      : diags(diags) {
    llvm::SmallString<256> dir(bufferName);
    llvm::sys::path::remove_filename(dir);
    if (dir.empty())
      dir = ".";
    llvm::sys::fs::make_absolute(dir);
    baseDir = std::string(dir);
  }

  bool read(const File &file, ModelSpec &out);

private:
  // ----- Generic checks --------------------------------------------------
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

  bool readInt(const Term &term, llvm::StringRef what, int64_t min,
               int64_t max, int64_t &out);
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

  // ----- Model structure -------------------------------------------------
  bool readPositions(const Entry &entry);
  bool readEmbedding(const Entry &entry);
  bool readBlock(const Entry &entry);
  bool readNorm(const Term &term, llvm::StringRef what, NormSpec &out);
  bool readAttention(const Entry &entry);
  bool readFfn(const Entry &entry);
  bool readFinalNorm(const Entry &entry);
  bool readTokenizer(const Entry &entry);
  bool readWeights(const Entry &entry);
  bool readMapping(const Block &block);
  bool crossCheck(const File &file, const Keys &model);

  Diagnostics &diags;
  std::string baseDir;
  ModelSpec spec;

  // Remembered for cross-checks.
  const Term *scaleTerm = nullptr;   ///< `scale = sqrt(dim)` needs the dim.
  const Term *positionsTerm = nullptr;
  const Term *finalNormTerm = nullptr;
  const Term *tokenizerTerm = nullptr;
  const Entry *headsEntry = nullptr, *kvHeadsEntry = nullptr,
              *headDimEntry = nullptr;
  const Block *mapping = nullptr;
  NormSpec finalNormSpec;
  bool finalNormIsCall = false;
  bool scaleIsSqrtDim = false;
};

bool SpecReader::checkKeys(const Block &block, llvm::StringRef what,
                           llvm::ArrayRef<llvm::StringRef> allowed,
                           Keys &keys) {
  for (const Entry &entry : block.entries) {
    if (entry.stringKey)
      return diags.error(entry.keyLoc, "expected a key name in '" + what +
                                           "', found string \"" + entry.key +
                                           "\"");
    if (!llvm::is_contained(allowed, llvm::StringRef(entry.key)))
      return diags.error(entry.keyLoc,
                         "unknown key '" + entry.key + "' in '" + what + "'" +
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

const Entry *SpecReader::require(const Keys &keys, llvm::StringRef key,
                                 llvm::StringRef what, llvm::SMLoc where) {
  if (const Entry *e = keys.get(key))
    return e;
  diags.error(where, "missing required key '" + key + "' in '" + what + "'");
  return nullptr;
}

const Value *SpecReader::valueOf(const Entry &entry) {
  if (entry.value)
    return entry.value.get();
  diags.error(entry.block->open,
              "expected '=' after '" + entry.key + "', found '{'");
  return nullptr;
}

const Block *SpecReader::blockOf(const Entry &entry) {
  if (entry.block)
    return entry.block.get();
  diags.error(entry.value->loc, "expected '{' after '" + entry.key +
                                    "': it is a block, not a value");
  return nullptr;
}

const Term *SpecReader::singleTerm(const Entry &entry) {
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

bool SpecReader::noArgs(const Term &term) {
  if (!term.isCall)
    return true;
  return diags.error(term.lparenLoc,
                     "'" + term.text + "' takes no arguments");
}

bool SpecReader::readInt(const Term &term, llvm::StringRef what, int64_t min,
                         int64_t max, int64_t &out) {
  if (term.kind != Term::Integer)
    return diags.error(term.loc, "expected an integer for '" + what +
                                     "', found " + describe(term));
  int64_t v;
  bool overflow = llvm::StringRef(term.text).getAsInteger(10, v);
  if (overflow || v < min || v > max)
    return diags.error(term.loc, "'" + what + "' must be between " +
                                     llvm::Twine(min) + " and " +
                                     llvm::Twine(max) + ", found " +
                                     term.text);
  out = v;
  return true;
}

bool SpecReader::readFloat(const Term &term, llvm::StringRef what,
                           float &out) {
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

bool SpecReader::readBool(const Term &term, llvm::StringRef what, bool &out) {
  if (term.kind == Term::Ident && !term.isCall &&
      (term.text == "true" || term.text == "false")) {
    out = term.text == "true";
    return true;
  }
  return diags.error(term.loc, "expected true or false for '" + what +
                                   "', found " + describe(term));
}

bool SpecReader::readChoice(const Term &term, llvm::StringRef what,
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
                                   what + "', found " + describe(term) +
                                   hint);
}

bool SpecReader::readString(const Term &term, llvm::StringRef what,
                            std::string &out) {
  if (term.kind != Term::String)
    return diags.error(term.loc, "expected a string for '" + what +
                                     "', found " + describe(term));
  out = term.text;
  return true;
}

bool SpecReader::readPath(const Term &term, llvm::StringRef what,
                          std::string &out) {
  if (term.kind != Term::String)
    return diags.error(term.loc, "expected a file name in quotes for '" +
                                     what + "', found " + describe(term));
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

bool SpecReader::readArgs(const Term &call,
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
        return diags.error(arg.loc, "too many arguments to '" + call.text +
                                        "': expected " +
                                        (params.empty()
                                             ? std::string("none")
                                             : joinNames(params)));
      index = positional++;
    } else {
      sawNamed = true;
      auto it = llvm::find(params, llvm::StringRef(arg.name));
      if (it == params.end())
        return diags.error(arg.loc, "unknown argument '" + arg.name +
                                        "' of '" + call.text + "'" +
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

bool SpecReader::readIntEntry(const Keys &keys, llvm::StringRef key,
                              int64_t min, int64_t max, int64_t &out) {
  const Entry *e = keys.get(key);
  if (!e)
    return true;
  const Term *t = singleTerm(*e);
  return t && readInt(*t, key, min, max, out);
}

bool SpecReader::readBoolEntry(const Keys &keys, llvm::StringRef key,
                               bool &out) {
  const Entry *e = keys.get(key);
  if (!e)
    return true;
  const Term *t = singleTerm(*e);
  return t && readBool(*t, key, out);
}

//===----------------------------------------------------------------------===//
// The model and its parts
//===----------------------------------------------------------------------===//

bool SpecReader::read(const File &file, ModelSpec &out) {
  spec.name = file.name;
  if (spec.name.empty())
    return diags.error(file.nameLoc, "expected a non-empty model name");

  static const llvm::StringRef modelKeys[] = {
      "arch",        "vocab", "dim",       "context", "positions", "embedding",
      "block",       "final_norm", "head", "tokenizer", "weights"};
  Keys keys;
  if (!checkKeys(file.body, "model", modelKeys, keys))
    return false;
  // Required keys, reported in the order a reader expects them.
  for (llvm::StringRef key : {"vocab", "dim", "context", "positions", "block",
                              "final_norm", "head", "tokenizer", "weights"})
    if (!require(keys, key, "model", file.modelLoc))
      return false;

  if (const Entry *e = keys.get("arch")) {
    const Term *t = singleTerm(*e);
    if (!t || !readString(*t, "arch", spec.arch) || !noArgs(*t))
      return false;
  }
  if (!readIntEntry(keys, "vocab", 1, kMaxVocab, spec.vocabSize) ||
      !readIntEntry(keys, "dim", 1, kMaxDim, spec.dim) ||
      !readIntEntry(keys, "context", 1, kMaxContext, spec.contextLength))
    return false;
  if (!readPositions(*keys.get("positions")))
    return false;
  if (const Entry *e = keys.get("embedding"))
    if (!readEmbedding(*e))
      return false;
  if (!readBlock(*keys.get("block")) ||
      !readFinalNorm(*keys.get("final_norm")))
    return false;
  {
    const Term *t = singleTerm(*keys.get("head"));
    size_t choice;
    if (!t || !readChoice(*t, "head", {"tied", "untied"}, choice) ||
        !noArgs(*t))
      return false;
    spec.tiedHead = choice == 0;
  }
  if (!readTokenizer(*keys.get("tokenizer")) ||
      !readWeights(*keys.get("weights")))
    return false;
  if (!crossCheck(file, keys))
    return false;
  out = std::move(spec);
  return true;
}

bool SpecReader::readPositions(const Entry &entry) {
  const Term *t = singleTerm(entry);
  size_t choice;
  if (!t || !readChoice(*t, "positions",
                        {"none", "sinusoidal", "learned", "rope", "alibi"},
                        choice))
    return false;
  positionsTerm = t;
  static const PositionalKind kinds[] = {
      PositionalKind::None, PositionalKind::Sinusoidal,
      PositionalKind::Learned, PositionalKind::Rope, PositionalKind::Alibi};
  spec.positional = kinds[choice];
  if (spec.positional != PositionalKind::Rope)
    return noArgs(*t);
  std::vector<const Term *> args;
  if (!readArgs(*t, {"theta", "style"}, args))
    return false;
  if (args[0]) {
    if (!readFloat(*args[0], "theta", spec.ropeTheta))
      return false;
    if (!(spec.ropeTheta > 0))
      return diags.error(args[0]->loc, "'theta' must be positive, found " +
                                           args[0]->text);
  }
  if (args[1]) {
    size_t style;
    if (!readChoice(*args[1], "style", {"interleaved", "half"}, style) ||
        !noArgs(*args[1]))
      return false;
    spec.ropeStyle = style == 0 ? RopeStyle::Interleaved : RopeStyle::Half;
  }
  return true;
}

bool SpecReader::readEmbedding(const Entry &entry) {
  const Block *block = blockOf(entry);
  Keys keys;
  if (!block || !checkKeys(*block, "embedding", {"scale"}, keys))
    return false;
  const Entry *e = keys.get("scale");
  if (!e)
    return true;
  const Term *t = singleTerm(*e);
  if (!t)
    return false;
  if (t->kind == Term::Ident && t->text == "sqrt" && t->isCall) {
    if (t->args.size() != 1 || !t->args[0].name.empty())
      return diags.error(t->lparenLoc,
                         "expected one argument in 'sqrt(...)', e.g. "
                         "sqrt(dim)");
    const Term &arg = *t->args[0].value;
    if (arg.kind == Term::Ident && arg.text == "dim" && !arg.isCall) {
      scaleIsSqrtDim = true; // Needs the dim: computed in crossCheck.
      scaleTerm = t;
      return true;
    }
    float x;
    if (!readFloat(arg, "sqrt", x))
      return false;
    if (!(x > 0))
      return diags.error(arg.loc, "expected a positive number in "
                                  "'sqrt(...)', found " +
                                      arg.text);
    spec.embeddingScale = std::sqrt(x);
    return true;
  }
  if (t->kind != Term::Integer && t->kind != Term::Float)
    return diags.error(t->loc, "expected a number or sqrt(dim) for 'scale', "
                               "found " +
                                   describe(*t));
  if (!readFloat(*t, "scale", spec.embeddingScale))
    return false;
  if (!(spec.embeddingScale > 0))
    return diags.error(t->loc, "'scale' must be positive, found " + t->text);
  return true;
}

bool SpecReader::readNorm(const Term &term, llvm::StringRef what,
                          NormSpec &out) {
  size_t choice;
  if (!readChoice(term, what, {"layernorm", "rmsnorm"}, choice))
    return false;
  out.kind = choice == 0 ? NormKind::LayerNorm : NormKind::RMSNorm;
  out.eps = 1e-5f;
  std::vector<const Term *> args;
  if (!readArgs(term, {"eps"}, args))
    return false;
  if (args[0]) {
    if (!readFloat(*args[0], "eps", out.eps))
      return false;
    if (!(out.eps > 0 && out.eps < 1))
      return diags.error(args[0]->loc,
                         "'eps' must be between 0 and 1 (exclusive), found " +
                             args[0]->text);
  }
  return true;
}

bool SpecReader::readBlock(const Entry &entry) {
  const Block *block = blockOf(entry);
  if (!block)
    return false;
  if (!entry.repeat)
    return diags.error(block->open,
                       "expected 'x <layers>' before '{', e.g. 'block x 12 "
                       "{ ... }'");
  if (*entry.repeat < 1 || *entry.repeat > kMaxLayers)
    return diags.error(entry.repeatLoc,
                       "the number of layers must be between 1 and " +
                           llvm::Twine(kMaxLayers) + ", found " +
                           llvm::Twine(*entry.repeat));
  spec.numLayers = *entry.repeat;
  Keys keys;
  if (!checkKeys(*block, "block", {"order", "norm", "attention", "ffn"}, keys))
    return false;
  for (llvm::StringRef key : {"order", "norm", "attention", "ffn"})
    if (!require(keys, key, "block", entry.keyLoc))
      return false;
  const Term *order = singleTerm(*keys.get("order"));
  size_t choice;
  if (!order ||
      !readChoice(*order, "order", {"pre-norm", "post-norm"}, choice) ||
      !noArgs(*order))
    return false;
  spec.block.preNorm = choice == 0;
  const Term *norm = singleTerm(*keys.get("norm"));
  if (!norm || !readNorm(*norm, "norm", spec.block.norm))
    return false;
  return readAttention(*keys.get("attention")) && readFfn(*keys.get("ffn"));
}

bool SpecReader::readAttention(const Entry &entry) {
  const Block *block = blockOf(entry);
  Keys keys;
  if (!block ||
      !checkKeys(*block, "attention",
                 {"heads", "kv_heads", "head_dim", "causal", "bias"}, keys) ||
      !require(keys, "heads", "attention", entry.keyLoc))
    return false;
  AttentionSpec &a = spec.block.attention;
  headsEntry = keys.get("heads");
  kvHeadsEntry = keys.get("kv_heads");
  headDimEntry = keys.get("head_dim");
  if (!readIntEntry(keys, "heads", 1, kMaxHeads, a.heads))
    return false;
  a.kvHeads = a.heads;
  a.headDim = 0; // Defaults to dim / heads in crossCheck.
  if (!readIntEntry(keys, "kv_heads", 1, kMaxHeads, a.kvHeads) ||
      !readIntEntry(keys, "head_dim", 1, kMaxDim, a.headDim) ||
      !readBoolEntry(keys, "causal", a.causal))
    return false;
  a.qkvBias = a.outBias = false;
  if (const Entry *e = keys.get("bias")) {
    const Value *v = valueOf(*e);
    if (!v)
      return false;
    if (!v->modifiers.empty())
      return diags.error(v->modifiers.front().loc,
                         "unexpected " + describe(v->modifiers.front()) +
                             " after the value of 'bias'");
    if (v->block)
      return diags.error(v->block->open,
                         "unexpected '{' after the value of 'bias'");
    if (v->sum.size() == 1 && v->sum[0].kind == Term::Ident &&
        (v->sum[0].text == "true" || v->sum[0].text == "false")) {
      a.qkvBias = a.outBias = v->sum[0].text == "true";
      return noArgs(v->sum[0]);
    }
    std::set<std::string> seen;
    for (const Term &t : v->sum) {
      size_t choice;
      if (!readChoice(t, "bias",
                      v->sum.size() == 1
                          ? llvm::ArrayRef<llvm::StringRef>(
                                {"none", "qkv", "out", "qkv+out", "true",
                                 "false"})
                          : llvm::ArrayRef<llvm::StringRef>({"qkv", "out"}),
                      choice) ||
          !noArgs(t))
        return false;
      if (!seen.insert(t.text).second)
        return diags.error(t.loc, "'" + t.text + "' given twice in 'bias'");
      if (t.text == "qkv")
        a.qkvBias = true;
      else if (t.text == "out")
        a.outBias = true;
    }
  }
  return true;
}

bool SpecReader::readFfn(const Entry &entry) {
  const Block *block = blockOf(entry);
  Keys keys;
  if (!block ||
      !checkKeys(*block, "ffn", {"activation", "gated", "hidden", "bias"},
                 keys) ||
      !require(keys, "activation", "ffn", entry.keyLoc) ||
      !require(keys, "hidden", "ffn", entry.keyLoc))
    return false;
  FfnSpec &f = spec.block.ffn;
  const Term *act = singleTerm(*keys.get("activation"));
  size_t choice;
  if (!act ||
      !readChoice(*act, "activation", {"relu", "gelu", "gelu_tanh", "silu"},
                  choice) ||
      !noArgs(*act))
    return false;
  static const Activation acts[] = {Activation::ReLU, Activation::Gelu,
                                    Activation::GeluTanh, Activation::SiLU};
  f.activation = acts[choice];
  f.gated = false;
  f.bias = false;
  return readIntEntry(keys, "hidden", 1, kMaxHidden, f.hidden) &&
         readBoolEntry(keys, "gated", f.gated) &&
         readBoolEntry(keys, "bias", f.bias);
}

bool SpecReader::readFinalNorm(const Entry &entry) {
  const Term *t = singleTerm(entry);
  if (!t)
    return false;
  finalNormTerm = t;
  if (t->kind == Term::Ident && !t->isCall &&
      (t->text == "true" || t->text == "false" || t->text == "none")) {
    spec.finalNorm = t->text == "true";
    return true;
  }
  if (t->kind == Term::Ident &&
      (t->text == "layernorm" || t->text == "rmsnorm")) {
    finalNormIsCall = true;
    spec.finalNorm = true;
    return readNorm(*t, "final_norm", finalNormSpec);
  }
  return diags.error(t->loc, "expected true, false, none or the block's norm "
                             "(e.g. rmsnorm(eps = 1e-5)) for 'final_norm', "
                             "found " +
                                 describe(*t));
}

bool SpecReader::readTokenizer(const Entry &entry) {
  const Term *t = singleTerm(entry);
  size_t choice;
  if (!t || !readChoice(*t, "tokenizer", {"none", "sentencepiece", "gpt2"},
                        choice))
    return false;
  tokenizerTerm = t;
  static const TokenizerKind kinds[] = {
      TokenizerKind::None, TokenizerKind::SentencePiece, TokenizerKind::Gpt2};
  spec.tokenizer.kind = kinds[choice];
  if (spec.tokenizer.kind == TokenizerKind::None)
    return noArgs(*t);
  std::vector<const Term *> args;
  if (!readArgs(*t, {"file"}, args))
    return false;
  if (args[0])
    return readPath(*args[0], "file", spec.tokenizer.path);
  return true;
}

bool SpecReader::readWeights(const Entry &entry) {
  const Term *t = singleTerm(entry);
  size_t choice;
  if (!t ||
      !readChoice(*t, "weights",
                  {"none", "random", "llama2c", "gguf", "safetensors"},
                  choice))
    return false;
  static const CheckpointFormat formats[] = {
      CheckpointFormat::None, CheckpointFormat::Random,
      CheckpointFormat::Llama2c, CheckpointFormat::Gguf,
      CheckpointFormat::Safetensors};
  WeightsSpec &w = spec.weights;
  w.format = formats[choice];
  const Block *block = entry.value->block.get();
  if (block && (w.format == CheckpointFormat::None ||
                w.format == CheckpointFormat::Random))
    return diags.error(block->open, "'" + t->text +
                                        "' weights take no mapping block");
  if (w.format == CheckpointFormat::None)
    return noArgs(*t);
  std::vector<const Term *> args;
  if (w.format == CheckpointFormat::Random) {
    if (!readArgs(*t, {"seed"}, args))
      return false;
    int64_t seed = 0;
    if (args[0] && !readInt(*args[0], "seed", 0, INT64_MAX, seed))
      return false;
    w.seed = static_cast<uint64_t>(seed);
    return true;
  }
  if (!readArgs(*t, {"file"}, args))
    return false;
  if (!args[0])
    return diags.error(t->loc, "expected the checkpoint's file name, e.g. " +
                                   t->text + "(\"model" +
                                   (w.format == CheckpointFormat::Llama2c
                                        ? ".bin"
                                        : w.format == CheckpointFormat::Gguf
                                              ? ".gguf"
                                              : ".safetensors") +
                                   "\")");
  mapping = block; // Read once the model's weights are known.
  return readPath(*args[0], "file", w.path);
}

bool SpecReader::readMapping(const Block &block) {
  WeightsSpec &w = spec.weights;
  std::map<std::string, WeightBinding> defaults = defaultBindings(spec);
  std::vector<llvm::StringRef> known;
  for (const auto &kv : defaults)
    known.push_back(kv.first);
  std::map<std::string, const Entry *> seen;
  for (const Entry &entry : block.entries) {
    if (!entry.stringKey)
      return diags.error(entry.keyLoc,
                         "expected a canonical weight name in quotes, e.g. "
                         "\"layers.{i}.wq.weight\", found '" +
                             entry.key + "'");
    if (!defaults.count(entry.key))
      return diags.error(entry.keyLoc, "this model has no weight \"" +
                                           entry.key + "\"" +
                                           didYouMean(entry.key, known));
    auto [it, inserted] = seen.emplace(entry.key, &entry);
    if (!inserted) {
      diags.error(entry.keyLoc, "duplicate mapping of \"" + entry.key + "\"");
      diags.note(it->second->keyLoc, "first given here");
      return false;
    }
    if (entry.repeat)
      return diags.error(entry.repeatLoc,
                         "only 'block' takes a repeat count 'x N'");
    const Value *v = valueOf(entry);
    if (!v)
      return false;
    if (!v->plusLocs.empty())
      return diags.error(v->plusLocs.front(), "unexpected '+' in a mapping");
    if (v->block)
      return diags.error(v->block->open, "unexpected '{' in a mapping");
    const Term &src = v->sum.front();
    WeightBinding b;
    if (!readString(src, "the tensor name", b.source))
      return false;
    if (b.source.empty())
      return diags.error(src.loc, "expected a tensor name, found an empty "
                                  "string");
    bool perLayer = llvm::StringRef(entry.key).contains("{i}");
    bool srcPerLayer = llvm::StringRef(b.source).contains("{i}");
    if (perLayer && !srcPerLayer)
      return diags.error(src.loc, "the tensor of a per-layer weight must "
                                  "contain '{i}' (the layer index)");
    if (!perLayer && srcPerLayer)
      return diags.error(src.loc, "'{i}' in the tensor of \"" + entry.key +
                                      "\", which is not a per-layer weight");
    bool sawTranspose = false, sawSplit = false;
    for (const Term &m : v->modifiers) {
      if (m.text == "transpose") {
        if (sawTranspose)
          return diags.error(m.loc, "'transpose' given twice");
        sawTranspose = true;
        b.transpose = true;
        if (!noArgs(m))
          return false;
        continue;
      }
      if (m.text == "split") {
        if (sawSplit)
          return diags.error(m.loc, "'split' given twice");
        sawSplit = true;
        if (!m.isCall)
          return diags.error(m.loc, "expected 'split(axis, index, count)'");
        std::vector<const Term *> args;
        if (!readArgs(m, {"axis", "index", "count"}, args))
          return false;
        for (size_t i = 0; i < 3; ++i)
          if (!args[i])
            return diags.error(m.loc, llvm::Twine("missing argument '") +
                                          (i == 0   ? "axis"
                                           : i == 1 ? "index"
                                                    : "count") +
                                          "' of 'split(axis, index, count)'");
        if (!readInt(*args[0], "axis", 0, 7, b.splitAxis) ||
            !readInt(*args[2], "count", 1, 1 << 16, b.splitCount) ||
            !readInt(*args[1], "index", 0, b.splitCount - 1, b.splitIndex))
          return false;
        continue;
      }
      return diags.error(m.loc, "expected 'transpose' or 'split(axis, index, "
                                "count)' after the tensor name, found " +
                                    describe(m) +
                                    didYouMean(m.text, {"transpose", "split"}));
    }
    w.bindings[entry.key] = b;
  }
  completeBindings(spec);
  return true;
}

bool SpecReader::crossCheck(const File &file, const Keys &model) {
  AttentionSpec &a = spec.block.attention;
  if (scaleIsSqrtDim)
    spec.embeddingScale = sqrtDimScale(spec.dim);
  if (a.headDim == 0) {
    if (spec.dim % a.heads != 0)
      return diags.error(headsEntry->keyLoc,
                         "heads (" + llvm::Twine(a.heads) +
                             ") does not divide dim (" + llvm::Twine(spec.dim) +
                             "): give 'head_dim' explicitly");
    a.headDim = spec.dim / a.heads;
  }
  if (a.kvHeads > a.heads || a.heads % a.kvHeads != 0)
    return diags.error(kvHeadsEntry->keyLoc,
                       "kv_heads (" + llvm::Twine(a.kvHeads) +
                           ") must divide heads (" + llvm::Twine(a.heads) +
                           ")");
  if (spec.positional == PositionalKind::Rope && a.headDim % 2 != 0)
    return diags.error(positionsTerm->loc,
                       "rope needs an even head_dim, but head_dim is " +
                           llvm::Twine(a.headDim));
  if (spec.positional == PositionalKind::Sinusoidal && spec.dim % 2 != 0)
    return diags.error(positionsTerm->loc,
                       "sinusoidal positions need an even dim, but dim is " +
                           llvm::Twine(spec.dim));
  if (finalNormIsCall && (finalNormSpec.kind != spec.block.norm.kind ||
                          finalNormSpec.eps != spec.block.norm.eps))
    return diags.error(finalNormTerm->loc,
                       "the final norm must be the block's norm (" +
                           llvm::Twine(toString(spec.block.norm.kind)) +
                           ") with the same eps; write 'final_norm = true'");
  if (spec.tokenizer.kind != TokenizerKind::None &&
      spec.tokenizer.path.empty() &&
      spec.weights.format != CheckpointFormat::Gguf)
    return diags.error(tokenizerTerm->loc,
                       "expected the tokenizer's file, e.g. " +
                           tokenizerTerm->text + "(\"" +
                           (spec.tokenizer.kind == TokenizerKind::Gpt2
                                ? "vocab.json"
                                : "tokenizer.bin") +
                           "\"); only gguf weights carry their own tokenizer");
  if (mapping) {
    if (!readMapping(*mapping))
      return false;
  } else {
    completeBindings(spec);
  }
  std::string problem = validateSpec(spec);
  if (!problem.empty())
    return diags.error(file.modelLoc, "invalid model: " + problem);
  return true;
}

} // namespace

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

llvm::Expected<ModelSpec>
parseDescription(std::unique_ptr<llvm::MemoryBuffer> buffer,
                 llvm::SourceMgr &sm) {
  std::string name = buffer->getBufferIdentifier().str();
  unsigned id = sm.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  llvm::StringRef text = sm.getMemoryBuffer(id)->getBuffer();
  Diagnostics diags(sm);
  std::vector<Token> tokens;
  File file;
  ModelSpec spec;
  bool ok = lex(text, diags, tokens) && parseSyntax(tokens, diags, file) &&
            SpecReader(diags, name).read(file, spec);
  if (!ok && !diags.failed())
    diags.error(llvm::SMLoc::getFromPointer(text.data()),
                "invalid description");
  if (diags.failed())
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   diags.message());
  return spec;
}

llvm::Expected<ModelSpec> parseDescriptionString(llvm::StringRef text,
                                                 llvm::StringRef bufferName,
                                                 llvm::SourceMgr &sm) {
  return parseDescription(llvm::MemoryBuffer::getMemBufferCopy(text, bufferName),
                          sm);
}

llvm::Expected<ModelSpec> parseDescriptionFile(llvm::StringRef path,
                                               llvm::SourceMgr &sm) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return llvm::createStringError(buffer.getError(),
                                   "cannot read '" + path.str() +
                                       "': " + buffer.getError().message());
  return parseDescription(std::move(*buffer), sm);
}

} // namespace tfm
