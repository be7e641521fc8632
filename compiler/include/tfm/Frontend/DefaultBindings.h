//===- DefaultBindings.h - Default weight names of each checkpoint format -===//
//
// The one table of where each canonical weight (see expectedWeights) lives in
// a checkpoint of each format, by default. The `.tfm` parser starts from it
// and applies the description's overrides; checkpoint importers use it to
// fill ModelSpec::weights.bindings; the printer prints only differences.
//
// Families: for GGUF and safetensors, an arch of "gpt2" (any case, also
// "gpt-2") selects the GPT-2 layout (fused QKV, Conv1D storage in
// safetensors); every other arch selects the Llama layout. llama2.c files
// have no tensor names: the names are those of the fields of llama2.c's
// TransformerWeights, with a layer index where the field holds all layers.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FRONTEND_DEFAULTBINDINGS_H
#define TFM_FRONTEND_DEFAULTBINDINGS_H

#include "tfm/Frontend/ModelSpec.h"

#include "llvm/ADT/StringRef.h"

#include <map>
#include <string>

namespace tfm {

/// True when `arch` selects the GPT-2 family of default names
/// (archFamily(arch) == ArchFamily::Gpt2).
bool isGpt2Family(const std::string &arch);

/// Where the canonical weight template `templ` (e.g. "layers.{i}.wq.bias")
/// lives by default in a checkpoint of `format` for `family`; `gated` says
/// whether the FFN has a gate (w1 and w3). Importers ask it for the names of
/// the tensors they probe rather than spelling them again.
WeightBinding defaultBinding(CheckpointFormat format, ArchFamily family,
                             bool gated, llvm::StringRef templ);

/// The default binding of every weight template in expectedWeights(spec),
/// for spec.weights.format (the FFN's gating and spec.arch choose names).
/// Empty for CheckpointFormat::None and CheckpointFormat::Random.
std::map<std::string, WeightBinding> defaultBindings(const ModelSpec &spec);

/// Replaces spec.weights.bindings by the defaults overridden by the bindings
/// it already has, restricted to the templates of expectedWeights(spec).
void completeBindings(ModelSpec &spec);

} // namespace tfm

#endif // TFM_FRONTEND_DEFAULTBINDINGS_H
