//===- DescriptionPrinter.cpp - Prints a ModelSpec as a .tfm description --===//
//
// The printer writes every key explicitly (defaults included) so that the
// output documents the model completely, and writes numbers in the shortest
// form that reads back to the same float. equalSpecs() is the equality the
// round trip parse(print(spec)) == spec is checked with.
//
//===----------------------------------------------------------------------===//

#include "tfm/Frontend/DefaultBindings.h"
#include "tfm/Frontend/Description.h"

#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace tfm {

namespace {

/// Whole numbers in plain digits; otherwise the shortest %g spelling that
/// strtof reads back as exactly `v`, with the exponent tidied
/// ("1e-05" -> "1e-5").
std::string formatFloat(float v) {
  char buf[64];
  // Whole numbers as people write them: 10000, not 1e4.
  if (std::fabs(v) < 1e9f && v == std::trunc(v)) {
    std::snprintf(buf, sizeof(buf), "%.0f", static_cast<double>(v));
    return buf;
  }
  for (int precision = 1; precision <= 9; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v)
      break;
  }
  std::string s = buf;
  size_t e = s.find('e');
  if (e == std::string::npos)
    return s;
  std::string mantissa = s.substr(0, e);
  std::string exponent = s.substr(e + 1);
  bool negative = !exponent.empty() && exponent[0] == '-';
  if (!exponent.empty() && (exponent[0] == '-' || exponent[0] == '+'))
    exponent.erase(0, 1);
  while (exponent.size() > 1 && exponent[0] == '0')
    exponent.erase(0, 1);
  return mantissa + "e" + (negative ? "-" : "") + exponent;
}

std::string quote(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      out += c;
      break;
    }
  }
  return out + "\"";
}

std::string normText(const NormSpec &n) {
  return std::string(toString(n.kind)) + "(eps = " + formatFloat(n.eps) + ")";
}

bool sameBinding(const WeightBinding &a, const WeightBinding &b) {
  if (a.source != b.source || a.transpose != b.transpose ||
      (a.splitAxis >= 0) != (b.splitAxis >= 0))
    return false;
  return a.splitAxis < 0 ||
         (a.splitAxis == b.splitAxis && a.splitIndex == b.splitIndex &&
          a.splitCount == b.splitCount);
}

std::string bindingText(const WeightBinding &b) {
  std::string out = quote(b.source);
  if (b.splitAxis >= 0)
    out += " split(axis = " + std::to_string(b.splitAxis) +
           ", index = " + std::to_string(b.splitIndex) +
           ", count = " + std::to_string(b.splitCount) + ")";
  if (b.transpose)
    out += " transpose";
  return out;
}

bool usesFile(CheckpointFormat f) {
  return f == CheckpointFormat::Llama2c || f == CheckpointFormat::Gguf ||
         f == CheckpointFormat::Safetensors;
}

} // namespace

void printDescription(const ModelSpec &spec, llvm::raw_ostream &os) {
  const BlockSpec &b = spec.block;
  const AttentionSpec &a = b.attention;
  const FfnSpec &f = b.ffn;
  os << "model " << quote(spec.name) << " {\n";
  if (!spec.arch.empty())
    os << "  arch = " << quote(spec.arch) << "\n";
  os << "  vocab = " << spec.vocabSize << "\n";
  os << "  dim = " << spec.dim << "\n";
  os << "  context = " << spec.contextLength << "\n";
  os << "  positions = " << toString(spec.positional);
  if (spec.positional == PositionEncoding::Rope)
    os << "(theta = " << formatFloat(spec.ropeTheta)
       << ", style = " << toString(spec.ropePairing) << ")";
  os << "\n";
  if (spec.embeddingScale != 1.0f) {
    os << "  embedding { scale = ";
    if (spec.embeddingScale == sqrtDimScale(spec.dim))
      os << "sqrt(dim)";
    else
      os << formatFloat(spec.embeddingScale);
    os << " }\n";
  }
  os << "\n  block x " << spec.numLayers << " {\n";
  os << "    order = " << (b.preNorm ? "pre-norm" : "post-norm") << "\n";
  os << "    norm = " << normText(b.norm) << "\n";
  os << "    attention {\n";
  os << "      heads = " << a.heads << "\n";
  os << "      kv_heads = " << a.kvHeads << "\n";
  os << "      head_dim = " << a.headDim << "\n";
  os << "      causal = " << (a.causal ? "true" : "false") << "\n";
  os << "      bias = "
     << (a.qkvBias ? (a.outBias ? "qkv+out" : "qkv")
                   : (a.outBias ? "out" : "none"))
     << "\n";
  os << "    }\n";
  os << "    ffn {\n";
  os << "      activation = " << toString(f.activation) << "\n";
  os << "      gated = " << (f.gated ? "true" : "false") << "\n";
  os << "      hidden = " << f.hidden << "\n";
  os << "      bias = " << (f.bias ? "true" : "false") << "\n";
  os << "    }\n";
  os << "  }\n\n";
  os << "  final_norm = " << (spec.finalNorm ? "true" : "false") << "\n";
  os << "  head = " << (spec.tiedHead ? "tied" : "untied") << "\n";
  os << "  tokenizer = " << toString(spec.tokenizer.kind);
  if (spec.tokenizer.kind != TokenizerKind::None &&
      !spec.tokenizer.path.empty())
    os << "(" << quote(spec.tokenizer.path) << ")";
  os << "\n";

  const WeightsSpec &w = spec.weights;
  os << "  weights = " << toString(w.format);
  if (w.format == CheckpointFormat::Random)
    os << "(seed = " << w.seed << ")";
  if (usesFile(w.format)) {
    os << "(" << quote(w.path) << ")";
    std::map<std::string, WeightBinding> defaults = defaultBindings(spec);
    bool opened = false;
    for (const auto &[templ, def] : defaults) {
      auto it = w.bindings.find(templ);
      if (it == w.bindings.end() || sameBinding(it->second, def))
        continue;
      if (!opened)
        os << " {\n";
      opened = true;
      os << "    " << quote(templ) << " = " << bindingText(it->second) << "\n";
    }
    if (opened)
      os << "  }";
  }
  os << "\n}\n";
}

