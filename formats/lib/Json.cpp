//===- Json.cpp - JSON with its nesting bounded ---------------------------===//

#include "tfm/Formats/Json.h"
#include "tfm/Formats/Files.h"

namespace tfm::formats {

llvm::Expected<llvm::json::Value> parseJson(llvm::StringRef text,
                                            uint64_t offset) {
  // Brackets count outside strings only; a backslash escapes the next
  // character inside a string. Malformed text is left to llvm::json.
  unsigned depth = 0;
  bool inString = false;
  for (size_t at = 0; at < text.size(); ++at) {
    char c = text[at];
    if (inString) {
      if (c == '\\')
        ++at;
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth)
        return readerError("JSON nested deeper than " +
                           llvm::Twine(kMaxJsonDepth) + " levels at byte " +
                           llvm::Twine(offset + at));
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return llvm::json::parse(text);
}

} // namespace tfm::formats
