//===- ModelAbi.h - The C ABI between a compiled model and the runtime ----===//
//
// This is the one contract between code that tfmc generates and libtfmrt.
// It is plain C so a compiled model can also be loaded by other programs.
//
// A compiled model object defines exactly one symbol of its own that the
// runtime looks up: `tfm_model` (a TfmModelInfo; `PREFIX_model` when tfmc
// is given --name PREFIX, which renames every tfm_ symbol the object
// defines). Everything else (entry points, weights, tokenizer) is reached
// through it.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_RUNTIME_MODELABI_H
#define TFM_RUNTIME_MODELABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TFM_ABI_VERSION 7

/// Marks the C API: libtfmrt is compiled with hidden visibility, so a shared
/// library built by tfmc --emit=shared exports the model and these only.
#if defined(__GNUC__)
#define TFM_API __attribute__((visibility("default")))
#else
#define TFM_API
#endif

/// MLIR's ranked memref descriptor (the layout `llvm.emit_c_interface`
/// functions take a pointer to). Rank-specific because C has no templates.
#define TFM_DEFINE_MEMREF(NAME, T, RANK)                                       \
  typedef struct NAME {                                                        \
    T *allocated;                                                              \
    T *aligned;                                                                \
    int64_t offset;                                                            \
    int64_t sizes[RANK];                                                       \
    int64_t strides[RANK];                                                     \
  } NAME;
TFM_DEFINE_MEMREF(TfmMemRefI8x1, int8_t, 1)
TFM_DEFINE_MEMREF(TfmMemRefI8x2, int8_t, 2)
TFM_DEFINE_MEMREF(TfmMemRefF16x2, uint16_t, 2) /* f16 bit patterns */
TFM_DEFINE_MEMREF(TfmMemRefAnyx2, void, 2)     /* any element type */
TFM_DEFINE_MEMREF(TfmMemRefI32x1, int32_t, 1)
TFM_DEFINE_MEMREF(TfmMemRefF32x1, float, 1)
TFM_DEFINE_MEMREF(TfmMemRefF32x2, float, 2)
TFM_DEFINE_MEMREF(TfmMemRefF32x3, float, 3)
TFM_DEFINE_MEMREF(TfmMemRefF32x4, float, 4)
#undef TFM_DEFINE_MEMREF

/// Signature of the generated entry points (prefill, prefill_last, decode).
///   weights: the packed f32 weights blob (TfmModelInfo::weights_bytes bytes).
///   tokens:  T token ids (1 <= T <= prefill_chunk; the decode entry point
///            takes T == 1).
///   pos:     position of tokens[0]; the KV cache holds positions [0, pos).
///   kv_cache: n_layers * 2 * n_kv_heads * C * head_dim floats for a
///            run-time context C in [pos + T, context_length] (ABI 5: the
///            code takes C from the size, so a session allocates the cache
///            for the context it uses), layout
///            [layer][k|v][kv_head][position][head_dim] (row-major, positions
///            0 .. C-1 of each head contiguous).
///   logits:  T x vocab_size floats, row per token, written by the call
///            (prefill_last: 1 x vocab_size, the last token's row).
/// The call appends the T new positions to the KV cache.
typedef void (*TfmEntryFn)(TfmMemRefI8x1 *weights, TfmMemRefI32x1 *tokens,
                           int64_t pos, TfmMemRefF32x1 *kv_cache,
                           TfmMemRefF32x2 *logits);

/// Signature of the attention probe (tfmc --probes=attention): the prefill
/// entry point with one more output,
///   attention: [n_layers, n_heads, T, pos + T] floats, any strides with
///            the last one 1: row t of head h of layer l receives the
///            softmax probabilities of query pos + t over keys 0 .. pos + T
///            - 1 (zero beyond pos + t, causal).
/// It computes exactly what prefill computes (logits, KV cache appends), with
/// the attention unfused.
typedef void (*TfmProbeFn)(TfmMemRefI8x1 *weights, TfmMemRefI32x1 *tokens,
                           int64_t pos, TfmMemRefF32x1 *kv_cache,
                           TfmMemRefF32x2 *logits, TfmMemRefF32x4 *attention);

/// The weights stored in one encoding (ABI 7; TfmModelInfo::storages).
typedef struct TfmWeightStorage {
  const char *encoding; ///< Its name: "f32", "f16", "q8_0", "q4_K", ...
  int64_t weights;      ///< Weights (tensors) stored so.
  int64_t values;       ///< Their values.
  int64_t data_bytes;   ///< Their data bytes (GGUF's bytes per block).
} TfmWeightStorage;

