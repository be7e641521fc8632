//===- ModelSpec.h - The architecture of a model, independent of its source
//===//
//
// Every frontend (the .tfm description parser and each checkpoint importer)
// produces one ModelSpec; one graph builder turns any ModelSpec into IR.
// Weights are named canonically (see expectedWeights) and bound to tensors of
// a checkpoint by templates in which `{i}` stands for the layer index.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FRONTEND_MODELSPEC_H
#define TFM_FRONTEND_MODELSPEC_H

#include "tfm/Formats/Encodings.h"
#include "tfm/runtime/Tokenizer.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace tfm {

/// How a model encodes positions. (The dialect's mlir::tfm::PositionalKind
/// is narrower: the absolute encodings that tfm.positional adds.)
enum class PositionEncoding { None, Sinusoidal, Learned, Rope, Alibi };
enum class NormKind { LayerNorm, RMSNorm };
/// GeluTanh is GPT-2's `gelu_new` approximation; Gelu is the exact erf form.
enum class Activation { ReLU, Gelu, GeluTanh, SiLU };
/// Rope pairs: Interleaved rotates (x[2j], x[2j+1]) as llama2.c and GGUF do;
/// Half rotates (x[j], x[j + d/2]) as Hugging Face Llama checkpoints do.
/// (The graph builder maps it to the dialect's mlir::tfm::RopeStyle; this
/// library does not depend on MLIR.)
enum class RopePairing { Interleaved, Half };
enum class CheckpointFormat { None, Llama2c, Gguf, Safetensors, Random };
/// The tokenizer families are the runtime's (None: a model without one).
using rt::TokenizerKind;

struct NormSpec {
  NormKind kind = NormKind::RMSNorm;
  float eps = 1e-5f;
};

struct AttentionSpec {
  int64_t heads = 0;
  int64_t kvHeads = 0; ///< == heads: MHA; 1: MQA; otherwise GQA.
  int64_t headDim = 0;
  bool causal = true;
  bool qkvBias = false; ///< Biases on the Q, K and V projections.
  bool outBias = false; ///< Bias on the output projection.
};

struct FfnSpec {
  Activation activation = Activation::SiLU;
  bool gated = false; ///< true: act(x W1) * (x W3), e.g. SwiGLU.
  int64_t hidden = 0;
  bool bias = false;
};

/// One transformer block; every layer of a model has the same structure.
struct BlockSpec {
  bool preNorm = true; ///< false: the original Transformer's post-norm.
  NormSpec norm;       ///< Both norms of a block share kind and eps.
  AttentionSpec attention;
  FfnSpec ffn;
};

/// Where one canonical weight comes from.
struct WeightBinding {
  std::string source; ///< Tensor name in the checkpoint, may contain {i}.
  bool transpose =
      false; ///< Stored [in, out] (GPT-2 Conv1D): transpose at compile time.
  int64_t splitAxis =
      -1; ///< >= 0: take part splitIndex of splitCount equal parts
  int64_t splitIndex =
      0; ///<   along this axis of the stored tensor (fused QKV).
  int64_t splitCount = 1;
};

/// How the weights blob stores a weight's values (Weights.h): a row of the
/// encodings table (tfm/Formats/Encodings.h; tfm.weight's `encoding`).
using WeightStorage = formats::Encoding;

/// What a layout's weights hold (TfmModelInfo's census fields): values and
/// data bytes (weightsCensus, Weights.h; 4 per f32 value, GGUF's block bytes
/// per block, 34 per 32-value q8_0 block: the bytes of the GGUF tensor,
/// without the blob's alignment padding), of all weights and of the 2-D ones
/// (linear layers and embedding tables), and per storage the weights, values
/// and data bytes (the storages present, in the encodings table's order).
struct WeightsCensus {
  struct Storage {
    WeightStorage storage;
    int64_t weights = 0, values = 0, dataBytes = 0;
  };
  int64_t values = 0, dataBytes = 0;
  int64_t matrixValues = 0, matrixDataBytes = 0;
  std::vector<Storage> storages;
};

struct WeightsSpec {
  CheckpointFormat format = CheckpointFormat::None;
  std::string path;  ///< Checkpoint file (or directory for safetensors).
  uint64_t seed = 0; ///< For CheckpointFormat::Random.
  /// Canonical name template (e.g. "layers.{i}.wq.weight") -> binding.
  std::map<std::string, WeightBinding> bindings;
  /// Weight name (e.g. "layers.3.wv.weight", not its template) -> storage,
  /// for the weights not stored as f32 (chosen by chooseWeightStorage,
  /// Weights.h): each layer's weights keep their own precision.
  std::map<std::string, WeightStorage> storage;
};

struct TokenizerSpec {
  TokenizerKind kind = TokenizerKind::None;
  std::string
      path; ///< tokenizer.bin, a .gguf, or vocab.json (merges.txt beside it).
};

/// The parts and hyper-parameters of a model, named by their `.tfm` keys.
/// Errors about a spec name the key they concern, and each frontend says
/// where that key is in its own file (a description's line, a GGUF metadata
/// key, a config.json key, a llama2.c header field).
enum class SpecKey {
  Model,
  Vocab,
  Dim,
  Context,
  Positions,
  Theta,
  Scale,
  Layers,
  Order,
  Norm,
  Eps,
  Attention,
  Heads,
  KvHeads,
  HeadDim,
  Ffn,
  Activation,
  Hidden,
  FinalNorm,
  Head,
  Tokenizer,
  Weights,
};

