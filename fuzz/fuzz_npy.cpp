//===- fuzz_npy.cpp - NumPy .npy reader (tfm-inspect attention) -----------===//
//
// Input: the bytes of a .npy file. A parsed array must hold exactly the
// elements its shape says.
//
//===----------------------------------------------------------------------===//

#include "tfm/Formats/Npy.h"

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto array = tfm::formats::parseNpyF32(
      llvm::StringRef(reinterpret_cast<const char *>(data), size), "fuzz.npy");
  if (!array) {
    llvm::consumeError(array.takeError());
    return 0;
  }
  uint64_t count = 1;
  for (int64_t d : array->shape)
    count *= uint64_t(d);
  if (count != array->data.size())
    std::abort(); // invariant: the data is what the shape says
  return 0;
}
