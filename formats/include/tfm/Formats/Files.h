//===- Files.h - Opening the files the readers parse ------------*- C++ -*-===//
//
// Every reader of the formats library gets its bytes from mapFile: a file is
// memory-mapped read-only once and parsed in place, never copied.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FORMATS_FILES_H
#define TFM_FORMATS_FILES_H

#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>

namespace tfm::formats {

/// A reader error with a plain message (readers put the file and the byte
/// offset into the message themselves).
inline llvm::Error readerError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// Maps the file at `path` read-only. Anything but a regular file (after
/// symlinks) is an error: a FIFO, a device, a directory. Errors start with
/// the path.
llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
mapFile(const llvm::Twine &path);

} // namespace tfm::formats

#endif // TFM_FORMATS_FILES_H
