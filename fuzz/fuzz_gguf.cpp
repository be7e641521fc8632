//===- fuzz_gguf.cpp - The runtime's GGUF parser and GGUF tokenizer loader ===//
//
// Input: the bytes of a GGUF file, parsed in memory (GgufFile::parse). Every
// accessor is called on every key, every convertible tensor is converted to
// f32, and the tokenizer is built from the metadata when there is one.
//
//===----------------------------------------------------------------------===//

#include "FuzzTokenizer.h"

#include "tfm/runtime/Gguf.h"

#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace tfm::rt;
  GgufFile file;
  std::string error;
  if (!file.parse(data, size, error))
    return 0;
  std::vector<std::string_view> strs;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  for (const GgufKV &kv : file.metadata()) {
    if (file.find(kv.key) == nullptr)
      tfm::fuzz::fail("find() misses a listed key", std::string(kv.key));
    (void)file.getString(kv.key);
    (void)file.getInt(kv.key);
    (void)file.getUInt(kv.key);
    (void)file.getFloat(kv.key);
    (void)file.getBool(kv.key);
    (void)file.getStringArray(kv.key, strs);
    (void)file.getFloatArray(kv.key, floats);
    (void)file.getIntArray(kv.key, ints);
  }
  std::vector<float> out;
  for (const GgufTensor &t : file.tensors()) {
    if (t.offset > file.size() || t.size > file.size() - t.offset)
      tfm::fuzz::fail("tensor data outside the file", std::string(t.name));
    if (file.findTensor(t.name) == nullptr)
      tfm::fuzz::fail("findTensor() misses a listed tensor",
                      std::string(t.name));
    if (t.numElements > (uint64_t(1) << 22))
      continue;
    auto type = static_cast<GgmlType>(t.type);
    if (type == GgmlType::Q8_0 && t.numElements % 32 != 0)
      continue;
    out.assign(t.numElements, 0.0f);
    (void)ggmlToF32(type, file.tensorData(t), t.numElements, out.data());
  }
  if (auto tok = loadTokenizerFromGguf(file, error))
    tfm::fuzz::exerciseTokenizer(*tok);
  return 0;
}
