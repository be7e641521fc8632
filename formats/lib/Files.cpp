//===- Files.cpp - Opening the files the readers parse --------------------===//

#include "tfm/Formats/Files.h"

#include "llvm/Support/FileSystem.h"

namespace tfm::formats {

namespace {

const char *describe(llvm::sys::fs::file_type type) {
  using llvm::sys::fs::file_type;
  switch (type) {
  case file_type::directory_file:
    return "a directory";
  case file_type::character_file:
    return "a character device";
  case file_type::block_file:
    return "a block device";
  case file_type::fifo_file:
    return "a FIFO";
  case file_type::socket_file:
    return "a socket";
  default:
    return "of an unknown type";
  }
}

} // namespace

llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
mapFile(const llvm::Twine &path) {
  // The type comes first: opening a FIFO blocks until a writer comes, and a
  // device has no size, so /dev/zero would be read until memory runs out.
  llvm::sys::fs::file_status status;
  if (std::error_code ec = llvm::sys::fs::status(path, status))
    return readerError(path + ": cannot open: " + ec.message());
  if (status.type() != llvm::sys::fs::file_type::regular_file)
    return readerError(path + ": not a regular file (" +
                       describe(status.type()) + ")");
  // Not volatile: the mapping is read-only and the file should not change
  // while we read it.
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return readerError(path + ": cannot open: " + buffer.getError().message());
  return std::move(*buffer);
}

} // namespace tfm::formats
