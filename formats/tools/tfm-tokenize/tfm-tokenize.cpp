//===- tfm-tokenize.cpp - Encode and decode text with a tokenizer ---------===//
//
// tfm-tokenize --tokenizer FILE [--no-bos] [--pieces] TEXT
// tfm-tokenize --tokenizer FILE --decode ID...
// tfm-tokenize --tokenizer FILE --pieces            (the whole vocabulary)
// tfm-tokenize --tokenizer FILE --serialize OUT     (tfmc's embedded form)
//
// FILE is anything loadTokenizer() accepts. TEXT "-" reads standard input.
// Exit codes: 0 success, 1 a file could not be read, 2 bad usage.
//
//===----------------------------------------------------------------------===//

#include "tfm/Formats/TokenizerFiles.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace tfm::rt;

namespace {

const char *const kUsage =
    "usage: tfm-tokenize --tokenizer FILE [--no-bos] [--pieces] TEXT\n"
    "       tfm-tokenize --tokenizer FILE --decode ID...\n"
    "       tfm-tokenize --tokenizer FILE --pieces\n"
    "       tfm-tokenize --tokenizer FILE --serialize OUT\n"
    "\n"
    "  --tokenizer FILE  llama2.c tokenizer.bin, SentencePiece\n"
    "                    tokenizer.model, .gguf, GPT-2 vocab.json\n"
    "                    (merges.txt beside it), a directory holding one,\n"
    "                    or a serialised tokenizer (told apart by content)\n"
    "  --bos, --no-bos   start the encoding with BOS or not (default: the\n"
    "                    tokenizer's convention: yes for SentencePiece,\n"
    "                    no for GPT-2)\n"
    "  --pieces          print 'id<TAB>piece' per line instead of ids\n"
    "                    (without TEXT: the whole vocabulary)\n"
    "  --decode ID...    print the text of the token ids\n"
    "  --serialize OUT   write the tokenizer in tfmc's binary form\n"
    "  TEXT              the text to encode; '-' reads standard input\n";

/// A bad command line: the message and a pointer to --help, not the whole
/// usage (it buried the message).
int usageError(const std::string &message) {
  fmt::print(stderr,
             "tfm-tokenize: error: {}\n(tfm-tokenize --help shows the "
             "usage)\n",
             message);
  return 2;
}

bool parseId(const char *s, int32_t &id) {
  errno = 0;
  char *end = nullptr;
  long long v = std::strtoll(s, &end, 10);
  if (errno || end == s || *end != '\0' || v < INT32_MIN || v > INT32_MAX)
    return false;
  id = int32_t(v);
  return true;
}

} // namespace

int main(int argc, char **argv) {
  std::string tokenizerPath, serializePath, text;
  int bosChoice = -1; // -1: the tokenizer's default.
  bool pieces = false, decode = false;
  std::vector<const char *> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--tokenizer" || arg == "--serialize") {
      if (i + 1 >= argc)
        return usageError(arg + " needs a value");
      (arg == "--tokenizer" ? tokenizerPath : serializePath) = argv[++i];
    } else if (arg == "--no-bos") {
      bosChoice = 0;
    } else if (arg == "--bos") {
      bosChoice = 1;
    } else if (arg == "--pieces") {
      pieces = true;
    } else if (arg == "--decode") {
      decode = true;
    } else if (arg == "-h" || arg == "--help") {
      fmt::print("{}", kUsage);
      return 0;
    } else if (arg == "--") {
      for (++i; i < argc; ++i)
        positional.push_back(argv[i]);
    } else if (arg.size() > 1 && arg[0] == '-' &&
               !(decode && arg.size() > 1 && arg[1] >= '0' && arg[1] <= '9')) {
      return usageError(fmt::format("unknown option '{}'", arg));
    } else {
      positional.push_back(argv[i]);
    }
  }
  if (tokenizerPath.empty())
    return usageError("--tokenizer FILE is required");
  if (decode && (pieces || !serializePath.empty()))
    return usageError("--decode cannot be combined with --pieces or "
                      "--serialize");
  if (decode && positional.empty())
    return usageError("--decode needs at least one token id");
  if (!decode && positional.size() > 1)
    return usageError(fmt::format("expected one TEXT argument, got {} (quote "
                                  "the text)",
                                  positional.size()));
  if (!serializePath.empty() && !positional.empty())
    return usageError("--serialize takes no TEXT");

  auto loaded = tfm::formats::loadTokenizer(tokenizerPath);
  if (!loaded) {
    fmt::print(stderr, "tfm-tokenize: error: {}\n",
               llvm::toString(loaded.takeError()));
    return 1;
  }
  std::unique_ptr<Tokenizer> tok = std::move(*loaded);

  if (!serializePath.empty()) {
    std::vector<uint8_t> bytes = tok->serialize();
    FILE *f = std::fopen(serializePath.c_str(), "wb");
    bool ok =
        f && std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    if (f)
      ok &= std::fclose(f) == 0;
    if (!ok) {
      fmt::print(stderr, "tfm-tokenize: error: {}: cannot write: {}\n",
                 serializePath, std::strerror(errno));
      return 1;
    }
    return 0;
  }

  if (decode) {
    std::vector<int32_t> ids;
    for (const char *s : positional) {
      int32_t id;
      if (!parseId(s, id))
        return usageError(fmt::format("'{}' is not a token id", s));
      if (id < 0 || id >= tok->vocabSize())
        return usageError(fmt::format("token id {} is outside the vocabulary "
                                      "(0..{})",
                                      id, tok->vocabSize() - 1));
      ids.push_back(id);
    }
    fmt::print("{}\n", tok->decode(ids));
    return 0;
  }

  if (positional.empty()) {
    if (!pieces)
      return usageError("missing TEXT");
    for (int32_t id = 0; id < tok->vocabSize(); ++id)
      fmt::print("{}\t{}\n", id, tfm::formats::escapePiece(tok->piece(id)));
    return 0;
  }
  if (std::string(positional[0]) == "-") {
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), stdin)) > 0)
      text.append(buf, n);
  } else {
    text = positional[0];
  }

  bool addBos = bosChoice < 0 ? tok->getAddBosByDefault() : bosChoice == 1;
  std::vector<int32_t> ids = tok->encode(text, addBos);
  if (pieces) {
    for (int32_t id : ids)
      fmt::print("{}\t{}\n", id, tfm::formats::escapePiece(tok->piece(id)));
    return 0;
  }
  std::string line;
  for (size_t i = 0; i < ids.size(); ++i)
    line += (i ? " " : "") + std::to_string(ids[i]);
  fmt::print("{}\n", line);
  return 0;
}
