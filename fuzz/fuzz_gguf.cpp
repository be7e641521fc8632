//===- fuzz_gguf.cpp - The GGUF parser and GGUF tokenizer reader ----------===//
//
// Input: the bytes of a GGUF file, parsed in memory (GgufFile::parse). Every
// accessor is called on every key, every tensor's data range is checked to
// lie in the input, and the tokenizer is built from the metadata when there
// is one. (Tensor conversion is exercised through the checkpoint reader by
// fuzz_gguf_import.)
//
//===----------------------------------------------------------------------===//

#include "FuzzTokenizer.h"

#include "tfm/Formats/Gguf.h"
#include "tfm/Formats/TokenizerFiles.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace tfm::formats;
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  auto file = GgufFile::parse(bytes);
  if (!file) {
    llvm::consumeError(file.takeError());
    return 0;
  }
  for (const GgufKV &kv : file->metadata()) {
    if (file->find(kv.key) == nullptr)
      tfm::fuzz::fail("find() misses a listed key", kv.key.str());
    (void)file->getString(kv.key);
    (void)file->getInt(kv.key);
    (void)file->getUInt(kv.key);
    (void)file->getFloat(kv.key);
    (void)file->getBool(kv.key);
    (void)file->getStringArray(kv.key);
    (void)file->getFloatArray(kv.key);
    (void)file->getIntArray(kv.key);
  }
  for (const GgufTensor &t : file->getTensors()) {
    if (t.offset > size || t.size > size - t.offset)
      tfm::fuzz::fail("tensor data outside the file", t.name.str());
    if (file->findTensor(t.name) == nullptr)
      tfm::fuzz::fail("findTensor() misses a listed tensor", t.name.str());
  }
  if (auto tok = loadTokenizerFromGguf(*file))
    tfm::fuzz::exerciseTokenizer(**tok);
  else
    llvm::consumeError(tok.takeError());
  return 0;
}
