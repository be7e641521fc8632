//===- Npy.cpp - NumPy .npy arrays of float32 -----------------------------===//

#include "tfm/Formats/Npy.h"
#include "tfm/Formats/Checkpoint.h"
#include "tfm/Formats/Files.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Endian.h"

#include <cstring>
#include <optional>

namespace tfm::formats {

namespace {

/// The header dict, parsed from its Python literal.
class HeaderParser {
public:
  HeaderParser(llvm::StringRef text, uint64_t base, llvm::StringRef name)
      : text(text), base(base), name(name) {}

  llvm::Error parse(std::string &descr, bool &fortran,
                    std::vector<int64_t> &shape, bool &haveShape) {
    skipSpace();
    if (!eat('{'))
      return error("the header is not a dict");
    bool haveDescr = false, haveOrder = false;
    for (;;) {
      skipSpace();
      if (eat('}'))
        break;
      std::string key;
      if (llvm::Error err = string(key))
        return err;
      skipSpace();
      if (!eat(':'))
        return error("expected ':' after '" + key + "'");
      skipSpace();
      if (key == "descr") {
        if (llvm::Error err = string(descr))
          return err;
        haveDescr = true;
      } else if (key == "fortran_order") {
        if (text.substr(pos).starts_with("True"))
          fortran = true, pos += 4;
        else if (text.substr(pos).starts_with("False"))
          fortran = false, pos += 5;
        else
          return error("fortran_order is neither True nor False");
        haveOrder = true;
      } else if (key == "shape") {
        if (llvm::Error err = tuple(shape))
          return err;
        haveShape = true;
      } else {
        return error("unknown header key '" + key + "'");
      }
      skipSpace();
      if (eat(','))
        continue;
      skipSpace();
      if (eat('}'))
        break;
      return error("expected ',' or '}'");
    }
    if (!haveDescr || !haveOrder || !haveShape)
      return error("the header lacks " + std::string(!haveDescr ? "'descr'"
                                                     : !haveOrder
                                                         ? "'fortran_order'"
                                                         : "'shape'"));
    return llvm::Error::success();
  }

private:
  llvm::Error error(const llvm::Twine &message) {
    return readerError(name + ": byte " + llvm::Twine(base + pos) +
                       ": not a .npy header: " + message);
  }
  void skipSpace() {
    while (pos < text.size() && llvm::isSpace(text[pos]))
      ++pos;
  }
  bool eat(char c) {
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  llvm::Error string(std::string &out) {
    if (pos >= text.size() || (text[pos] != '\'' && text[pos] != '"'))
      return error("expected a quoted string");
    char quote = text[pos++];
    size_t end = text.find(quote, pos);
    if (end == llvm::StringRef::npos)
      return error("unterminated string");
    out = text.slice(pos, end).str();
    pos = end + 1;
    return llvm::Error::success();
  }
  llvm::Error tuple(std::vector<int64_t> &out) {
    if (!eat('('))
      return error("shape is not a tuple");
    for (;;) {
      skipSpace();
      if (eat(')'))
        return llvm::Error::success();
      size_t start = pos;
      while (pos < text.size() && llvm::isDigit(text[pos]))
        ++pos;
      int64_t dim;
      if (pos == start || text.slice(start, pos).getAsInteger(10, dim) ||
          dim > (int64_t(1) << 40))
        return error("shape holds something other than a size");
      out.push_back(dim);
      skipSpace();
      if (eat(','))
        continue;
      skipSpace();
      if (eat(')'))
        return llvm::Error::success();
      return error("expected ',' or ')' in the shape");
    }
  }

  llvm::StringRef text;
  uint64_t base;
  llvm::StringRef name;
  size_t pos = 0;
};

} // namespace

llvm::Expected<NpyArray> parseNpyF32(llvm::StringRef bytes,
                                     llvm::StringRef name) {
  static const char magic[] = "\x93NUMPY";
  if (bytes.size() < 10 || !bytes.starts_with(llvm::StringRef(magic, 6)))
    return readerError(name + ": byte 0: not a .npy file (no \\x93NUMPY "
                              "magic)");
  uint8_t major = uint8_t(bytes[6]);
  uint64_t headerLength, headerStart;
  if (major == 1) {
    headerLength = llvm::support::endian::read16le(bytes.data() + 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return readerError(name + ": byte 8: the file ends inside the header "
                                "length");
    headerLength = llvm::support::endian::read32le(bytes.data() + 8);
    headerStart = 12;
  } else {
    return readerError(name + ": byte 6: .npy version " + llvm::Twine(major) +
                       " is not 1, 2 or 3");
  }
  if (headerStart + headerLength > bytes.size())
    return readerError(name + ": byte " + llvm::Twine(headerStart) +
                       ": the header is " + llvm::Twine(headerLength) +
                       " bytes, but the file has only " +
                       llvm::Twine(bytes.size() - headerStart) + " after it");
  std::string descr;
  bool fortran = false, haveShape = false;
  NpyArray array;
  HeaderParser parser(bytes.substr(headerStart, headerLength), headerStart,
                      name);
  if (llvm::Error err = parser.parse(descr, fortran, array.shape, haveShape))
    return err;
  if (descr != "<f4")
    return readerError(name + ": byte " + llvm::Twine(headerStart) +
                       ": dtype '" + descr +
                       "' is not little-endian float32 ('<f4')");
  if (fortran)
    return readerError(name + ": byte " + llvm::Twine(headerStart) +
                       ": the array is in Fortran order; C order expected");
  uint64_t count = 1;
  for (int64_t d : array.shape)
    if (__builtin_mul_overflow(count, uint64_t(d), &count) ||
        count > (uint64_t(1) << 40))
      return readerError(name + ": byte " + llvm::Twine(headerStart) +
                         ": shape " + shapeString(array.shape) +
                         " is too large");
  uint64_t dataStart = headerStart + headerLength;
  uint64_t dataBytes = bytes.size() - dataStart;
  if (dataBytes != count * 4)
    return readerError(
        name + ": byte " + llvm::Twine(dataStart) + ": shape " +
        shapeString(array.shape) + " needs " + llvm::Twine(count * 4) +
        " bytes of float32, but the file has " + llvm::Twine(dataBytes) +
        (dataBytes < count * 4 ? " (truncated)" : " (trailing bytes)"));
  array.data.resize(size_t(count));
  if (count)
    std::memcpy(array.data.data(), bytes.data() + dataStart, count * 4);
  return array;
}

llvm::Expected<NpyArray> readNpyF32(llvm::StringRef path) {
  auto buffer = mapFile(path);
  if (!buffer)
    return buffer.takeError();
  return parseNpyF32((*buffer)->getBuffer(), path);
}

} // namespace tfm::formats
