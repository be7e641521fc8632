//===- Files.cpp - Opening the files the readers parse --------------------===//

#include "tfm/Formats/Files.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/Process.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

/// The type comes first: opening a FIFO blocks until a writer comes, and a
/// device has no size, so /dev/zero would be read until memory runs out.
llvm::Error checkRegularFile(const llvm::Twine &path) {
  llvm::sys::fs::file_status status;
  if (std::error_code ec = llvm::sys::fs::status(path, status))
    return readerError(path + ": cannot open: " + ec.message());
  if (status.type() != llvm::sys::fs::file_type::regular_file)
    return readerError(path + ": not a regular file (" +
                       describe(status.type()) + ")");
  return llvm::Error::success();
}

} // namespace

llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
mapFile(const llvm::Twine &path) {
  if (llvm::Error err = checkRegularFile(path))
    return err;
  // Not volatile: the mapping is read-only and the file should not change
  // while we read it.
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return readerError(path + ": cannot open: " + buffer.getError().message());
  return std::move(*buffer);
}

llvm::Expected<MappedFile> MappedFile::open(const llvm::Twine &path) {
  if (llvm::Error err = checkRegularFile(path))
    return err;
  int fd;
  if (std::error_code ec = llvm::sys::fs::openFileForRead(path, fd))
    return readerError(path + ": cannot open: " + ec.message());
  MappedFile file;
  file.fd = fd;
  auto buffer = llvm::MemoryBuffer::getOpenFile(
      fd, path, /*FileSize=*/-1, /*RequiresNullTerminator=*/false);
  if (!buffer)
    return readerError(path + ": cannot open: " + buffer.getError().message());
  file.buffer = std::move(*buffer);
  return file;
}

MappedFile::MappedFile(MappedFile &&other)
    : buffer(std::move(other.buffer)), fd(other.fd) {
  other.fd = -1;
}

MappedFile &MappedFile::operator=(MappedFile &&other) {
  if (this != &other) {
    if (fd >= 0)
      ::close(fd);
    buffer = std::move(other.buffer);
    fd = other.fd;
    other.fd = -1;
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (fd >= 0)
    ::close(fd);
}

llvm::Expected<uint64_t> MappedFile::currentSize() const {
  struct stat st;
  if (::fstat(fd, &st) != 0)
    return readerError(buffer->getBufferIdentifier() +
                       ": cannot stat: " + std::strerror(errno));
  return static_cast<uint64_t>(st.st_size);
}

void MappedFile::releasePages(uint64_t offset, uint64_t size) const {
  if (buffer->getBufferKind() != llvm::MemoryBuffer::MemoryBuffer_MMap ||
      offset >= bytes().size())
    return;
  size = std::min<uint64_t>(size, bytes().size() - offset);
  // Whole pages inside the range only: a page shared with bytes not yet
  // read stays (it goes with the next range).
  const uintptr_t page = llvm::sys::Process::getPageSizeEstimate();
  uintptr_t begin = reinterpret_cast<uintptr_t>(bytes().data()) + offset;
  uintptr_t end = begin + size;
  begin = llvm::alignTo(begin, page);
  end = llvm::alignDown(end, page);
  if (begin < end)
    ::madvise(reinterpret_cast<void *>(begin), end - begin, MADV_DONTNEED);
}

} // namespace tfm::formats
