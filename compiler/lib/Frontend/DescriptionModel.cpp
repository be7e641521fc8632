//===- DescriptionModel.cpp - Reads the keys of a .tfm file into a spec ---===//
//
// Which keys a model and each of its blocks have, which are required, and
// what each means in a ModelSpec. The keys and values themselves are read by
// KeyReader (DescriptionKeys.h); the spec is checked by the one validator,
// validateSpec, whose errors are reported at the key they concern. The
// parse stops at the first error. The public parse functions are here too.
//
//===----------------------------------------------------------------------===//

#include "DescriptionKeys.h"
#include "DescriptionSyntax.h"

#include "tfm/Formats/Files.h"
#include "tfm/Frontend/DefaultBindings.h"
#include "tfm/Frontend/Description.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <cmath>
#include <map>
#include <set>

using namespace tfm::description;

namespace tfm {

float sqrtDimScale(int64_t dim) {
  return static_cast<float>(std::sqrt(static_cast<double>(dim)));
}

namespace {

class SpecReader : public KeyReader {
public:
  /// Reads `term` as one of E's keywords (its enumNames table, shared with
  /// the description printer).
  template <typename E>
  bool readEnum(const Term &term, llvm::StringRef what, E &out) {
    llvm::SmallVector<llvm::StringRef, 8> names;
    for (const EnumName<E> &n : enumNames(E{}))
      names.push_back(n.name);
    size_t choice;
    if (!readChoice(term, what, names, choice))
      return false;
    out = enumNames(E{})[choice].value;
    return true;
  }

  SpecReader(Diagnostics &diags, llvm::StringRef bufferName)
      : KeyReader(diags, bufferName) {
    spec.source.file = bufferName.str();
    spec.source.description = true;
  }

  bool read(const File &file, ModelSpec &out);

private:
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
  bool crossCheck(const File &file);

  /// Remembers where `key` is given, for errors and op locations.
  void at(SpecKey key, llvm::SMLoc loc) { locs[key] = loc; }

  ModelSpec spec;
  std::map<SpecKey, llvm::SMLoc> locs;