bool equalSpecs(const ModelSpec &a, const ModelSpec &b,
                std::string *difference) {
  std::ostringstream why;
  auto differ = [&](const char *field, const auto &x, const auto &y) {
    why << field << ": " << x << " vs " << y;
    if (difference)
      *difference = why.str();
    return false;
  };
#define TFM_COMPARE(FIELD)                                                     \
  if (!(a.FIELD == b.FIELD))                                                   \
    return differ(#FIELD, a.FIELD, b.FIELD);
#define TFM_COMPARE_ENUM(FIELD)                                                \
  if (a.FIELD != b.FIELD)                                                      \
    return differ(#FIELD, toString(a.FIELD), toString(b.FIELD));
  TFM_COMPARE(name)
  TFM_COMPARE(arch)
  TFM_COMPARE(vocabSize)
  TFM_COMPARE(dim)
  TFM_COMPARE(contextLength)
  TFM_COMPARE(numLayers)
  TFM_COMPARE(embeddingScale)
  TFM_COMPARE_ENUM(positional)
  if (a.positional == PositionEncoding::Rope) {
    TFM_COMPARE(ropeTheta)
    TFM_COMPARE_ENUM(ropePairing)
  }
  TFM_COMPARE(block.preNorm)
  TFM_COMPARE_ENUM(block.norm.kind)
  TFM_COMPARE(block.norm.eps)
  TFM_COMPARE(block.attention.heads)
  TFM_COMPARE(block.attention.kvHeads)
  TFM_COMPARE(block.attention.headDim)
  TFM_COMPARE(block.attention.causal)
  TFM_COMPARE(block.attention.qkvBias)
  TFM_COMPARE(block.attention.outBias)
  TFM_COMPARE_ENUM(block.ffn.activation)
  TFM_COMPARE(block.ffn.gated)
  TFM_COMPARE(block.ffn.hidden)
  TFM_COMPARE(block.ffn.bias)
  TFM_COMPARE(finalNorm)
  TFM_COMPARE(tiedHead)
  TFM_COMPARE_ENUM(tokenizer.kind)
  if (a.tokenizer.kind != TokenizerKind::None) {
    TFM_COMPARE(tokenizer.path)
  }
  TFM_COMPARE_ENUM(weights.format)
  if (a.weights.format == CheckpointFormat::Random) {
    TFM_COMPARE(weights.seed)
  }
  if (usesFile(a.weights.format)) {
    TFM_COMPARE(weights.path)
    ModelSpec ca = a, cb = b;
    completeBindings(ca);
    completeBindings(cb);
    for (const auto &[templ, binding] : ca.weights.bindings) {
      const WeightBinding &other = cb.weights.bindings[templ];
      if (!sameBinding(binding, other))
        return differ(("binding of " + templ).c_str(), bindingText(binding),
                      bindingText(other));
    }
  }
#undef TFM_COMPARE
#undef TFM_COMPARE_ENUM
  return true;
}

} // namespace tfm
