//===- ModelSpec.cpp - Canonical weights, defaults, validation of a spec --===//

#include "tfm/Frontend/ModelSpec.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

namespace tfm {

std::string expandTemplate(const std::string &templ, int64_t layer) {
  std::string out = templ;
  for (size_t at = out.find("{i}"); at != std::string::npos;
       at = out.find("{i}", at))
    out.replace(at, 3, std::to_string(layer));
  return out;
}

std::vector<WeightDecl> expectedWeights(const ModelSpec &spec) {
  std::vector<WeightDecl> out;
  auto add = [&](const std::string &templ, std::vector<int64_t> shape,
                 int64_t layer = -1) {
    out.push_back(
        {layer < 0 ? templ : expandTemplate(templ, layer), templ, shape});
  };
  const int64_t d = spec.dim;
  const BlockSpec &b = spec.block;
  // Saturated: importers list the weights before validateSpec rejects absurd
  // sizes (a config.json with kv_heads 2^63-1, found by fuzzing).
  const int64_t qDim = llvm::checkedMul(b.attention.heads, b.attention.headDim)
                           .value_or(INT64_MAX);
  const int64_t kvDim =
      llvm::checkedMul(b.attention.kvHeads, b.attention.headDim)
          .value_or(INT64_MAX);
  const int64_t f = b.ffn.hidden;
  const bool layerNorm = b.norm.kind == NormKind::LayerNorm;

  // A norm (weight, and bias for LayerNorm) and a Linear (weight [out, in],
  // optional bias [out]) by their canonical stem.
  auto norm = [&](const std::string &stem, int64_t layer = -1) {
    add(stem + ".weight", {d}, layer);
    if (layerNorm)
      add(stem + ".bias", {d}, layer);
  };
  auto linear = [&](const std::string &stem, int64_t rows, int64_t cols,
                    bool bias, int64_t layer) {
    add(stem + ".weight", {rows, cols}, layer);
    if (bias)
      add(stem + ".bias", {rows}, layer);
  };

  add("tok_embeddings.weight", {spec.vocabSize, d});
  if (spec.positional == PositionEncoding::Learned)
    add("pos_embeddings.weight", {spec.contextLength, d});
  const bool qkvBias = b.attention.qkvBias, ffnBias = b.ffn.bias;
  for (int64_t i = 0; i < spec.numLayers; ++i) {
    norm("layers.{i}.attn_norm", i);
    linear("layers.{i}.wq", qDim, d, qkvBias, i);
    linear("layers.{i}.wk", kvDim, d, qkvBias, i);
    linear("layers.{i}.wv", kvDim, d, qkvBias, i);
    linear("layers.{i}.wo", d, qDim, b.attention.outBias, i);
    norm("layers.{i}.ffn_norm", i);
    linear("layers.{i}.w1", f, d, ffnBias, i);
    if (b.ffn.gated)
      linear("layers.{i}.w3", f, d, ffnBias, i);
    linear("layers.{i}.w2", d, f, ffnBias, i);
  }
  if (spec.finalNorm)
    norm("final_norm");
  if (!spec.tiedHead)
    add("lm_head.weight", {spec.vocabSize, d});
  return out;
}

char SpecError::ID = 0;

void SpecError::log(llvm::raw_ostream &os) const { os << message; }

ArchFamily archFamily(const std::string &arch) {
  llvm::StringRef a(arch);
  return a.equals_insensitive("gpt2") || a.equals_insensitive("gpt-2")
             ? ArchFamily::Gpt2
             : ArchFamily::Llama;
}

ModelSpec archDefaults(ArchFamily family) {
  ModelSpec spec;
  spec.block.preNorm = true;
  spec.finalNorm = true;
  spec.tiedHead = true;
  switch (family) {
  case ArchFamily::Llama:
    spec.arch = "llama";
    spec.positional = PositionEncoding::Rope;
    spec.ropeTheta = 10000.0f;
    spec.ropePairing = RopePairing::Interleaved;
    spec.block.norm = {NormKind::RMSNorm, 1e-5f};
    spec.block.ffn = {Activation::SiLU, /*gated=*/true, 0, /*bias=*/false};
    break;
  case ArchFamily::Gpt2:
    spec.arch = "gpt2";
    spec.positional = PositionEncoding::Learned;
    spec.block.norm = {NormKind::LayerNorm, 1e-5f};
    spec.block.attention.qkvBias = spec.block.attention.outBias = true;
    spec.block.ffn = {Activation::GeluTanh, /*gated=*/false, 0, /*bias=*/true};
    break;
  }
  return spec;
}

std::optional<int64_t> kvCacheFloats(const ModelSpec &spec) {
  const AttentionSpec &a = spec.block.attention;
  std::optional<int64_t> kv = llvm::checkedMul<int64_t>(spec.numLayers, 2);
  for (int64_t factor : {a.kvHeads, spec.contextLength, a.headDim})
    if (kv)
      kv = llvm::checkedMul(*kv, factor);
  return kv;
}

namespace {

/// The shortest spelling that reads back as `v` (as the printer writes).
std::string formatValue(float v) {
  char buf[64] = "";
  for (int precision = 1; precision <= 9; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v)
      break;
  }
  return buf;
}

llvm::Error problem(SpecKey key, const llvm::Twine &message) {
  return llvm::make_error<SpecError>(key, message.str());
}

} // namespace

