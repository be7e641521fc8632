//===- GraphDot.cpp - A Graphviz picture of a model's structure -----------===//

#include "tfm/Frontend/GraphDot.h"

#include <string>

namespace tfm {

namespace {
std::string normLabel(const ModelSpec &spec) {
  return std::string(toString(spec.block.norm.kind)) + " (eps " +
         std::to_string(spec.block.norm.eps) + ")";
}
} // namespace

void printGraphDot(const ModelSpec &spec, llvm::raw_ostream &os) {
  const AttentionSpec &a = spec.block.attention;
  const FfnSpec &f = spec.block.ffn;
  auto node = [&](const char *id, const std::string &label,
                  const char *shape = "box") {
    os << "  " << id << " [label=\"" << label << "\", shape=" << shape
       << "];\n";
  };
  os << "digraph \"" << spec.name
     << "\" {\n  rankdir=TB;\n  node [fontname=Helvetica];\n";
  node("tokens", "tokens", "ellipse");
  node("embed", "embedding " + std::to_string(spec.vocabSize) + " x " +
                    std::to_string(spec.dim));
  std::string pos = toString(spec.positional);
  if (spec.positional == PositionEncoding::Rope)
    pos += " (theta " + std::to_string((int64_t)spec.ropeTheta) + ", " +
           toString(spec.ropePairing) + ")";
  node("positions", "positions: " + pos, "note");
  os << "  subgraph cluster_block {\n    label=\"block x " << spec.numLayers
     << " (" << (spec.block.preNorm ? "pre-norm" : "post-norm") << ")\";\n";
  node("norm1", normLabel(spec));
  std::string attn = "attention: " + std::to_string(a.heads) + " heads, " +
                     std::to_string(a.kvHeads) + " kv heads, head dim " +
                     std::to_string(a.headDim) + (a.causal ? ", causal" : "");
  node("qkv", "Q, K, V projections");
  node("scores", "Q K^T / sqrt(d_k), mask, softmax");
  node("mix", "weights x V, output projection");
  node("add1", "+ residual", "circle");
  node("norm2", normLabel(spec));
  std::string ffn = std::string("FFN: ") + toString(f.activation) +
                    (f.gated ? " gated" : "") + ", hidden " +
                    std::to_string(f.hidden);
  node("ffn", ffn);
  node("add2", "+ residual", "circle");
  os << "    qkv -> scores -> mix;\n    label_attn [label=\"" << attn
     << "\", shape=plaintext];\n  }\n";
  if (spec.finalNorm)
    node("final_norm", "final " + normLabel(spec));
  node("head", std::string("LM head (") + (spec.tiedHead ? "tied" : "untied") +
                   ") -> " + std::to_string(spec.vocabSize) + " logits");
  os << "  tokens -> embed -> positions;\n";
  if (spec.block.preNorm)
    os << "  positions -> norm1 -> qkv;\n  mix -> add1;\n  positions -> add1 "
          "[style=dashed];\n"
          "  add1 -> norm2 -> ffn -> add2;\n  add1 -> add2 [style=dashed];\n";
  else
    os << "  positions -> qkv;\n  mix -> add1;\n  positions -> add1 "
          "[style=dashed];\n"
          "  add1 -> norm1 -> ffn -> add2;\n  norm1 -> add2 [style=dashed];\n  "
          "add2 -> norm2;\n";
  const char *last = spec.block.preNorm ? "add2" : "norm2";
  if (spec.finalNorm)
    os << "  " << last << " -> final_norm -> head;\n";
  else
    os << "  " << last << " -> head;\n";
  os << "}\n";
}

} // namespace tfm