/// Where a spec came from. For a description: the .tfm file and the line
/// and column (1-based) of every key it gives; for a checkpoint: its path.
/// The graph builder gives ops the location of the key they come from.
struct SpecSource {
  std::string file;
  bool description = false;
  std::map<SpecKey, std::pair<unsigned, unsigned>> keys;
};

struct ModelSpec {
  std::string name;
  std::string arch; ///< Free-form family name for humans: "llama", "gpt2", ...
  int64_t vocabSize = 0;
  int64_t dim = 0;
  int64_t contextLength = 0;
  int64_t numLayers = 0;
  float embeddingScale =
      1.0f; ///< The original Transformer multiplies by sqrt(dim).
  PositionEncoding positional = PositionEncoding::None;
  float ropeTheta = 10000.0f;
  RopePairing ropePairing = RopePairing::Interleaved;
  BlockSpec block;
  bool finalNorm = true;
  bool tiedHead = true; ///< LM head reuses tok_embeddings.
  TokenizerSpec tokenizer;
  WeightsSpec weights;
  SpecSource source; ///< Not part of the model: equalSpecs ignores it.
};

/// The families whose conventions tfmc knows. Any arch other than "gpt2"
/// (any case, also "gpt-2") is read as Llama.
enum class ArchFamily { Llama, Gpt2 };
ArchFamily archFamily(const std::string &arch);

/// The one table of per-architecture defaults: a spec with the family's
/// fixed structure (positions, norm kind and eps, FFN, biases, final norm,
/// tied head) and all sizes 0. Importers start from it and set what their
/// file states.
///   Llama: rope (theta 10000, interleaved), pre-norm RMSNorm eps 1e-5,
///          SwiGLU, no biases.
///   GPT-2: learned positions, pre-norm LayerNorm eps 1e-5, gelu_tanh,
///          biases everywhere.
ModelSpec archDefaults(ArchFamily family);

/// One weight the graph needs, with its canonical row-major shape
/// (linear weights are [out, in] as in torch.nn.Linear).
struct WeightDecl {
  std::string name;  ///< Concrete name, e.g. "layers.3.wq.weight".
  std::string templ; ///< Its template, e.g. "layers.{i}.wq.weight".
  std::vector<int64_t> shape;
};

/// Expands every `{i}` in a weight-name template to `layer`.
std::string expandTemplate(const std::string &templ, int64_t layer);

/// The weights `spec` needs, in a fixed order (the packing order).
std::vector<WeightDecl> expectedWeights(const ModelSpec &spec);

/// Limits of the hyper-parameters, whatever file they come from (listed in
/// docs/limits.md). Generous, but small enough that every size the compiler
/// and the runtime combine from them (vocab * dim, the KV cache, byte
/// counts) stays far from 64-bit overflow.
constexpr int64_t kMaxVocab = int64_t(1) << 24;
constexpr int64_t kMaxDim = int64_t(1) << 16; ///< Also head_dim.
constexpr int64_t kMaxContext = int64_t(1) << 24;
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxHeads = 4096; ///< Also kv_heads.
constexpr int64_t kMaxHidden = int64_t(1) << 20;
/// Of the totals: floats of the KV cache and of all weights (16 TiB each).
constexpr int64_t kMaxKvCacheFloats = int64_t(1) << 42;
constexpr int64_t kMaxWeightFloats = int64_t(1) << 42;

/// An invalid ModelSpec: a readable message and the key it concerns.
class SpecError : public llvm::ErrorInfo<SpecError> {
public:
  static char ID;
  SpecError(SpecKey key, std::string message)
      : key(key), message(std::move(message)) {}
  SpecKey getKey() const { return key; }
  const std::string &getMessage() const { return message; }
  void log(llvm::raw_ostream &os) const override;
  std::error_code convertToErrorCode() const override {
    return llvm::inconvertibleErrorCode();
  }

private:
  SpecKey key;
  std::string message;
};

/// The one validator of a ModelSpec, whatever its frontend: sizes positive
/// and within the limits above, totals without overflow, heads divisible by
/// kv_heads, rope with an even head_dim, sinusoidal with an even dim, eps in
/// (0, 1), rope theta and the embedding scale positive and finite, a file
/// for the tokenizer. Returns a SpecError.
llvm::Error validateSpec(const ModelSpec &spec);

/// Floats of the KV cache, [layers][k|v][kv_head][position][head_dim], or
/// nothing when the product overflows (validateSpec rejects such specs).
std::optional<int64_t> kvCacheFloats(const ModelSpec &spec);

/// A value of an enum and its .tfm keyword. One table per enum serves the
/// printer and the parser, which offers the choices in the table's order.
template <typename E> struct EnumName {
  E value;
  const char *name;
};
llvm::ArrayRef<EnumName<PositionEncoding>> enumNames(PositionEncoding);
llvm::ArrayRef<EnumName<NormKind>> enumNames(NormKind);
llvm::ArrayRef<EnumName<Activation>> enumNames(Activation);
llvm::ArrayRef<EnumName<RopePairing>> enumNames(RopePairing);
llvm::ArrayRef<EnumName<CheckpointFormat>> enumNames(CheckpointFormat);
llvm::ArrayRef<EnumName<TokenizerKind>> enumNames(TokenizerKind);
llvm::ArrayRef<EnumName<SpecKey>> enumNames(SpecKey);
llvm::ArrayRef<EnumName<WeightStorage>> enumNames(WeightStorage);

/// The keyword of `k` (for printing), from its enumNames table.
template <typename E, typename = std::enable_if_t<std::is_enum_v<E>>>
const char *toString(E k) {
  for (const EnumName<E> &n : enumNames(E{}))
    if (n.value == k)
      return n.name;
  return "?";
}

} // namespace tfm

#endif // TFM_FRONTEND_MODELSPEC_H