llvm::Error validateSpec(const ModelSpec &spec) {
  const AttentionSpec &a = spec.block.attention;
  struct Size {
    SpecKey key;
    const char *name;
    int64_t value, max;
  };
  for (const Size &s :
       {Size{SpecKey::Vocab, "vocab", spec.vocabSize, kMaxVocab},
        Size{SpecKey::Dim, "dim", spec.dim, kMaxDim},
        Size{SpecKey::Context, "context", spec.contextLength, kMaxContext},
        Size{SpecKey::Layers, "layers", spec.numLayers, kMaxLayers},
        Size{SpecKey::Heads, "heads", a.heads, kMaxHeads},
        Size{SpecKey::KvHeads, "kv_heads", a.kvHeads, kMaxHeads},
        Size{SpecKey::HeadDim, "head_dim", a.headDim, kMaxDim},
        Size{SpecKey::Hidden, "ffn hidden", spec.block.ffn.hidden,
             kMaxHidden}}) {
    if (s.value <= 0)
      return problem(s.key, llvm::Twine(s.name) + " must be positive, found " +
                                llvm::Twine(s.value));
    if (s.value > s.max)
      return problem(s.key, llvm::Twine(s.name) + " is " +
                                llvm::Twine(s.value) + ", above the limit " +
                                llvm::Twine(s.max) + " (docs/limits.md)");
  }
  if (a.heads % a.kvHeads != 0)
    return problem(SpecKey::KvHeads, "kv_heads (" + llvm::Twine(a.kvHeads) +
                                         ") must divide heads (" +
                                         llvm::Twine(a.heads) + ")");
  if (spec.positional == PositionEncoding::Rope && a.headDim % 2 != 0)
    return problem(SpecKey::Positions,
                   "rope needs an even head_dim, but head_dim is " +
                       llvm::Twine(a.headDim));
  if (spec.positional == PositionEncoding::Sinusoidal && spec.dim % 2 != 0)
    return problem(SpecKey::Positions,
                   "sinusoidal positions need an even dim, but dim is " +
                       llvm::Twine(spec.dim));
  // Written as negations so that NaN fails too.
  const float eps = spec.block.norm.eps;
  if (!(eps > 0 && eps < 1))
    return problem(SpecKey::Eps,
                   "'eps' must be between 0 and 1 (exclusive), found " +
                       formatValue(eps));
  if (spec.positional == PositionEncoding::Rope &&
      !(spec.ropeTheta > 0 && std::isfinite(spec.ropeTheta)))
    return problem(SpecKey::Theta, "'theta' must be positive, found " +
                                       formatValue(spec.ropeTheta));
  if (!(spec.embeddingScale > 0 && std::isfinite(spec.embeddingScale)))
    return problem(SpecKey::Scale, "'scale' must be positive, found " +
                                       formatValue(spec.embeddingScale));
  // Within the limits above the KV cache product can still reach 2^63.
  std::optional<int64_t> kv = kvCacheFloats(spec);
  if (!kv || *kv > kMaxKvCacheFloats)
    return problem(SpecKey::Model,
                   "the KV cache (layers x 2 x kv_heads x context x head_dim "
                   "floats) is above the limit " +
                       llvm::Twine(kMaxKvCacheFloats) +
                       " floats (docs/limits.md)");
  std::optional<int64_t> total = 0;
  for (const WeightDecl &w : expectedWeights(spec)) {
    std::optional<int64_t> n = 1;
    for (int64_t d : w.shape)
      if (n)
        n = llvm::checkedMul(*n, d);
    if (total && n)
      total = llvm::checkedAdd(*total, *n);
    else
      total.reset();
  }
  if (!total || *total > kMaxWeightFloats)
    return problem(SpecKey::Model, "the weights are above the limit " +
                                       llvm::Twine(kMaxWeightFloats) +
                                       " floats (docs/limits.md)");
  if (spec.tokenizer.kind != TokenizerKind::None &&
      spec.tokenizer.path.empty() &&
      spec.weights.format != CheckpointFormat::Gguf)
    return problem(SpecKey::Tokenizer,
                   "the tokenizer has no file; only gguf weights carry their "
                   "own tokenizer");
  return llvm::Error::success();
}

