//===- Safetensors.cpp - safetensors reader and Hugging Face importer -----===//
//
// Format (huggingface/safetensors): u64 little-endian N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
// then the data; offsets are relative to byte 8 + N. We accept F32, F16 and
// BF16, check that every range lies in the file, that the shape agrees with
// the byte size, and that no two tensors overlap.
//
// The importer reads a Hugging Face model directory: config.json (Llama or
// GPT-2) beside model.safetensors.
//
//===----------------------------------------------------------------------===//

#include "tfm/Frontend/Checkpoint.h"
#include "tfm/Frontend/DefaultBindings.h"
#include "tfm/Frontend/Importers.h"

#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cstring>

using llvm::Error;
using llvm::Expected;

namespace tfm {

Error Checkpoint::parseSafetensors() {
  llvm::StringRef b = bytes();
  const uint64_t size = b.size();
  if (size < 8)
    return readerError("file truncated: safetensors needs an 8-byte header length, "
                "the file has " + llvm::Twine(size) + " bytes");
  uint64_t n;
  std::memcpy(&n, b.data(), 8);
  if (n > size - 8)
    return readerError("safetensors header length " + llvm::Twine(n) +
                " at byte 0 exceeds the " + llvm::Twine(size - 8) +
                " bytes after it");
  llvm::StringRef text = b.substr(8, n);
  const uint64_t dataStart = 8 + n;
  const uint64_t dataSize = size - dataStart;
  auto json = llvm::json::parse(text);
  if (!json)
    return readerError("invalid JSON header (bytes 8 to " + llvm::Twine(dataStart) +
                "): " + llvm::toString(json.takeError()));
  const llvm::json::Object *root = json->getAsObject();
  if (!root)
    return readerError("the JSON header at byte 8 is not an object");

  // Byte offset of a tensor's key in the header, for messages.
  auto where = [&](llvm::StringRef name) -> std::string {
    size_t at = text.find(("\"" + name + "\"").str());
    return at == llvm::StringRef::npos ? std::string("in the header")
                                       : "at byte " + std::to_string(8 + at);
  };
  std::vector<std::pair<uint64_t, uint64_t>> ranges; // (begin, end) relative
  std::vector<TensorInfo> found;
  for (const auto &kv : *root) {
    llvm::StringRef name = kv.first;
    if (name == "__metadata__")
      continue;
    std::string q = "tensor '" + name.str() + "' (" + where(name) + ")";
    const llvm::json::Object *o = kv.second.getAsObject();
    if (!o)
      return readerError(q + " is not an object");
    std::optional<llvm::StringRef> dtype = o->getString("dtype");
    const llvm::json::Array *shape = o->getArray("shape");
    const llvm::json::Array *offs = o->getArray("data_offsets");
    if (!dtype || !shape || !offs)
      return readerError(q + " needs dtype, shape and data_offsets");
    TensorInfo t;
    t.name = name.str();
    uint64_t elemBytes;
    if (*dtype == "F32") {
      t.dtype = DType::F32;
      elemBytes = 4;
    } else if (*dtype == "F16") {
      t.dtype = DType::F16;
      elemBytes = 2;
    } else if (*dtype == "BF16") {
      t.dtype = DType::BF16;
      elemBytes = 2;
    } else {
      return readerError(q + " has dtype " + *dtype +
                  ", which tfmc cannot read (supported: F32, F16, BF16)");
    }
    uint64_t elems = 1;
    for (const llvm::json::Value &d : *shape) {
      std::optional<int64_t> x = d.getAsInteger();
      if (!x || *x < 0)
        return readerError(q + " has a shape entry that is not a non-negative "
                        "integer");
      if (__builtin_mul_overflow(elems, static_cast<uint64_t>(*x), &elems) ||
          elems > (uint64_t(1) << 60))
        return readerError(q + " has too many elements");
      t.shape.push_back(*x);
    }
    if (offs->size() != 2)
      return readerError(q + " data_offsets must have two entries");
    std::optional<int64_t> begin = (*offs)[0].getAsInteger();
    std::optional<int64_t> end = (*offs)[1].getAsInteger();
    if (!begin || !end || *begin < 0 || *end < *begin)
      return readerError(q + " has invalid data_offsets");
    uint64_t ub = static_cast<uint64_t>(*begin), ue = static_cast<uint64_t>(*end);
    if (ue > dataSize)
      return readerError(q + " data_offsets [" + llvm::Twine(ub) + ", " +
                  llvm::Twine(ue) + "] end at byte " +
                  llvm::Twine(dataStart + ue) + ", past the end of the " +
                  llvm::Twine(size) + "-byte file");
    uint64_t need = elems * elemBytes;
    if (ue - ub != need)
      return readerError(q + " shape " + shapeString(t.shape) + " of " + *dtype +
                  " needs " + llvm::Twine(need) + " bytes but data_offsets [" +
                  llvm::Twine(ub) + ", " + llvm::Twine(ue) + "] span " +
                  llvm::Twine(ue - ub));
    t.offset = dataStart + ub;
    t.size = need;
    found.push_back(std::move(t));
  }
  // Deterministic order (the JSON object is unordered): by offset.
  std::sort(found.begin(), found.end(),
            [](const TensorInfo &a, const TensorInfo &b) {
              return a.offset != b.offset ? a.offset < b.offset
                                          : a.name < b.name;
            });
  for (size_t k = 1; k < found.size(); ++k) {
    const TensorInfo &a = found[k - 1], &c = found[k];
    if (a.size && c.size && c.offset < a.offset + a.size)
      return readerError("tensors '" + a.name + "' (bytes " + llvm::Twine(a.offset) +
                  " to " + llvm::Twine(a.offset + a.size) + ") and '" + c.name +
                  "' (bytes " + llvm::Twine(c.offset) + " to " +
                  llvm::Twine(c.offset + c.size) + ") overlap");
  }
  for (TensorInfo &t : found)
    if (Error e = addTensor(std::move(t)))
      return e;
  return Error::success();
}

namespace {

/// Typed access to config.json with messages naming the file and key.
class Config {
public:
  Config(std::string path, const llvm::json::Object &o)
      : path_(std::move(path)), o_(o) {}

