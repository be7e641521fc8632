//===- Llama2c.cpp - Reader for llama2.c checkpoints ----------------------===//
//
// Format (karpathy/llama2.c run.c, legacy version 0): a header of 7 int32
// (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a
// negative vocab_size means the classifier is not shared with the token
// embedding), then fp32 arrays in this order: token_embedding_table [V, D],
// rms_att_weight [L, D], wq [L, D, D], wk [L, KV, D], wv [L, KV, D],
// wo [L, D, D], rms_ffn_weight [L, D], w1 [L, F, D], w2 [L, D, F],
// w3 [L, F, D], rms_final_weight [D], freq_cis_real and freq_cis_imag
// [seq_len * head_size / 2 each, unused], wcls [V, D] when not shared.
// Matrices are [out, in] row-major. The file size must match exactly.
//
// Version 1 (export.py --version 1): u32 magic 0x616b3432 ("ak42"), i32
// version 1, the same 7 int32 (vocab_size positive), u8 shared_classifier at
// byte 36, zeros to byte 256; then fp32 attn norms [L, D], ffn norms [L, D],
// final norm [D], token_embedding_table [V, D], wq, wk, wv, wo, w1, w2, w3
// (each [L, ...]) and wcls [V, D] when not shared; no freq_cis. Version 2
// (int8 Q8_0) is refused by its version number.
//
//===----------------------------------------------------------------------===//

#include "tfm/Formats/Checkpoint.h"
#include "tfm/Formats/Files.h"

#include "llvm/Support/Endian.h"

#include <climits>

using llvm::Error;