namespace {
const EnumName<PositionEncoding> kPositionEncodingNames[] = {
    {PositionEncoding::None, "none"},
    {PositionEncoding::Sinusoidal, "sinusoidal"},
    {PositionEncoding::Learned, "learned"},
    {PositionEncoding::Rope, "rope"},
    {PositionEncoding::Alibi, "alibi"}};
const EnumName<NormKind> kNormKindNames[] = {{NormKind::LayerNorm, "layernorm"},
                                             {NormKind::RMSNorm, "rmsnorm"}};
const EnumName<Activation> kActivationNames[] = {
    {Activation::ReLU, "relu"},
    {Activation::Gelu, "gelu"},
    {Activation::GeluTanh, "gelu_tanh"},
    {Activation::SiLU, "silu"}};
const EnumName<RopePairing> kRopePairingNames[] = {
    {RopePairing::Interleaved, "interleaved"}, {RopePairing::Half, "half"}};
const EnumName<CheckpointFormat> kCheckpointFormatNames[] = {
    {CheckpointFormat::None, "none"},
    {CheckpointFormat::Random, "random"},
    {CheckpointFormat::Llama2c, "llama2c"},
    {CheckpointFormat::Gguf, "gguf"},
    {CheckpointFormat::Safetensors, "safetensors"}};
const EnumName<TokenizerKind> kTokenizerKindNames[] = {
    {TokenizerKind::None, "none"},
    {TokenizerKind::SentencePiece, "sentencepiece"},
    {TokenizerKind::Gpt2, "gpt2"}};
const EnumName<SpecKey> kSpecKeyNames[] = {{SpecKey::Model, "model"},
                                           {SpecKey::Vocab, "vocab"},
                                           {SpecKey::Dim, "dim"},
                                           {SpecKey::Context, "context"},
                                           {SpecKey::Positions, "positions"},
                                           {SpecKey::Theta, "theta"},
                                           {SpecKey::Scale, "scale"},
                                           {SpecKey::Layers, "layers"},
                                           {SpecKey::Order, "order"},
                                           {SpecKey::Norm, "norm"},
                                           {SpecKey::Eps, "eps"},
                                           {SpecKey::Attention, "attention"},
                                           {SpecKey::Heads, "heads"},
                                           {SpecKey::KvHeads, "kv_heads"},
                                           {SpecKey::HeadDim, "head_dim"},
                                           {SpecKey::Ffn, "ffn"},
                                           {SpecKey::Activation, "activation"},
                                           {SpecKey::Hidden, "hidden"},
                                           {SpecKey::FinalNorm, "final_norm"},
                                           {SpecKey::Head, "head"},
                                           {SpecKey::Tokenizer, "tokenizer"},
                                           {SpecKey::Weights, "weights"}};
} // namespace

#define TFM_ENUM_NAMES(E)                                                      \
  llvm::ArrayRef<EnumName<E>> enumNames(E) { return k##E##Names; }
TFM_ENUM_NAMES(PositionEncoding)
TFM_ENUM_NAMES(NormKind)
TFM_ENUM_NAMES(Activation)
TFM_ENUM_NAMES(RopePairing)
TFM_ENUM_NAMES(CheckpointFormat)
TFM_ENUM_NAMES(TokenizerKind)
TFM_ENUM_NAMES(SpecKey)
#undef TFM_ENUM_NAMES

// The encodings table's names (tfm/Formats/Encodings.h).
llvm::ArrayRef<EnumName<WeightStorage>> enumNames(WeightStorage) {
  static const std::vector<EnumName<WeightStorage>> names = [] {
    std::vector<EnumName<WeightStorage>> n;
    for (const formats::EncodingInfo &info : formats::weightEncodings())
      n.push_back({info.encoding, info.name});
    return n;
  }();
  return names;
}

} // namespace tfm
