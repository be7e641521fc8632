//===- JsonLite.h - Minimal JSON reading for vocab.json ---------*- C++ -*-===//
//
// Just enough JSON for GPT-2's vocab.json: one object mapping strings to
// integers. Not a general JSON library on purpose; the runtime needs no more.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_RUNTIME_JSONLITE_H
#define TFM_RUNTIME_JSONLITE_H

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tfm::rt {

/// Parses `{"key": integer, ...}` with full string escapes (\uXXXX with
/// surrogate pairs). On error returns false with `error` naming the byte
/// offset.
bool parseJsonStringIntObject(std::string_view json,
                              std::vector<std::pair<std::string, int64_t>> &out,
                              std::string &error);

} // namespace tfm::rt

#endif // TFM_RUNTIME_JSONLITE_H
