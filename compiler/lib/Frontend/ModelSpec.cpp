//===- ModelSpec.cpp - Canonical weights and validation of a ModelSpec ----===//

#include "tfm/Frontend/ModelSpec.h"

#include "llvm/Support/CheckedArithmetic.h"

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
    out.push_back({layer < 0 ? templ : expandTemplate(templ, layer), templ, shape});
  };
  const int64_t d = spec.dim;
  const BlockSpec &b = spec.block;
  const int64_t qDim = b.attention.heads * b.attention.headDim;
  const int64_t kvDim = b.attention.kvHeads * b.attention.headDim;
  const int64_t f = b.ffn.hidden;
  const bool layerNorm = b.norm.kind == NormKind::LayerNorm;

  add("tok_embeddings.weight", {spec.vocabSize, d});
  if (spec.positional == PositionalKind::Learned)
    add("pos_embeddings.weight", {spec.contextLength, d});
  for (int64_t i = 0; i < spec.numLayers; ++i) {
    add("layers.{i}.attn_norm.weight", {d}, i);
    if (layerNorm)
      add("layers.{i}.attn_norm.bias", {d}, i);
    add("layers.{i}.wq.weight", {qDim, d}, i);
    if (b.attention.qkvBias)
      add("layers.{i}.wq.bias", {qDim}, i);
    add("layers.{i}.wk.weight", {kvDim, d}, i);
    if (b.attention.qkvBias)
      add("layers.{i}.wk.bias", {kvDim}, i);
    add("layers.{i}.wv.weight", {kvDim, d}, i);
    if (b.attention.qkvBias)
      add("layers.{i}.wv.bias", {kvDim}, i);
    add("layers.{i}.wo.weight", {d, qDim}, i);
    if (b.attention.outBias)
      add("layers.{i}.wo.bias", {d}, i);
    add("layers.{i}.ffn_norm.weight", {d}, i);
    if (layerNorm)
      add("layers.{i}.ffn_norm.bias", {d}, i);
    add("layers.{i}.w1.weight", {f, d}, i);
    if (b.ffn.bias)
      add("layers.{i}.w1.bias", {f}, i);
    if (b.ffn.gated) {
      add("layers.{i}.w3.weight", {f, d}, i);
      if (b.ffn.bias)
        add("layers.{i}.w3.bias", {f}, i);
    }
    add("layers.{i}.w2.weight", {d, f}, i);
    if (b.ffn.bias)
      add("layers.{i}.w2.bias", {d}, i);
  }
  if (spec.finalNorm) {
    add("final_norm.weight", {d});
    if (layerNorm)
      add("final_norm.bias", {d});
  }
  if (!spec.tiedHead)
    add("lm_head.weight", {spec.vocabSize, d});
  return out;
}

std::string validateSpec(const ModelSpec &spec) {
  const AttentionSpec &a = spec.block.attention;
  if (spec.vocabSize <= 0)
    return "vocab size must be positive";
  if (spec.dim <= 0)
    return "model dim must be positive";
  if (spec.contextLength <= 0)
    return "context length must be positive";
  if (spec.numLayers <= 0)
    return "number of layers must be positive";
  if (a.heads <= 0 || a.kvHeads <= 0 || a.headDim <= 0)
    return "heads, kv_heads and head_dim must be positive";
  if (a.heads % a.kvHeads != 0)
    return "kv_heads (" + std::to_string(a.kvHeads) +
           ") must divide heads (" + std::to_string(a.heads) + ")";
  if (spec.positional == PositionalKind::Rope && a.headDim % 2 != 0)
    return "rope needs an even head_dim, got " + std::to_string(a.headDim);
  if (spec.positional == PositionalKind::Sinusoidal && spec.dim % 2 != 0)
    return "sinusoidal positions need an even dim, got " +
           std::to_string(spec.dim);
  if (spec.block.ffn.hidden <= 0)
    return "ffn hidden size must be positive";
  struct Limit {
    const char *name;
    int64_t value, max;
  };
  for (const Limit &l : {Limit{"vocab", spec.vocabSize, kMaxVocab},
                         Limit{"dim", spec.dim, kMaxDim},
                         Limit{"context", spec.contextLength, kMaxContext},
                         Limit{"layers", spec.numLayers, kMaxLayers},
                         Limit{"heads", a.heads, kMaxHeads},
                         Limit{"kv_heads", a.kvHeads, kMaxHeads},
                         Limit{"head_dim", a.headDim, kMaxDim},
                         Limit{"ffn hidden", spec.block.ffn.hidden, kMaxHidden}})
    if (l.value > l.max)
      return std::string(l.name) + " is " + std::to_string(l.value) +
             ", above the limit " + std::to_string(l.max) + " (docs/limits.md)";
  // Within those limits the KV cache product can still reach 2^63.
  std::optional<int64_t> kv = llvm::checkedMul<int64_t>(spec.numLayers, 2);
  for (int64_t factor : {a.kvHeads, spec.contextLength, a.headDim})
    if (kv)
      kv = llvm::checkedMul(*kv, factor);
  if (!kv || *kv > kMaxKvCacheFloats)
    return "the KV cache (layers x 2 x kv_heads x context x head_dim floats) "
           "is above the limit " + std::to_string(kMaxKvCacheFloats) +
           " floats (docs/limits.md)";
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
    return "the weights are above the limit " +
           std::to_string(kMaxWeightFloats) + " floats (docs/limits.md)";
  if (spec.tokenizer.kind != TokenizerKind::None && spec.tokenizer.path.empty() &&
      spec.weights.format != CheckpointFormat::Gguf)
    return "tokenizer has no file";
  return "";
}

const char *toString(PositionalKind k) {
  switch (k) {
  case PositionalKind::None: return "none";
  case PositionalKind::Sinusoidal: return "sinusoidal";
  case PositionalKind::Learned: return "learned";
  case PositionalKind::Rope: return "rope";
  case PositionalKind::Alibi: return "alibi";
  }
  return "?";
}
const char *toString(NormKind k) {
  return k == NormKind::LayerNorm ? "layernorm" : "rmsnorm";
}
const char *toString(Activation k) {
  switch (k) {
  case Activation::ReLU: return "relu";
  case Activation::Gelu: return "gelu";
  case Activation::GeluTanh: return "gelu_tanh";
  case Activation::SiLU: return "silu";
  }
  return "?";
}
const char *toString(RopeStyle k) {
  return k == RopeStyle::Interleaved ? "interleaved" : "half";
}
const char *toString(CheckpointFormat k) {
  switch (k) {
  case CheckpointFormat::None: return "none";
  case CheckpointFormat::Llama2c: return "llama2c";
  case CheckpointFormat::Gguf: return "gguf";
  case CheckpointFormat::Safetensors: return "safetensors";
  case CheckpointFormat::Random: return "random";
  }
  return "?";
}
const char *toString(TokenizerKind k) {
  switch (k) {
  case TokenizerKind::None: return "none";
  case TokenizerKind::SentencePiece: return "sentencepiece";
  case TokenizerKind::Gpt2: return "gpt2";
  }
  return "?";
}

} // namespace tfm