/// Everything the runtime needs to know about a compiled model.
typedef struct TfmModelInfo {
  uint32_t abi_version; ///< TFM_ABI_VERSION at compile time.
  const char *name;     ///< Model name (from the description or file).
  const char *arch;     ///< "llama", "gpt2", ... for humans.
  int64_t vocab_size;
  int64_t context_length; ///< Maximum positions (KV cache length).
  int64_t dim;
  int64_t n_layers;
  int64_t n_heads;
  int64_t n_kv_heads;
  int64_t head_dim;
  int64_t kv_cache_floats; ///< n_layers * 2 * n_kv_heads * context_length *
                           ///< head_dim: the cache at the compiled maximum.
  int64_t weights_bytes;   ///< Size of the packed weights blob.
  const uint8_t
      *weights; ///< Embedded weights, or NULL when weights_file is used.
  const char *weights_file; ///< Sidecar file to mmap, or NULL (Session.h).
  const uint8_t
      *tokenizer; ///< Serialized tokenizer bytes (may be NULL: no tokenizer).
  int64_t tokenizer_bytes;
  TfmEntryFn prefill;         ///< T tokens, T in [1, prefill_chunk].
  TfmEntryFn decode;          ///< Exactly one token; specialised for T == 1.
  int64_t prefill_chunk;      ///< Most tokens per prefill call: its activation
                              ///< memory is sized for this many (tfmc
                              ///< --prefill-chunk); longer inputs are split.
  uint64_t spec_id;           ///< Hash of the architecture and blob layout.
  uint64_t weights_id;        ///< Hash of the blob's bytes; 0 if unknown
                              ///< (tfmc --weights=none).
  TfmEntryFn prefill_last;    ///< As prefill, but logits is 1 x vocab_size:
                              ///< the last token's row only (for callers
                              ///< that want no other row).
  TfmProbeFn probe_attention; ///< NULL unless compiled with
                              ///< --probes=attention.
  /* ABI 6: what the weights hold (the executable's --info). Data bytes are
     the stored values' bytes without the blob's alignment padding: 4 per f32
     value, GGUF's block bytes per block of an encoding (34 per q8_0 block of
     32 values: an f16 scale and 32 int8s). */
  int64_t weight_values;     ///< Values of all weights.
  int64_t weight_data_bytes; ///< Their data bytes.
  int64_t matrix_values;     ///< Values of the 2-D weights (linear layers,
                             ///< embedding tables).
  int64_t matrix_data_bytes; ///< Their data bytes.
  /* ABI 7: the same per encoding, one entry per encoding the blob holds,
     in the order of the encodings table (f32 first). */
  int64_t n_storages;
  const TfmWeightStorage *storages;
} TfmModelInfo;

/// A sidecar weights file is the blob (weights_bytes bytes) followed by this
/// 64-byte trailer, all little-endian. The runtime maps the file only if its
/// size is weights_bytes + sizeof(TfmWeightsTrailer), the magic is right and
/// the ids equal the model's (weights_id only when the model's is not 0):
/// a truncated, foreign or stale file is refused, never read as weights.
#define TFM_WEIGHTS_MAGIC "TFMWGHTS"
typedef struct TfmWeightsTrailer {
  char magic[8];          ///< TFM_WEIGHTS_MAGIC, no terminating NUL.
  uint32_t abi_version;   ///< TFM_ABI_VERSION of the writer.
  uint32_t trailer_bytes; ///< sizeof(TfmWeightsTrailer) == 64.
  uint64_t weights_bytes; ///< The blob's size (the file's minus 64).
  uint64_t spec_id;       ///< TfmModelInfo::spec_id of the compile.
  uint64_t weights_id;    ///< TfmModelInfo::weights_id of the compile.
  uint8_t reserved[24];   ///< Zero.
} TfmWeightsTrailer;

/// The generated code allocates its activation memory (one arena per call,
/// see tfm-plan-memory) through these, which libtfmrt defines (MLIR's
/// finalize-memref-to-llvm{use-generic-functions}). The generated code has no
/// error path, so an allocation that fails prints a message and exits the
/// process with status 1 instead of returning NULL.
void *_mlir_memref_to_llvm_alloc(uint64_t size);
void _mlir_memref_to_llvm_free(void *ptr);

#ifdef __cplusplus
}
#endif

#endif // TFM_RUNTIME_MODELABI_H
