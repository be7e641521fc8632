//===- DefaultBindings.cpp - Default weight names of each checkpoint format
//===//

#include "tfm/Frontend/DefaultBindings.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/StringSwitch.h"

#include <optional>

namespace tfm {

namespace {

WeightBinding plain(std::string source) {
  WeightBinding b;
  b.source = std::move(source);
  return b;
}

WeightBinding transposed(std::string source) {
  WeightBinding b = plain(std::move(source));
  b.transpose = true;
  return b;
}

/// Part `index` of 3 equal parts along `axis` (a fused Q/K/V tensor).
WeightBinding qkvPart(std::string source, int64_t axis, int64_t index,
                      bool transpose) {
  WeightBinding b = plain(std::move(source));
  b.splitAxis = axis;
  b.splitIndex = index;
  b.splitCount = 3;
  b.transpose = transpose;
  return b;
}

/// Index of q/k/v in a fused QKV tensor, or -1.
int64_t qkvIndex(llvm::StringRef proj) {
  return llvm::StringSwitch<int64_t>(proj)
      .Case("wq", 0)
      .Case("wk", 1)
      .Case("wv", 2)
      .Default(-1);
}

/// Splits "layers.{i}.wq.weight" into ("wq", "weight"); top-level names
/// into ("", name).
std::pair<llvm::StringRef, llvm::StringRef> layerParts(llvm::StringRef templ) {
  if (!templ.consume_front("layers.{i}."))
    return {"", templ};
  return templ.rsplit('.');
}

/// One row per module of a block: its canonical name and the names each
/// checkpoint layout gives it ("" where the layout has none of its own: GPT-2
/// fuses Q/K/V, llama2.c has no biases).
struct LayerModule {
  const char *canonical, *llama2c, *gguf, *hfLlama, *hfGpt2;
};
constexpr LayerModule kLayerModules[] = {
    // clang-format off
    // canonical  llama2c           gguf (llama.cpp) HF Llama                    HF GPT-2
    {"attn_norm", "rms_att_weight", "attn_norm",   "input_layernorm",          "ln_1"},
    {"wq",        "wq",             "attn_q",      "self_attn.q_proj",         ""},
    {"wk",        "wk",             "attn_k",      "self_attn.k_proj",         ""},
    {"wv",        "wv",             "attn_v",      "self_attn.v_proj",         ""},
    {"wo",        "wo",             "attn_output", "self_attn.o_proj",         "attn.c_proj"},
    {"ffn_norm",  "rms_ffn_weight", "ffn_norm",    "post_attention_layernorm", "ln_2"},
    {"w1",        "w1",             "ffn_gate",    "mlp.gate_proj",            "mlp.c_fc"},
    {"w2",        "w2",             "ffn_down",    "mlp.down_proj",            "mlp.c_proj"},
    {"w3",        "w3",             "ffn_up",      "mlp.up_proj",              ""},
    // clang-format on
};

/// The name `layout` gives block module `module`; the canonical name where
/// it has none, so that the importer reports that tensor as missing.
llvm::StringRef moduleName(llvm::StringRef module,
                           const char *LayerModule::*layout) {
  for (const LayerModule &m : kLayerModules)
    if (module == m.canonical && *(m.*layout))
      return m.*layout;
  return module;
}

/// The names a checkpoint layout gives the weights outside the blocks.
struct TopLevelNames {
  const char *tokens, *positions, *head, *finalNorm;
};

/// The binding of a weight outside the blocks, or nothing for a layer weight.
std::optional<WeightBinding> topLevel(llvm::StringRef templ,
                                      const TopLevelNames &names) {
  if (templ == "tok_embeddings.weight")
    return plain(names.tokens);
  if (templ == "pos_embeddings.weight")
    return plain(names.positions);
  if (templ == "lm_head.weight")
    return plain(names.head);
  if (templ.starts_with("layers.{i}."))
    return std::nullopt;
  auto [top, suffix] = templ.rsplit('.');
  if (top == "final_norm")
    return plain(std::string(names.finalNorm) + "." + suffix.str());
  return plain(templ.str());
}

WeightBinding llama2c(llvm::StringRef templ) {
  if (templ == "tok_embeddings.weight")
    return plain("token_embedding_table");
  if (templ == "final_norm.weight")
    return plain("rms_final_weight");
  if (templ == "lm_head.weight")
    return plain("wcls");
  auto [module, kind] = layerParts(templ);
  if (kind == "weight")
    return plain(moduleName(module, &LayerModule::llama2c).str() + ".{i}");
  // llama2.c has no such tensor (biases, learned positions): keep the
  // canonical name so the importer reports it as missing.
  return plain(templ.str());
}

WeightBinding ggufLlama(llvm::StringRef templ, bool gated) {
  if (auto b = topLevel(templ, {"token_embd.weight", "position_embd.weight",
                                "output.weight", "output_norm"}))
    return *b;
  auto [module, kind] = layerParts(templ);
  // llama.cpp names an ungated FFN's input projection ffn_up.
  llvm::StringRef name = module == "w1" && !gated
                             ? "ffn_up"
                             : moduleName(module, &LayerModule::gguf);
  return plain("blk.{i}." + name.str() + "." + kind.str());
}

WeightBinding ggufGpt2(llvm::StringRef templ, bool gated) {
  auto [module, kind] = layerParts(templ);
  int64_t part = qkvIndex(module);
  if (part >= 0)
    return qkvPart("blk.{i}.attn_qkv." + kind.str(), 0, part, false);
  return ggufLlama(templ, gated);
}

WeightBinding safetensorsLlama(llvm::StringRef templ) {
  if (auto b = topLevel(templ, {"model.embed_tokens.weight",
                                "model.embed_positions.weight",
                                "lm_head.weight", "model.norm"}))
    return *b;
  auto [module, kind] = layerParts(templ);
  llvm::StringRef name = moduleName(module, &LayerModule::hfLlama);
  return plain("model.layers.{i}." + name.str() + "." + kind.str());
}

/// Hugging Face GPT2LMHeadModel: Conv1D weights are stored [in, out].
WeightBinding safetensorsGpt2(llvm::StringRef templ) {
  if (auto b =
          topLevel(templ, {"transformer.wte.weight", "transformer.wpe.weight",
                           "lm_head.weight", "transformer.ln_f"}))
    return *b;
  auto [module, kind] = layerParts(templ);
  const std::string h = "transformer.h.{i}.";
  bool weight = kind == "weight";
  int64_t part = qkvIndex(module);
  if (part >= 0)
    return qkvPart(h + "attn.c_attn." + kind.str(), weight ? 1 : 0, part,
                   weight);
  llvm::StringRef name = moduleName(module, &LayerModule::hfGpt2);
  std::string source = h + name.str() + "." + kind.str();
  bool conv1d = weight && (module == "wo" || module == "w1" || module == "w2");
  return conv1d ? transposed(source) : plain(source);
}

} // namespace

bool isGpt2Family(const std::string &arch) {
  return archFamily(arch) == ArchFamily::Gpt2;
}

WeightBinding defaultBinding(CheckpointFormat format, ArchFamily family,
                             bool gated, llvm::StringRef templ) {
  const bool gpt2 = family == ArchFamily::Gpt2;
  switch (format) {
  case CheckpointFormat::Llama2c:
    return llama2c(templ);
  case CheckpointFormat::Gguf:
    return gpt2 ? ggufGpt2(templ, gated) : ggufLlama(templ, gated);
  case CheckpointFormat::Safetensors:
    return gpt2 ? safetensorsGpt2(templ) : safetensorsLlama(templ);
  case CheckpointFormat::None:
  case CheckpointFormat::Random:
    break;
  }
  return plain(templ.str());
}

std::map<std::string, WeightBinding> defaultBindings(const ModelSpec &spec) {
  std::map<std::string, WeightBinding> out;
  const CheckpointFormat format = spec.weights.format;
  if (format == CheckpointFormat::None || format == CheckpointFormat::Random)
    return out;
  const ArchFamily family = archFamily(spec.arch);
  for (const WeightDecl &decl : expectedWeights(spec))
    if (!out.count(decl.templ))
      out[decl.templ] =
          defaultBinding(format, family, spec.block.ffn.gated, decl.templ);
  return out;
}

void completeBindings(ModelSpec &spec) {
  std::map<std::string, WeightBinding> complete = defaultBindings(spec);
  for (auto &[templ, binding] : complete) {
    auto it = spec.weights.bindings.find(templ);
    if (it != spec.weights.bindings.end())
      binding = it->second;
  }
  spec.weights.bindings = std::move(complete);
}

} // namespace tfm