namespace tfm::formats {

Error Checkpoint::parseLlama2c() {
  const uint64_t size = bytes().size();
  // Version 1+ files start with the magic "ak42" as a little-endian u32
  // (bytes "24ka") and an i32 version; legacy files start with dim.
  uint64_t hdr = 0, dataStart = 28;
  int32_t version = 0;
  bool sharedFlag = true;
  if (size >= 4 &&
      llvm::support::endian::read32le(bytes().data()) == 0x616b3432) {
    if (size < 8)
      return readerError("file truncated: the llama2.c version needs bytes 4 "
                         "to 8, the file has " +
                         llvm::Twine(size));
    version = static_cast<int32_t>(
        llvm::support::endian::read32le(bytes().data() + 4));
    if (version == 2)
      return readerError(
          "llama2.c version 2 checkpoint (magic 'ak42' at byte 0, version 2 "
          "at byte 4: int8 Q8_0 weights) is not supported: tfmc reads the "
          "legacy and version 1 (float32) exports (export.py --version 1)");
    if (version != 1)
      return readerError("llama2.c checkpoint (magic 'ak42' at byte 0) has "
                         "version " +
                         llvm::Twine(version) +
                         " at byte 4; tfmc reads the legacy export and "
                         "version 1");
    if (size < 256)
      return readerError("file truncated: the llama2.c version 1 header "
                         "needs 256 bytes, the file has " +
                         llvm::Twine(size));
    hdr = 8;
    dataStart = 256;
    uint8_t flag = uint8_t(bytes()[36]);
    if (flag > 1)
      return readerError("llama2.c version 1 header: shared_classifier at "
                         "byte 36 is " +
                         llvm::Twine(flag) + ", expected 0 or 1");
    sharedFlag = flag == 1;
  }
  if (size < 28)
    return readerError(
        "file truncated: the llama2.c header needs 28 bytes, the file "
        "has " +
        llvm::Twine(size));
  int32_t h[7];
  for (int k = 0; k < 7; ++k)
    h[k] = static_cast<int32_t>(
        llvm::support::endian::read32le(bytes().data() + hdr + 4 * k));
  static const char *const kNames[7] = {"dim",     "hidden_dim", "n_layers",
                                        "n_heads", "n_kv_heads", "vocab_size",
                                        "seq_len"};
  for (int k = 0; k < 7; ++k) {
    // Legacy files mark a separate classifier with a negative vocab_size.
    bool bad =
        k == 5 && version == 0 ? (h[k] == 0 || h[k] == INT32_MIN) : h[k] <= 0;
    if (bad)
      return readerError("llama2.c header field " + llvm::Twine(kNames[k]) +
                         " at byte " + llvm::Twine(hdr + 4 * k) + " is " +
                         llvm::Twine(h[k]) +
                         (k == 5 && version == 0 ? ", expected non-zero"
                                                 : ", expected positive"));
  }
  Llama2cHeader &parsed = header;
  parsed.dim = h[0];
  parsed.hiddenDim = h[1];
  parsed.numLayers = h[2];
  parsed.numHeads = h[3];
  parsed.numKvHeads = h[4];
  parsed.sharedClassifier = version == 0 ? h[5] > 0 : sharedFlag;
  parsed.version = version;
  parsed.vocabSize = h[5] > 0 ? h[5] : -h[5];
  parsed.seqLen = h[6];
  if (parsed.dim % parsed.numHeads != 0)
    return readerError(
        "llama2.c header field n_heads at byte " + llvm::Twine(hdr + 12) +
        " (" + llvm::Twine(parsed.numHeads) + ") does not divide dim (" +
        llvm::Twine(parsed.dim) + ")");
  if (parsed.numHeads % parsed.numKvHeads != 0)
    return readerError(
        "llama2.c header field n_kv_heads at byte " + llvm::Twine(hdr + 16) +
        " (" + llvm::Twine(parsed.numKvHeads) + ") does not divide n_heads (" +
        llvm::Twine(parsed.numHeads) + ")");
  const int64_t d = parsed.dim, f = parsed.hiddenDim, v = parsed.vocabSize;
  const int64_t hs = d / parsed.numHeads;
  const int64_t kvd = hs * parsed.numKvHeads;

  // The fields in file order; `layers` > 0 marks a per-layer field stored
  // as [n_layers, ...]. Sizes are computed in 128 bits so that absurd
  // headers cannot wrap around, and before anything is materialised.
  struct Field {
    std::string name; ///< llama2.c's field name (".{i}": per layer); "": skip.
    std::vector<int64_t> shape;
    int64_t layers;
  };
  const int64_t l = parsed.numLayers;
  std::vector<Field> fields;
  if (version == 0) {
    fields = {
        {"token_embedding_table", {v, d}, 0},
        {"rms_att_weight.{i}", {d}, l},
        {"wq.{i}", {d, d}, l},
        {"wk.{i}", {kvd, d}, l},
        {"wv.{i}", {kvd, d}, l},
        {"wo.{i}", {d, d}, l},
        {"rms_ffn_weight.{i}", {d}, l},
        {"w1.{i}", {f, d}, l},
        {"w2.{i}", {d, f}, l},
        {"w3.{i}", {f, d}, l},
        {"rms_final_weight", {d}, 0},
        {"", {parsed.seqLen, hs / 2}, 0}, // freq_cis_real, unused
        {"", {parsed.seqLen, hs / 2}, 0}, // freq_cis_imag, unused
    };
  } else {
    // export.py version1_export: norms first, no freq_cis.
    fields = {
        {"rms_att_weight.{i}", {d}, l}, {"rms_ffn_weight.{i}", {d}, l},
        {"rms_final_weight", {d}, 0},   {"token_embedding_table", {v, d}, 0},
        {"wq.{i}", {d, d}, l},          {"wk.{i}", {kvd, d}, l},
        {"wv.{i}", {kvd, d}, l},        {"wo.{i}", {d, d}, l},
        {"w1.{i}", {f, d}, l},          {"w2.{i}", {d, f}, l},
        {"w3.{i}", {f, d}, l},
    };
  }
  if (!parsed.sharedClassifier)
    fields.push_back({"wcls", {v, d}, 0});
  using U128 = unsigned __int128;
  auto bytesOf = [](const Field &fl) {
    U128 n = 4;
    for (int64_t x : fl.shape)
      n *= static_cast<uint64_t>(x);
    return n;
  };
  U128 total = dataStart;
  for (const Field &fl : fields)
    total += bytesOf(fl) * static_cast<uint64_t>(fl.layers ? fl.layers : 1);
  auto str128 = [](U128 x) {
    return x > UINT64_MAX ? std::string("more than 2^64")
                          : std::to_string(static_cast<uint64_t>(x));
  };
  auto headerText = [&] {
    return "dim " + std::to_string(parsed.dim) + ", hidden_dim " +
           std::to_string(parsed.hiddenDim) + ", n_layers " +
           std::to_string(parsed.numLayers) + ", n_heads " +
           std::to_string(parsed.numHeads) + ", n_kv_heads " +
           std::to_string(parsed.numKvHeads) + ", vocab_size " +
           std::to_string(h[5]) + ", seq_len " + std::to_string(parsed.seqLen) +
           (version ? std::string(", version 1, shared_classifier ") +
                          (sharedFlag ? "1" : "0")
                    : std::string());
  };
  auto nameOf = [](const Field &fl, int64_t layer) {
    if (fl.name.empty())
      return std::string("freq_cis");
    std::string n = fl.name;
    size_t at = n.find("{i}");
    if (at != std::string::npos)
      n.replace(at, 3, std::to_string(layer));
    return n;
  };
  if (total < size)
    return readerError("file has " + llvm::Twine(size) +
                       " bytes but the header (" + headerText() + ") implies " +
                       str128(total) + ": " +
                       llvm::Twine(size - static_cast<uint64_t>(total)) +
                       " unexpected bytes from byte " + str128(total));
  if (total > size) {
    // Name the first tensor that runs past the end.
    U128 pos = dataStart;
    for (const Field &fl : fields) {
      U128 n = bytesOf(fl);
      U128 count = fl.layers ? static_cast<uint64_t>(fl.layers) : 1;
      if (pos + n * count <= size) {
        pos += n * count;
        continue;
      }
      // First layer whose tensor ends past the file.
      U128 layer = size > pos ? (static_cast<U128>(size) - pos) / n : 0;
      U128 at = pos + layer * n;
      return readerError(
          "file truncated: " + nameOf(fl, static_cast<int64_t>(layer)) + " " +
          shapeString(fl.shape) + " starts at byte " + str128(at) +
          " and needs " + str128(n) + " bytes, but the file has " +
          llvm::Twine(size) + " bytes (the header (" + headerText() +
          ") implies " + str128(total) + ")");
    }
  }
  // The sizes match the file, so every count below is small.
  uint64_t pos = dataStart;
  for (const Field &fl : fields) {
    uint64_t n = static_cast<uint64_t>(bytesOf(fl));
    for (int64_t layer = 0; layer < (fl.layers ? fl.layers : 1); ++layer) {
      if (!fl.name.empty()) {
        TensorInfo t;
        t.name = nameOf(fl, layer);
        t.dtype = DType::F32;
        t.shape = fl.shape;
        t.offset = pos;
        t.size = n;
        if (Error e = addTensor(std::move(t)))
          return e;
      }
      pos += n;
    }
  }
  return Error::success();
}

} // namespace tfm::formats
