//===- FuzzUtil.h - Helpers shared by the libFuzzer targets -----*- C++ -*-===//
//
// The checkpoint readers only open paths, so their harnesses write each input
// to a per-process scratch directory (under /dev/shm when it exists, so no
// disk I/O) and call the importer on that path. The directory is removed at
// exit.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_FUZZ_FUZZUTIL_H
#define TFM_FUZZ_FUZZUTIL_H

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <sys/stat.h>
#include <unistd.h>

namespace tfm::fuzz {

/// The per-process scratch directory, created on first use and removed at
/// exit. (Leaked on purpose: the exit handler runs after static destructors.)
inline const std::string &scratchDir() {
  static const std::string *dir = [] {
    struct stat st;
    std::string base =
        stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    auto *d = new std::string(base + "/tfm-fuzz-" + std::to_string(getpid()));
    mkdir(d->c_str(), 0700);
    std::atexit([] {
      std::string cmd = "rm -rf '" + scratchDir() + "'";
      if (std::system(cmd.c_str()) != 0) {
      }
    });
    return d;
  }();
  return *dir;
}

/// Writes `bytes` to scratchDir()/name (replacing it) and returns the path.
inline std::string writeScratch(const std::string &name,
                                std::string_view bytes) {
  std::string path = scratchDir() + "/" + name;
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    std::abort(); // The harness itself is broken, not the reader.
  if (!bytes.empty() &&
      std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size())
    std::abort();
  std::fclose(f);
  return path;
}

/// Removes scratchDir()/name if present.
inline void removeScratch(const std::string &name) {
  std::string path = scratchDir() + "/" + name;
  unlink(path.c_str());
}

/// Splits `data` at the first NUL byte: (before, after). Without a NUL,
/// `after` is empty.
inline std::pair<std::string_view, std::string_view>
splitAtNul(const uint8_t *data, size_t size) {
  std::string_view all(reinterpret_cast<const char *>(data), size);
  size_t nul = all.find('\0');
  if (nul == std::string_view::npos)
    return {all, std::string_view()};
  return {all.substr(0, nul), all.substr(nul + 1)};
}

} // namespace tfm::fuzz

#endif // TFM_FUZZ_FUZZUTIL_H
