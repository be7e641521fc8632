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

/// A file mapped as mapFile does, whose descriptor stays open while it is
/// mapped, for a reader that streams gigabytes out of it:
///   - currentSize() notices a file truncated underneath the mapping before
///     its pages are touched (a page past the new end raises SIGBUS);
///   - releasePages() drops pages already consumed from the process, so the
///     resident set does not grow with the file (they stay in the page cache
///     and fault back in if read again).
class MappedFile {
public:
  /// Opens and maps `path` (the same checks as mapFile).
  static llvm::Expected<MappedFile> open(const llvm::Twine &path);

  MappedFile(MappedFile &&other);
  MappedFile &operator=(MappedFile &&other);
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;
  ~MappedFile();

  llvm::StringRef bytes() const { return buffer->getBuffer(); }
  /// The file's size now (fstat of the open descriptor), which is less than
  /// bytes().size() if it was truncated since it was mapped.
  llvm::Expected<uint64_t> currentSize() const;
  /// Drops the whole pages of bytes [offset, offset + size) from the process
  /// (madvise MADV_DONTNEED; nothing for a small file read into memory).
  void releasePages(uint64_t offset, uint64_t size) const;

private:
  MappedFile() = default;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  int fd = -1;
};

} // namespace tfm::formats

#endif // TFM_FORMATS_FILES_H
