//===- Json.h - JSON with its nesting bounded -------------------*- C++ -*-===//
//
// llvm::json::parse recurses once per nesting level, so a small file of
// brackets (70 KB, 35,000 levels) overflows the stack. Every JSON the
// readers parse (safetensors headers, config.json, vocab.json) goes through
// parseJson, which bounds the depth in one linear scan first.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FORMATS_JSON_H
#define TFM_FORMATS_JSON_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

namespace tfm::formats {

/// The deepest nesting of objects and arrays accepted: serde_json's default,
/// so the limit of the safetensors reference implementation.
constexpr unsigned kMaxJsonDepth = 128;

/// Parses `text`, which starts at byte `offset` of its file, as JSON.
/// Nesting deeper than kMaxJsonDepth is an error naming the file offset of
/// the first bracket too deep; other errors are llvm::json's, with line,
/// column and byte within `text`.
llvm::Expected<llvm::json::Value> parseJson(llvm::StringRef text,
                                            uint64_t offset = 0);

} // namespace tfm::formats

#endif // TFM_FORMATS_JSON_H
