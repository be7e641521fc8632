//===- SafetensorsImporter.cpp - ModelSpec from a Hugging Face directory --===//
//
// A Hugging Face model directory: config.json (Llama or GPT-2) beside
// model.safetensors (read by formats/lib/Safetensors.cpp).
//
//===----------------------------------------------------------------------===//

#include "tfm/Formats/Files.h"
#include "tfm/Formats/Json.h"
#include "tfm/Frontend/DefaultBindings.h"
#include "tfm/Frontend/Importers.h"

#include "ImporterSupport.h"

#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"

using llvm::Error;
using llvm::Expected;

namespace tfm {

using formats::Checkpoint;
using formats::readerError;

namespace {

/// Typed access to config.json with messages naming the file and key.
class Config {
public:
  Config(std::string path, const llvm::json::Object &o)
      : path(std::move(path)), o(o) {}

  Error missing(llvm::StringRef key) const {
    return readerError(path + ": missing key '" + key + "'");
  }
  Error wrongType(llvm::StringRef key, llvm::StringRef want) const {
    return readerError(path + ": key '" + key + "' must be " + want);
  }

  /// Integer key; `def` < 0 means required. JSON null counts as absent.
  Expected<int64_t> integer(llvm::StringRef key, int64_t def = -1) const {
    const llvm::json::Value *v = o.get(key);
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
    const llvm::json::Value *v = o.get(key);
    if (!v || v->kind() == llvm::json::Value::Null)
      return def;
    std::optional<double> x = v->getAsNumber();
    if (!x)
      return wrongType(key, "a number");
    return *x;
  }
  std::optional<bool> boolean(llvm::StringRef key) const {
    return o.getBoolean(key);
  }
  std::optional<llvm::StringRef> string(llvm::StringRef key) const {
    return o.getString(key);
  }
  const llvm::json::Value *get(llvm::StringRef key) const { return o.get(key); }
  const std::string &getPath() const { return path; }

private:
  std::string path;
  const llvm::json::Object &o;
};

/// The config.json keys of each stated hyper-parameter, per family (nullptr
/// where the family's config has no such key).
struct StatedKey {
  SpecKey key;
  const char *llama, *gpt2;
};
constexpr StatedKey kStatedKeys[] = {
    // clang-format off
    {SpecKey::Dim,     "hidden_size",             "n_embd"},
    {SpecKey::Hidden,  "intermediate_size",       "n_inner"},
    {SpecKey::Layers,  "num_hidden_layers",       "n_layer"},
    {SpecKey::Heads,   "num_attention_heads",     "n_head"},
    {SpecKey::KvHeads, "num_key_value_heads",     nullptr},
    {SpecKey::HeadDim, "head_dim",                nullptr},
    {SpecKey::Vocab,   "vocab_size",              "vocab_size"},
    {SpecKey::Context, "max_position_embeddings", "n_positions"},
    {SpecKey::Eps,     "rms_norm_eps",            "layer_norm_epsilon"},
    {SpecKey::Theta,   "rope_theta",              nullptr},
    // clang-format on
};

/// The family's defaults with the sizes every config states.
ModelSpec sizedSpec(ArchFamily family, int64_t vocab, int64_t dim, int64_t ctx,
                    int64_t layers) {
  ModelSpec spec = archDefaults(family);
  spec.vocabSize = vocab;
  spec.dim = dim;
  spec.contextLength = ctx;
  spec.numLayers = layers;
  return spec;
}

/// The numbers config.json states.
std::vector<StatedValue> statedValues(const Config &c, bool gpt2) {
  std::vector<StatedValue> out;
  for (const StatedKey &k : kStatedKeys) {
    const char *name = gpt2 ? k.gpt2 : k.llama;
    const llvm::json::Value *v = name ? c.get(name) : nullptr;
    if (std::optional<double> x = v ? v->getAsNumber() : std::nullopt)
      out.push_back({k.key, *x, name, "config.json"});
  }
  return out;
}

/// The family config.json names: architectures[0], else model_type.
struct ConfigArch {
  std::string name;
  bool gpt2 = false, llama = false;
};
ConfigArch configArch(const Config &c) {
  ConfigArch a;
  if (const llvm::json::Value *v = c.get("architectures"))
    if (const llvm::json::Array *arr = v->getAsArray(); arr && !arr->empty())
      if (auto s = (*arr)[0].getAsString())
        a.name = s->str();
  std::string modelType = c.string("model_type").value_or("").str();
  a.gpt2 =
      a.name == "GPT2LMHeadModel" || (a.name.empty() && modelType == "gpt2");
  a.llama =
      a.name == "LlamaForCausalLM" || (a.name.empty() && modelType == "llama");
  if (a.name.empty())
    a.name = modelType;
  return a;
}

/// The JSON object of the config.json at `configPath`.
Expected<llvm::json::Value> readConfigJson(const std::string &configPath) {
  auto buf = formats::mapFile(configPath);
  if (!buf)
    return buf.takeError();
  auto json = formats::parseJson((*buf)->getBuffer());
  if (!json)
    return readerError(configPath +
                       ": invalid JSON: " + llvm::toString(json.takeError()));
  if (!json->getAsObject())
    return readerError(configPath + ": not a JSON object");
  return std::move(*json);
}

/// config.json beside a safetensors file or in its directory.
std::string configPathOf(llvm::StringRef path) {
  std::string dir = llvm::sys::fs::is_directory(path)
                        ? path.str()
                        : llvm::sys::path::parent_path(path).str();
  if (dir.empty())
    dir = ".";
  llvm::SmallString<256> configPath(dir);
  llvm::sys::path::append(configPath, "config.json");
  return std::string(configPath);
}

Error importHfLlama(const Config &c, const Checkpoint &ckpt, ModelSpec &spec) {
  TFM_TRY(dim, c.integer("hidden_size"));
  TFM_TRY(hidden, c.integer("intermediate_size"));
  TFM_TRY(layers, c.integer("num_hidden_layers"));
  TFM_TRY(heads, c.integer("num_attention_heads"));
  TFM_TRY(kvHeads, c.integer("num_key_value_heads", heads));
  TFM_TRY(vocab, c.integer("vocab_size"));
  TFM_TRY(ctx, c.integer("max_position_embeddings"));
  // Defaults are those of transformers' LlamaConfig (its eps is 1e-6, not
  // the 1e-5 of llama2.c and GGUF).
  TFM_TRY(eps, c.number("rms_norm_eps", 1e-6));
  TFM_TRY(theta,
          c.number("rope_theta", archDefaults(ArchFamily::Llama).ropeTheta));
  if (dim % heads != 0 && !c.get("head_dim"))
    return readerError(c.getPath() + ": num_attention_heads (" +
                       llvm::Twine(heads) + ") does not divide hidden_size (" +
                       llvm::Twine(dim) + ")");
  TFM_TRY(headDim, c.integer("head_dim", dim / heads));
  if (auto act = c.string("hidden_act"); act && *act != "silu")
    return readerError(c.getPath() + ": hidden_act '" + *act +
                       "' is not supported for Llama (only silu)");
  if (const llvm::json::Value *rs = c.get("rope_scaling");
      rs && rs->kind() != llvm::json::Value::Null)
    return readerError(c.getPath() + ": rope_scaling is not supported");
  if (c.boolean("attention_bias").value_or(false) ||
      c.boolean("mlp_bias").value_or(false))
    return readerError(c.getPath() +
                       ": attention_bias / mlp_bias are not supported");
  spec = sizedSpec(ArchFamily::Llama, vocab, dim, ctx, layers);
  spec.ropeTheta = static_cast<float>(theta);
  // Hugging Face Llama rotates halves (its Q/K rows are not permuted).
  spec.ropePairing = RopePairing::Half;
  spec.block.norm.eps = static_cast<float>(eps);
  spec.block.attention.heads = heads;
  spec.block.attention.kvHeads = kvHeads;
  spec.block.attention.headDim = headDim;
  spec.block.ffn.hidden = hidden;
  // Tied when the config says so or when the checkpoint has no lm_head.
  spec.tiedHead =
      c.boolean("tie_word_embeddings").value_or(false) ||
      !ckpt.find(defaultBinding(CheckpointFormat::Safetensors,
                                ArchFamily::Llama, true, "lm_head.weight")
                     .source);
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
  TFM_TRY(hidden,
          c.integer("n_inner", llvm::checkedMul<int64_t>(4, dim).value_or(
                                   kMaxHidden + 1)));
  TFM_TRY(eps, c.number("layer_norm_epsilon",
                        archDefaults(ArchFamily::Gpt2).block.norm.eps));
  if (dim % heads != 0)
    return readerError(c.getPath() + ": n_head (" + llvm::Twine(heads) +
                       ") does not divide n_embd (" + llvm::Twine(dim) + ")");
  Activation act = Activation::GeluTanh;
  llvm::StringRef actName =
      c.string("activation_function").value_or("gelu_new");
  if (actName == "gelu_new" || actName == "gelu_pytorch_tanh" ||
      actName == "gelu_fast")
    act = Activation::GeluTanh;
  else if (actName == "gelu")
    act = Activation::Gelu;
  else if (actName == "relu")
    act = Activation::ReLU;
  else
    return readerError(c.getPath() + ": activation_function '" + actName +
                       "' is not supported");
  spec = sizedSpec(ArchFamily::Gpt2, vocab, dim, ctx, layers);
  spec.block.norm.eps = static_cast<float>(eps);
  spec.block.attention.heads = heads;
  spec.block.attention.kvHeads = heads;
  spec.block.attention.headDim = dim / heads;
  // GPT-2 has all these biases; a checkpoint that lacks one (as the shared
  // tiny-gpt2 lacks attn.c_attn.bias) is read as having none (zeros). The
  // names are the table's, with or without the "transformer." prefix.
  auto has = [&](llvm::StringRef templ) {
    std::string first =
        expandTemplate(defaultBinding(CheckpointFormat::Safetensors,
                                      ArchFamily::Gpt2, false, templ)
                           .source,
                       0);
    llvm::StringRef unprefixed = first;
    unprefixed.consume_front("transformer.");
    return ckpt.find(first) || ckpt.find(unprefixed);
  };
  spec.block.attention.qkvBias = has("layers.{i}.wq.bias");
  spec.block.attention.outBias = has("layers.{i}.wo.bias");
  spec.block.ffn = {act, false, hidden, has("layers.{i}.w1.bias")};
  // GPT2LMHeadModel always ties lm_head to wte (tie_word_embeddings defaults
  // to true); an explicit false needs a stored lm_head.weight.
  spec.tiedHead =
      c.boolean("tie_word_embeddings").value_or(true) ||
      !ckpt.find(defaultBinding(CheckpointFormat::Safetensors, ArchFamily::Gpt2,
                                false, "lm_head.weight")
                     .source);
  return Error::success();
}

} // namespace

Expected<ModelSpec> importSafetensors(llvm::StringRef path,
                                      const Checkpoint &ckpt,
                                      const ImportOptions &options) {
  // `path` is a directory, or a .safetensors file with config.json beside.
  std::string configPath = configPathOf(path);
  std::string dir = llvm::sys::path::parent_path(configPath).str();
  auto json = readConfigJson(configPath);
  if (!json)
    return json.takeError();
  Config config(configPath, *json->getAsObject());

  ConfigArch arch = configArch(config);
  const bool gpt2 = arch.gpt2;
  ModelSpec spec;
  if (gpt2) {
    if (Error e = importHfGpt2(config, ckpt, spec))
      return e;
  } else if (arch.llama) {
    if (Error e = importHfLlama(config, ckpt, spec))
      return e;
  } else if (arch.name.empty()) {
    return readerError(configPath +
                       ": missing key 'architectures' (or 'model_type')");
  } else {
    return readerError(configPath + ": architecture '" + arch.name +
                       "' is not supported (LlamaForCausalLM, "
                       "GPT2LMHeadModel)");
  }
  spec.name = defaultModelName(path);

  // Tokenizer: the option, else vocab.json (GPT-2) or tokenizer.bin /
  // tokenizer.model beside.
  std::string tok = options.tokenizerPath;
  for (const char *name :
       gpt2 ? std::vector<const char *>{"vocab.json"}
            : std::vector<const char *>{"tokenizer.bin", "tokenizer.model"}) {
    llvm::SmallString<256> beside(dir);
    llvm::sys::path::append(beside, name);
    if (tok.empty() && llvm::sys::fs::exists(beside))
      tok = std::string(beside);
  }
  if (!tok.empty())
    spec.tokenizer = {gpt2 ? TokenizerKind::Gpt2 : TokenizerKind::SentencePiece,
                      tok};

  spec.weights.format = CheckpointFormat::Safetensors;
  spec.weights.path = path.str();
  spec.source.file = configPath;
  // Every block has tensors of its own: a larger layer count is corrupt, and
  // must be rejected before it sizes the weight list (found by fuzzing).
  if (spec.numLayers > static_cast<int64_t>(ckpt.getTensors().size()))
    return readerError(configPath + ": the layer count (" +
                       llvm::Twine(spec.numLayers) +
                       ") exceeds the number of tensors in the checkpoint (" +
                       llvm::Twine(ckpt.getTensors().size()) + ")");
  completeBindings(spec);
  if (gpt2 && !ckpt.find("transformer.wte.weight") && ckpt.find("wte.weight")) {
    // Exported without the GPT2LMHeadModel "transformer." prefix.
    for (auto &kv : spec.weights.bindings) {
      llvm::StringRef s = kv.second.source;
      if (s.consume_front("transformer."))
        kv.second.source = s.str();
    }
  }
  if (Error e =
          finishImport(spec, ckpt, configPath, statedValues(config, gpt2)))
    return e;
  return spec;
}

Expected<std::vector<StatedValue>>
safetensorsStatedValues(llvm::StringRef path) {
  std::string configPath = configPathOf(path);
  if (!llvm::sys::fs::exists(configPath))
    return std::vector<StatedValue>();
  auto json = readConfigJson(configPath);
  if (!json)
    return json.takeError();
  Config config(configPath, *json->getAsObject());
  ConfigArch arch = configArch(config);
  if (!arch.gpt2 && !arch.llama)
    return std::vector<StatedValue>();
  return statedValues(config, arch.gpt2);
}

} // namespace tfm