  // Remembered for cross-checks.
  const Term *finalNormTerm = nullptr;
  const Term *tokenizerTerm = nullptr;
  const Entry *headsEntry = nullptr;
  const Block *mapping = nullptr;
  NormSpec finalNormSpec;
  bool finalNormIsCall = false;
  bool scaleIsSqrtDim = false;
};

//===----------------------------------------------------------------------===//
// The model and its parts
//===----------------------------------------------------------------------===//

bool SpecReader::read(const File &file, ModelSpec &out) {
  spec.name = file.name;
  if (spec.name.empty())
    return diags.error(file.nameLoc, "expected a non-empty model name");

  static const llvm::StringRef modelKeys[] = {
      "arch",  "vocab",      "dim",  "context",   "positions", "embedding",
      "block", "final_norm", "head", "tokenizer", "weights"};
  Keys keys;
  if (!checkKeys(file.body, "model", modelKeys, keys))
    return false;
  // Required keys, reported in the order a reader expects them.
  for (llvm::StringRef key : {"vocab", "dim", "context", "positions", "block",
                              "final_norm", "head", "tokenizer", "weights"})
    if (!require(keys, key, "model", file.modelLoc))
      return false;
  at(SpecKey::Model, file.modelLoc);
  at(SpecKey::Vocab, keys.get("vocab")->keyLoc);
  at(SpecKey::Dim, keys.get("dim")->keyLoc);
  at(SpecKey::Context, keys.get("context")->keyLoc);

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
  if (!readBlock(*keys.get("block")) || !readFinalNorm(*keys.get("final_norm")))
    return false;
  {
    const Term *t = singleTerm(*keys.get("head"));
    size_t choice;
    if (!t || !readChoice(*t, "head", {"tied", "untied"}, choice) ||
        !noArgs(*t))
      return false;
    spec.tiedHead = choice == 0;
    at(SpecKey::Head, t->loc);
  }
  if (!readTokenizer(*keys.get("tokenizer")) ||
      !readWeights(*keys.get("weights")))
    return false;
  if (!crossCheck(file))
    return false;
  out = std::move(spec);
  return true;
}

bool SpecReader::readPositions(const Entry &entry) {
  const Term *t = singleTerm(entry);
  if (!t || !readEnum(*t, "positions", spec.positional))
    return false;
  at(SpecKey::Positions, t->loc);
  if (spec.positional != PositionEncoding::Rope)
    return noArgs(*t);
  std::vector<const Term *> args;
  if (!readArgs(*t, {"theta", "style"}, args))
    return false;
  if (args[0]) {
    if (!readFloat(*args[0], "theta", spec.ropeTheta))
      return false;
    at(SpecKey::Theta, args[0]->loc); // Its range: validateSpec.
  }
  if (args[1]) {
    if (!readEnum(*args[1], "style", spec.ropePairing) || !noArgs(*args[1]))
      return false;
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
      at(SpecKey::Scale, t->loc);
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
  at(SpecKey::Scale, t->loc); // Its range: validateSpec.
  return readFloat(*t, "scale", spec.embeddingScale);
}

bool SpecReader::readNorm(const Term &term, llvm::StringRef what,
                          NormSpec &out) {
  if (!readEnum(term, what, out.kind))
    return false;
  out.eps = NormSpec().eps; // The language's default (docs/tfm-language.md).
  std::vector<const Term *> args;
  if (!readArgs(term, {"eps"}, args))
    return false;
  if (args[0]) {
    if (!readFloat(*args[0], "eps", out.eps))
      return false;
    if (what == "norm") // Its range: validateSpec.
      at(SpecKey::Eps, args[0]->loc);
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
  at(SpecKey::Layers, entry.repeatLoc);
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
  at(SpecKey::Order, keys.get("order")->keyLoc);
  at(SpecKey::Norm, keys.get("norm")->keyLoc);
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
  at(SpecKey::Attention, entry.keyLoc);
  for (auto [key, name] : {std::pair(SpecKey::Heads, "heads"),
                           std::pair(SpecKey::KvHeads, "kv_heads"),
                           std::pair(SpecKey::HeadDim, "head_dim")})
    if (const Entry *e = keys.get(name))
      at(key, e->keyLoc);
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
      if (!readChoice(
              t, "bias",
              v->sum.size() == 1
                  ? llvm::ArrayRef<llvm::StringRef>(
                        {"none", "qkv", "out", "qkv+out", "true", "false"})
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
  if (!act || !readEnum(*act, "activation", f.activation) || !noArgs(*act))
    return false;
  at(SpecKey::Ffn, entry.keyLoc);
  at(SpecKey::Activation, keys.get("activation")->keyLoc);
  at(SpecKey::Hidden, keys.get("hidden")->keyLoc);
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
  at(SpecKey::FinalNorm, t->loc);
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
  if (!t || !readEnum(*t, "tokenizer", spec.tokenizer.kind))
    return false;
  tokenizerTerm = t;
  at(SpecKey::Tokenizer, t->loc);
  if (spec.tokenizer.kind == TokenizerKind::None)
    return noArgs(*t);
  std::vector<const Term *> args;
  if (!readArgs(*t, {"file"}, args))
    return false;
  if (!args[0])
    return true;
  at(SpecKey::Tokenizer, args[0]->loc); // Errors about the file point here.
  return readPath(*args[0], "file", spec.tokenizer.path);
}

bool SpecReader::readWeights(const Entry &entry) {
  const Term *t = singleTerm(entry);
  WeightsSpec &w = spec.weights;
  if (!t || !readEnum(*t, "weights", w.format))
    return false;
  at(SpecKey::Weights, t->loc);
  const Block *block = entry.value->block.get();
  if (block && (w.format == CheckpointFormat::None ||
                w.format == CheckpointFormat::Random))
    return diags.error(block->open,
                       "'" + t->text + "' weights take no mapping block");
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
    return diags.error(
        t->loc, "expected the checkpoint's file name, e.g. " + t->text +
                    "(\"model" +
                    (w.format == CheckpointFormat::Llama2c ? ".bin"
                     : w.format == CheckpointFormat::Gguf  ? ".gguf"
                                                           : ".safetensors") +
                    "\")");
  mapping = block; // Read once the model's weights are known.
  at(SpecKey::Weights, args[0]->loc); // Errors about the file point here.
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

bool SpecReader::crossCheck(const File &file) {
  AttentionSpec &a = spec.block.attention;
  if (scaleIsSqrtDim)
    spec.embeddingScale = sqrtDimScale(spec.dim);
  // What only a description can get wrong: the defaults it leaves to the
  // reader, a final norm spelled apart from the block's, a missing file.
  if (a.headDim == 0) {
    if (spec.dim % a.heads != 0)
      return diags.error(headsEntry->keyLoc,
                         "heads (" + llvm::Twine(a.heads) +
                             ") does not divide dim (" + llvm::Twine(spec.dim) +
                             "): give 'head_dim' explicitly");
    a.headDim = spec.dim / a.heads;
  }
  if (finalNormIsCall && (finalNormSpec.kind != spec.block.norm.kind ||
                          finalNormSpec.eps != spec.block.norm.eps))
    return diags.error(finalNormTerm->loc,
                       "the final norm must be the block's norm (" +
                           llvm::Twine(toString(spec.block.norm.kind)) +
                           ") with the same eps; write 'final_norm = true'");
  if (spec.tokenizer.kind != TokenizerKind::None &&
      spec.tokenizer.path.empty() &&
      spec.weights.format != CheckpointFormat::Gguf)
    return diags.error(
        tokenizerTerm->loc,
        "expected the tokenizer's file, e.g. " + tokenizerTerm->text + "(\"" +
            (spec.tokenizer.kind == TokenizerKind::Gpt2 ? "vocab.json"
                                                        : "tokenizer.bin") +
            "\"); only gguf weights carry their own tokenizer");
  if (mapping) {
    if (!readMapping(*mapping))
      return false;
  } else {
    completeBindings(spec);
  }
  // Where each key is, for the errors below and later ones (checkpoint,
  // files) and for the locations of the ops built from it.
  llvm::SourceMgr &sm = diags.sourceMgr();
  for (const auto &[key, loc] : locs)
    spec.source.keys[key] = sm.getLineAndColumn(loc);
  // Everything else: the one validator of every frontend.
  llvm::Error invalid = validateSpec(spec);
  if (!invalid)
    return true;
  llvm::handleAllErrors(std::move(invalid), [&](const SpecError &e) {
    auto it = locs.find(e.getKey());
    if (it == locs.end() || e.getKey() == SpecKey::Model)
      diags.error(file.modelLoc, "invalid model: " + e.getMessage());
    else
      diags.error(it->second, e.getMessage());
  });
  return false;
}

/// The error for a description of `size` bytes, above kMaxDescriptionBytes,
/// which starts with `start`: reported at line 1 before anything is lexed
/// (50 MB of ';' took 4.2 GB as tokens). The file stays out of `sm`, whose
/// table of line starts would be as large as the file; line 1 is shown cut
/// short.
llvm::Error oversized(llvm::StringRef name, uint64_t size,
                      llvm::StringRef start, llvm::SourceMgr &sm) {
  std::string message = "the description is " + std::to_string(size) +
                        " bytes, above the limit of " +
                        std::to_string(kMaxDescriptionBytes) +
                        " (docs/limits.md)";
  llvm::StringRef firstLine =
      start.take_until([](char c) { return c == '\n' || c == '\r'; })
          .take_front(80);
  sm.PrintMessage(llvm::errs(), llvm::SMDiagnostic(sm, llvm::SMLoc(), name, 1,
                                                   0, llvm::SourceMgr::DK_Error,
                                                   message, firstLine, {}));
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 name + ":1:1: error: " + message);
}

} // namespace

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

llvm::Expected<ModelSpec>
parseDescription(std::unique_ptr<llvm::MemoryBuffer> buffer,
                 llvm::SourceMgr &sm) {
  std::string name = buffer->getBufferIdentifier().str();
  if (buffer->getBufferSize() > kMaxDescriptionBytes)
    return oversized(name, buffer->getBufferSize(), buffer->getBuffer(), sm);
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
  return parseDescription(
      llvm::MemoryBuffer::getMemBufferCopy(text, bufferName), sm);
}

llvm::Expected<ModelSpec> parseDescriptionFile(llvm::StringRef path,
                                               llvm::SourceMgr &sm) {
  // The size comes first: only line 1 of a file above the limit is read.
  llvm::sys::fs::file_status status;
  if (!llvm::sys::fs::status(path, status) &&
      status.type() == llvm::sys::fs::file_type::regular_file &&
      status.getSize() > kMaxDescriptionBytes) {
    auto start = llvm::MemoryBuffer::getFileSlice(path, 80, 0);
    return oversized(path, status.getSize(), start ? (*start)->getBuffer() : "",
                     sm);
  }
  // A FIFO would block, a device never end: mapFile takes regular files
  // only.
  auto buffer = formats::mapFile(path);
  if (!buffer)
    return buffer.takeError();
  return parseDescription(std::move(*buffer), sm);
}

} // namespace tfm
