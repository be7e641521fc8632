//===- HostileFilesTest.cpp - Readers against files built to hurt them ----===//
//
// Regression tests of issue 13: JSON nested deep enough to overflow the
// parser's stack (finding 5), a safetensors header with very many tensors
// (finding 6: it must parse in linear time), and paths that are not regular
// files (finding 8: a FIFO blocked forever). Each input is built here.
//
//===----------------------------------------------------------------------===//

#include "tfm/Formats/Checkpoint.h"
#include "tfm/Formats/Files.h"
#include "tfm/Formats/Json.h"
#include "tfm/Formats/TokenizerFiles.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <sys/stat.h>

using namespace tfm::formats;

namespace {

/// A fresh directory, removed at the end of the test.
class ScratchDir {
public:
  ScratchDir() {
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("tfm-hostile", dir));
  }
  ~ScratchDir() { llvm::sys::fs::remove_directories(dir); }
  std::string path(llvm::StringRef name) const {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
  std::string write(llvm::StringRef name, llvm::StringRef bytes) const {
    std::string p = path(name);
    std::error_code ec;
    llvm::raw_fd_ostream os(p, ec);
    EXPECT_FALSE(ec) << p;
    os << bytes;
    return p;
  }

private:
  llvm::SmallString<256> dir;
};

/// A safetensors file: the little-endian header length, then `header`,
/// then `dataBytes` zero bytes.
std::string safetensors(llvm::StringRef header, size_t dataBytes) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int k = 0; k < 8; ++k)
    out[k] = char(n >> (8 * k));
  out += header;
  out.append(dataBytes, '\0');
  return out;
}

/// `{"key": [[[ ... 0 ... ]]]}` with `depth` nested arrays.
std::string deepJson(llvm::StringRef key, size_t depth) {
  return "{\"" + key.str() + "\": " + std::string(depth, '[') + "0" +
         std::string(depth, ']') + "}";
}

std::string errorOf(llvm::Error e) { return llvm::toString(std::move(e)); }

// --- Finding 5: JSON nested deeper than the parser's stack ---------------

TEST(HostileFiles, DeepJsonInSafetensorsHeaderIsAnError) {
  ScratchDir dir;
  std::string path =
      dir.write("deep.safetensors", safetensors(deepJson("x", 100000), 0));
  auto ckpt = Checkpoint::open(path);
  ASSERT_FALSE(bool(ckpt));
  std::string msg = errorOf(ckpt.takeError());
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("nested deeper than"), std::string::npos) << msg;
  // The 129th opening bracket (the object is the first) is the first past
  // the limit of 128 levels; the header starts at byte 8.
  EXPECT_NE(msg.find("at byte " + std::to_string(8 + 6 + 127)),
            std::string::npos)
      << msg;
}

TEST(HostileFiles, DeepJsonInVocabIsAnError) {
  std::string msg =
      errorOf(loadGpt2Tokenizer(deepJson("a", 100000), "").takeError());
  EXPECT_NE(msg.find("vocab.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nested deeper than"), std::string::npos) << msg;
}

TEST(HostileFiles, JsonAtTheDepthLimitParses) {
  // Brackets inside strings do not count; the limit itself is allowed.
  std::string json = "{\"s\": \"[[[[{{{{\\\"\", \"a\": " +
                     std::string(kMaxJsonDepth - 1, '[') +
                     std::string(kMaxJsonDepth - 1, ']') + "}";
  auto value = parseJson(json);
  EXPECT_TRUE(bool(value)) << errorOf(value.takeError());
  json = "{\"a\": " + std::string(kMaxJsonDepth, '[') +
         std::string(kMaxJsonDepth, ']') + "}";
  EXPECT_FALSE(bool(parseJson(json)));
}

// --- Finding 6: a header with many tensors parses in linear time ----------

TEST(HostileFiles, SafetensorsHeaderWithManyTensorsIsLinear) {
  // 100,000 one-element tensors: a 4.6 MB header that took minutes when
  // every tensor searched the whole header for its own name.
  constexpr int kTensors = 100000;
  std::string header = "{";
  for (int k = 0; k < kTensors; ++k)
    header += (k ? ",\"t" : "\"t") + std::to_string(k) +
              "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[" +
              std::to_string(4 * k) + "," + std::to_string(4 * k + 4) + "]}";
  header += "}";
  ScratchDir dir;
  std::string path =
      dir.write("many.safetensors", safetensors(header, 4 * kTensors));
  auto start = std::chrono::steady_clock::now();
  auto ckpt = Checkpoint::open(path);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  ASSERT_TRUE(bool(ckpt)) << errorOf(ckpt.takeError());
  EXPECT_EQ((*ckpt)->getTensors().size(), size_t(kTensors));
  // About a second when linear (on a quiet machine), minutes when
  // quadratic (5 min 38 s in the issue).
  std::printf("[ timing   ] %d tensors read in %.2f s\n", kTensors, seconds);
  EXPECT_LT(seconds, 60.0);
}

// --- Finding 8: paths that are not regular files --------------------------

TEST(HostileFiles, FifoIsRejectedWithoutBlocking) {
  ScratchDir dir;
  std::string fifo = dir.path("model.bin");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::string msg = errorOf(mapFile(fifo).takeError());
  EXPECT_NE(msg.find(fifo + ": not a regular file"), std::string::npos) << msg;
  msg = errorOf(Checkpoint::open(fifo).takeError());
  EXPECT_NE(msg.find("not a regular file"), std::string::npos) << msg;
  msg = errorOf(loadTokenizer(fifo).takeError());
  EXPECT_NE(msg.find("not a regular file"), std::string::npos) << msg;
}

TEST(HostileFiles, DirectoryIsNotAFile) {
  ScratchDir dir;
  std::string sub = dir.path("model.gguf");
  ASSERT_FALSE(llvm::sys::fs::create_directory(sub));
  std::string msg = errorOf(mapFile(sub).takeError());
  EXPECT_NE(msg.find(sub + ": not a regular file"), std::string::npos) << msg;
  msg = errorOf(Checkpoint::open(sub, Checkpoint::Format::Gguf).takeError());
  EXPECT_NE(msg.find("not a regular file"), std::string::npos) << msg;
}

TEST(HostileFiles, CharacterDeviceIsNotAFile) {
  // /dev/null reads as empty; a symlink to /dev/zero would read forever.
  ScratchDir dir;
  std::string link = dir.path("model.bin");
  ASSERT_FALSE(llvm::sys::fs::create_link("/dev/null", link));
  std::string msg = errorOf(Checkpoint::open(link).takeError());
  EXPECT_NE(msg.find(link + ": not a regular file"), std::string::npos) << msg;
}

} // namespace
