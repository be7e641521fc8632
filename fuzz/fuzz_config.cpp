//===- fuzz_config.cpp - config.json of a Hugging Face directory ----------===//
//
// Input: the bytes of config.json. model.safetensors beside it holds one
// small f32 tensor, so the safetensors reader always succeeds and every
// mutation reaches the importer's config.json checks (types, ranges, limits,
// architecture defaults), which fuzz_safetensors reaches only when its
// mutated safetensors half still parses.
//
//===----------------------------------------------------------------------===//

#include "FuzzCheckpoint.h"
#include "FuzzUtil.h"

#include <cstring>

namespace {
/// A valid safetensors file: one f32 tensor "x" of shape [1].
std::string tinySafetensors() {
  const std::string header =
      R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  std::string file(8, '\0');
  uint64_t n = header.size(); // Little-endian length prefix.
  for (int i = 0; i < 8; ++i)
    file[i] = char((n >> (8 * i)) & 0xff);
  return file + header + std::string(4, '\0');
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace tfm;
  static const std::string model = tinySafetensors();
  fuzz::writeScratch(
      "config.json",
      std::string_view(reinterpret_cast<const char *>(data), size));
  std::string path = fuzz::writeScratch("model.safetensors", model);
  fuzz::exerciseCheckpoint(path, formats::Checkpoint::Format::Safetensors);
  return 0;
}