  Error missing(llvm::StringRef key) const {
    return readerError(path_ + ": missing key '" + key + "'");
  }
  Error wrongType(llvm::StringRef key, llvm::StringRef want) const {
    return readerError(path_ + ": key '" + key + "' must be " + want);
  }

  /// Integer key; `def` < 0 means required. JSON null counts as absent.
  Expected<int64_t> integer(llvm::StringRef key, int64_t def = -1) const {
    const llvm::json::Value *v = o_.get(key);
    if (!v || v->kind() == llvm::json::Value::Null) {
      if (def < 0)
        return missing(key);
      return def;
    }
    std::optional<int64_t> x = v->getAsInteger();
    if (!x || *x <= 0)
      return wrongType(key, "a positive integer");
    return *x;
  }
  Expected<double> number(llvm::StringRef key, double def) const {
    const llvm::json::Value *v = o_.get(key);
    if (!v || v->kind() == llvm::json::Value::Null)
      return def;
    std::optional<double> x = v->getAsNumber();
    if (!x)
      return wrongType(key, "a number");
    return *x;
  }
  std::optional<bool> boolean(llvm::StringRef key) const {
    return o_.getBoolean(key);
  }
  std::optional<llvm::StringRef> string(llvm::StringRef key) const {
    return o_.getString(key);
  }
  const llvm::json::Value *get(llvm::StringRef key) const { return o_.get(key); }
  const std::string &path() const { return path_; }

private:
  std::string path_;
  const llvm::json::Object &o_;
};

#define TFM_TRY(var, expr)                                                     \
  auto var##OrErr = (expr);                                                    \
  if (!var##OrErr)                                                             \
    return var##OrErr.takeError();                                             \
  auto var = *var##OrErr;

Error importHfLlama(const Config &c, const Checkpoint &ckpt, ModelSpec &spec) {
  TFM_TRY(dim, c.integer("hidden_size"));
  TFM_TRY(hidden, c.integer("intermediate_size"));
  TFM_TRY(layers, c.integer("num_hidden_layers"));
  TFM_TRY(heads, c.integer("num_attention_heads"));
  TFM_TRY(kvHeads, c.integer("num_key_value_heads", heads));
  TFM_TRY(vocab, c.integer("vocab_size"));
  TFM_TRY(ctx, c.integer("max_position_embeddings"));
  // Defaults are those of transformers' LlamaConfig.
  TFM_TRY(eps, c.number("rms_norm_eps", 1e-6));
  TFM_TRY(theta, c.number("rope_theta", 10000.0));
  if (dim % heads != 0 && !c.get("head_dim"))
    return readerError(c.path() + ": num_attention_heads (" + llvm::Twine(heads) +
                ") does not divide hidden_size (" + llvm::Twine(dim) + ")");
  TFM_TRY(headDim, c.integer("head_dim", dim / heads));
  if (auto act = c.string("hidden_act"); act && *act != "silu")
    return readerError(c.path() + ": hidden_act '" + *act +
                "' is not supported for Llama (only silu)");
  if (const llvm::json::Value *rs = c.get("rope_scaling");
      rs && rs->kind() != llvm::json::Value::Null)
    return readerError(c.path() + ": rope_scaling is not supported");
  if (c.boolean("attention_bias").value_or(false) ||
      c.boolean("mlp_bias").value_or(false))
    return readerError(c.path() + ": attention_bias / mlp_bias are not supported");
  spec.arch = "llama";
  spec.vocabSize = vocab;
  spec.dim = dim;
  spec.contextLength = ctx;
  spec.numLayers = layers;
  spec.positional = PositionalKind::Rope;
  spec.ropeTheta = static_cast<float>(theta);
  spec.ropeStyle = RopeStyle::Half;
  spec.block.norm = {NormKind::RMSNorm, static_cast<float>(eps)};
  spec.block.attention.heads = heads;
  spec.block.attention.kvHeads = kvHeads;
  spec.block.attention.headDim = headDim;
  spec.block.ffn = {Activation::SiLU, true, hidden, false};
  spec.finalNorm = true;
  // Tied when the config says so or when the checkpoint has no lm_head.
  spec.tiedHead = c.boolean("tie_word_embeddings").value_or(false) ||
                  !ckpt.find("lm_head.weight");
  return Error::success();
}

Error importHfGpt2(const Config &c, const Checkpoint &ckpt, ModelSpec &spec) {
  TFM_TRY(dim, c.integer("n_embd"));
  TFM_TRY(layers, c.integer("n_layer"));
  TFM_TRY(heads, c.integer("n_head"));
  TFM_TRY(vocab, c.integer("vocab_size"));
  TFM_TRY(nctx, c.integer("n_ctx", 0));
  TFM_TRY(ctx, c.integer("n_positions", nctx > 0 ? nctx : -1));
  // An absurd n_embd must reach validateSpec's limit, not overflow here.
  TFM_TRY(hidden, c.integer("n_inner", llvm::checkedMul<int64_t>(4, dim)
                                           .value_or(kMaxHidden + 1)));
  TFM_TRY(eps, c.number("layer_norm_epsilon", 1e-5));
  if (dim % heads != 0)
    return readerError(c.path() + ": n_head (" + llvm::Twine(heads) +
                ") does not divide n_embd (" + llvm::Twine(dim) + ")");
  Activation act = Activation::GeluTanh;
  llvm::StringRef actName = c.string("activation_function").value_or("gelu_new");
  if (actName == "gelu_new" || actName == "gelu_pytorch_tanh" ||
      actName == "gelu_fast")
    act = Activation::GeluTanh;
  else if (actName == "gelu")
    act = Activation::Gelu;
  else if (actName == "relu")
    act = Activation::ReLU;
  else
    return readerError(c.path() + ": activation_function '" + actName +
                "' is not supported");
  spec.arch = "gpt2";
  spec.vocabSize = vocab;
  spec.dim = dim;
  spec.contextLength = ctx;
  spec.numLayers = layers;
  spec.positional = PositionalKind::Learned;
  spec.block.norm = {NormKind::LayerNorm, static_cast<float>(eps)};
  spec.block.attention.heads = heads;
  spec.block.attention.kvHeads = heads;
  spec.block.attention.headDim = dim / heads;
  // GPT-2 has all these biases; a checkpoint that lacks one (as the shared
  // tiny-gpt2 lacks attn.c_attn.bias) is read as having none (zeros).
  auto has = [&](llvm::StringRef name) {
    return ckpt.find(("transformer." + name).str()) || ckpt.find(name);
  };
  spec.block.attention.qkvBias = has("h.0.attn.c_attn.bias");
  spec.block.attention.outBias = has("h.0.attn.c_proj.bias");
  spec.block.ffn = {act, false, hidden, has("h.0.mlp.c_fc.bias")};
  spec.finalNorm = true;
  // GPT2LMHeadModel always ties lm_head to wte (tie_word_embeddings defaults
  // to true); an explicit false needs a stored lm_head.weight.
  spec.tiedHead = c.boolean("tie_word_embeddings").value_or(true) ||
                  !ckpt.find("lm_head.weight");
  return Error::success();
}

} // namespace

Expected<ModelSpec> importSafetensors(llvm::StringRef path,
                                      const ImportOptions &options) {
  // `path` is a directory, or a .safetensors file with config.json beside.
  std::string dir = llvm::sys::fs::is_directory(path)
                        ? path.str()
                        : llvm::sys::path::parent_path(path).str();
  if (dir.empty())
    dir = ".";
  llvm::SmallString<256> configPath(dir);
  llvm::sys::path::append(configPath, "config.json");
  auto buf = llvm::MemoryBuffer::getFile(configPath, /*IsText=*/true);
  if (!buf)
    return readerError(configPath + ": cannot open: " + buf.getError().message());
  auto json = llvm::json::parse((*buf)->getBuffer());
  if (!json)
    return readerError(configPath + ": invalid JSON: " +
                llvm::toString(json.takeError()));
  const llvm::json::Object *root = json->getAsObject();
  if (!root)
    return readerError(configPath + ": not a JSON object");
  Config config(std::string(configPath), *root);

  auto ckpt = Checkpoint::open(path, CheckpointFormat::Safetensors);
  if (!ckpt)
    return ckpt.takeError();

  std::string archName;
  if (const llvm::json::Array *a = root->getArray("architectures"))
    if (!a->empty())
      if (auto s = (*a)[0].getAsString())
        archName = s->str();
  std::string modelType = config.string("model_type").value_or("").str();
  ModelSpec spec;
  spec.name = defaultModelName(path);
  bool gpt2 = archName == "GPT2LMHeadModel" ||
              (archName.empty() && modelType == "gpt2");
  bool llama = archName == "LlamaForCausalLM" ||
               (archName.empty() && modelType == "llama");
  if (gpt2) {
    if (Error e = importHfGpt2(config, **ckpt, spec))
      return e;
  } else if (llama) {
    if (Error e = importHfLlama(config, **ckpt, spec))
      return e;
  } else if (archName.empty() && modelType.empty()) {
    return readerError(configPath + ": missing key 'architectures' (or 'model_type')");
  } else {
    return readerError(configPath + ": architecture '" +
                (archName.empty() ? modelType : archName) +
                "' is not supported (LlamaForCausalLM, GPT2LMHeadModel)");
  }

  // Tokenizer: the option, else vocab.json (GPT-2) or tokenizer.bin beside.
  std::string tok = options.tokenizerPath;
  llvm::SmallString<256> beside(dir);
  llvm::sys::path::append(beside, gpt2 ? "vocab.json" : "tokenizer.bin");
  if (tok.empty() && llvm::sys::fs::exists(beside))
    tok = std::string(beside);
  if (!tok.empty())
    spec.tokenizer = {gpt2 ? TokenizerKind::Gpt2 : TokenizerKind::SentencePiece,
                      tok};

  spec.weights.format = CheckpointFormat::Safetensors;
  spec.weights.path = path.str();
  // Every block has tensors of its own: a larger layer count is corrupt, and
  // must be rejected before it sizes the weight list (found by fuzzing).
  if (spec.numLayers > static_cast<int64_t>((*ckpt)->tensors().size()))
    return readerError(configPath + ": the layer count (" +
                llvm::Twine(spec.numLayers) +
                ") exceeds the number of tensors in the checkpoint (" +
                llvm::Twine((*ckpt)->tensors().size()) + ")");
  completeBindings(spec);
  if (gpt2 && !(*ckpt)->find("transformer.wte.weight") &&
      (*ckpt)->find("wte.weight")) {
    // Exported without the GPT2LMHeadModel "transformer." prefix.
    for (auto &kv : spec.weights.bindings) {
      llvm::StringRef s = kv.second.source;
      if (s.consume_front("transformer."))
        kv.second.source = s.str();
    }
  }
  if (Error e = finishImport(spec, **ckpt))
    return e;
  return spec;
}

} // namespace tfm
