//===- Files.cpp - Opening the files the readers parse --------------------===//

#include "tfm/Formats/Files.h"

namespace tfm::formats {

llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
mapFile(const llvm::Twine &path) {
  // Not volatile: the mapping is read-only and the file should not change
  // while we read it.
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return readerError(path + ": cannot open: " + buffer.getError().message());
  return std::move(*buffer);
}

} // namespace tfm::formats
