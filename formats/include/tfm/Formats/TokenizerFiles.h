//===- TokenizerFiles.h - Tokenizers from their files -----------*- C++ -*-===//
//
// Readers for llama2.c's tokenizer.bin, GPT-2's vocab.json + merges.txt and
// GGUF tokenizer metadata; each builds a tfm::rt::Tokenizer, whose
// serialized form is what tfmc embeds in an executable. loadTokenizer()
// tells the files apart by content. Every reader bounds-checks and names
// the byte offset of an error.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FORMATS_TOKENIZERFILES_H
#define TFM_FORMATS_TOKENIZERFILES_H

#include "tfm/runtime/Tokenizer.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>

namespace tfm::formats {

class GgufFile;

/// Reads llama2.c's tokenizer.bin: i32 max_token_length, then until end of
/// data per token f32 score, i32 byte length, bytes. Ids 0/1/2 are
/// <unk>/<s>/</s>; `<0xNN>` pieces are byte tokens. Errors carry byte offsets.
/// The format stores no token count, so a file cut at a token boundary looks
/// whole: pass the model's vocabulary size as `expectedVocabSize` (>= 0) to
/// have any other count rejected.
llvm::Expected<std::unique_ptr<rt::Tokenizer>>
loadLlama2cTokenizer(llvm::StringRef bytes, int64_t expectedVocabSize = -1);

/// Reads a SentencePiece `tokenizer.model` (the ModelProto protobuf): the
/// pieces with their scores and types, BOS/EOS from trainer_spec. Only
/// Llama-style models are accepted (model_type BPE, identity normaliser,
/// add_dummy_prefix, whitespace kept); others are rejected with the setting
/// and its byte offset.
llvm::Expected<std::unique_ptr<rt::Tokenizer>>
loadSentencePieceModel(llvm::StringRef bytes);

/// Builds a GPT-2 tokenizer from the texts of vocab.json and merges.txt.
llvm::Expected<std::unique_ptr<rt::Tokenizer>>
loadGpt2Tokenizer(llvm::StringRef vocabJson, llvm::StringRef mergesTxt);

/// Builds a tokenizer from GGUF metadata (`tokenizer.ggml.*`, model `llama`
/// or `gpt2`).
llvm::Expected<std::unique_ptr<rt::Tokenizer>>
loadTokenizerFromGguf(const GgufFile &gguf);

/// The one entry point for tools: detects the format of `path` by content —
/// a GGUF file, a serialized tokenizer ("TFMTOK"), a SentencePiece
/// tokenizer.model (protobuf), a GPT-2 vocab.json (with merges.txt beside
/// it), a directory holding vocab.json + merges.txt, tokenizer.bin or
/// tokenizer.model, or else a llama2.c tokenizer.bin. Errors start with the
/// path.
llvm::Expected<std::unique_ptr<rt::Tokenizer>>
loadTokenizer(llvm::StringRef path);

/// A token's piece made printable on one line, as the tools print pieces:
/// backslash, newline, tab and CR escaped C-style, other control bytes as
/// \xNN.
std::string escapePiece(llvm::StringRef piece);

} // namespace tfm::formats

#endif // TFM_FORMATS_TOKENIZERFILES_H
