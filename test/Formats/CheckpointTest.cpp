//===- CheckpointTest.cpp - GGUF parser and checkpoint readers ------------===//
//
// Expected values come from test/fixtures/write_checkpoint.py (the fixtures
// and their JSON summaries) and from IEEE 754 reference values.
//
//===----------------------------------------------------------------------===//

#include "../fixtures/CheckpointFixtures.h"

#include "tfm/Formats/Checkpoint.h"
#include "tfm/Formats/Files.h"
#include "tfm/Formats/Gguf.h"

#include <gtest/gtest.h>

#include "llvm/Support/FileSystem.h"

#include <cmath>

#include <unistd.h>

using namespace tfm::formats;
using namespace tfm::test;

namespace {

// --- GGUF parser -----------------------------------------------------------

TEST(Gguf, ParsesMetadataOfEveryKind) {
  auto buffer = mapFile(tmpPath("fixtures/gguf-llama.gguf"));
  ASSERT_TRUE(bool(buffer)) << llvm::toString(buffer.takeError());
  auto parsed = GgufFile::parse((*buffer)->getBuffer());
  ASSERT_TRUE(bool(parsed)) << llvm::toString(parsed.takeError());
  const GgufFile &f = *parsed;
  EXPECT_EQ(f.getVersion(), 3u);
  EXPECT_EQ(f.getAlignment(), 32u);
  EXPECT_EQ(f.getDataOffset() % 32, 0u);
  EXPECT_EQ(f.getString("general.architecture").value_or(""), "llama");
  EXPECT_EQ(f.getString("tokenizer.ggml.model").value_or(""), "llama");
  EXPECT_EQ(f.getInt("llama.block_count").value_or(-1), 2);
  EXPECT_EQ(f.getUInt("llama.embedding_length").value_or(0), 32u);
  EXPECT_FLOAT_EQ(
      static_cast<float>(f.getFloat("llama.rope.freq_base").value_or(0)),
      10000.0f);
  EXPECT_FALSE(f.getInt("general.architecture").has_value());
  EXPECT_FALSE(f.getString("no.such.key").has_value());
  auto toks = f.getStringArray("tokenizer.ggml.tokens");
  ASSERT_TRUE(toks);
  ASSERT_EQ(toks->size(), 40u);
  EXPECT_EQ((*toks)[7], "<tok7>");
  auto scores = f.getFloatArray("tokenizer.ggml.scores");
  ASSERT_TRUE(scores);
  EXPECT_FLOAT_EQ((*scores)[5], -5.0f);
  auto types = f.getIntArray("tokenizer.ggml.token_type");
  ASSERT_TRUE(types);
  EXPECT_EQ(types->size(), 40u);
  EXPECT_EQ((*types)[3], 1);
  EXPECT_FALSE(f.getIntArray("tokenizer.ggml.tokens"));
  const GgufTensor *t = f.findTensor("blk.1.ffn_up.weight");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->type, GgmlType::Q8_0);
  EXPECT_EQ(t->size, 64u * 32 / 32 * 34);
}

TEST(Gguf, EveryTruncationFailsCleanly) {
  // Every prefix of the header and tensor infos must be rejected (or, past
  // the infos, rejected for the data), never read out of bounds.
  auto buf = mapFile(tmpPath("fixtures/gguf-gpt2.gguf"));
  ASSERT_TRUE(bool(buf)) << llvm::toString(buf.takeError());
  llvm::StringRef bytes = (*buf)->getBuffer();
  auto full = GgufFile::parse(bytes);
  ASSERT_TRUE(bool(full)) << llvm::toString(full.takeError());
  for (size_t n = 0; n < bytes.size();
       n += (n < full->getDataOffset() ? 1 : 97)) {
    // A copy, so that reading past the prefix is caught by ASan.
    std::vector<char> copy(bytes.begin(), bytes.begin() + n);
    auto f = GgufFile::parse(llvm::StringRef(copy.data(), copy.size()));
    ASSERT_FALSE(bool(f)) << "prefix " << n;
    std::string err = llvm::toString(f.takeError());
    EXPECT_NE(err.find("at byte"), std::string::npos) << err;
  }
}

// --- Element conversion ----------------------------------------------------

TEST(Checkpoint, HalfConversion) {
  // IEEE 754 binary16 reference values.
  EXPECT_EQ(halfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(halfToFloat(0xc000), -2.0f);
  EXPECT_EQ(halfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(halfToFloat(0x0001), 5.9604644775390625e-08f);
  EXPECT_EQ(halfToFloat(0x03ff), 6.097555160522461e-05f);
  EXPECT_TRUE(std::isinf(halfToFloat(0x7c00)));
  EXPECT_TRUE(std::isnan(halfToFloat(0x7e00)));
  EXPECT_EQ(bf16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(bf16ToFloat(0xc040), -3.0f);
}

// --- Fixtures written by write_checkpoint.py -------------------------------

class Fixture : public ::testing::TestWithParam<const char *> {};

TEST_P(Fixture, TensorsMatchWriterSummary) {
  FixtureSummary summary = loadFixtureSummary(GetParam());
  ASSERT_FALSE(summary.path.empty());
  const std::string &fmt = summary.format;

  // The format is found from the name and the content.
  auto ckptOrErr = Checkpoint::open(summary.path);
  ASSERT_TRUE(bool(ckptOrErr)) << llvm::toString(ckptOrErr.takeError());
  const Checkpoint &ckpt = **ckptOrErr;
  EXPECT_EQ(ckpt.getFormat(), fmt == "llama2c" ? Checkpoint::Format::Llama2c
                              : fmt == "gguf"
                                  ? Checkpoint::Format::Gguf
                                  : Checkpoint::Format::Safetensors);
  EXPECT_EQ(ckpt.getGguf() != nullptr, fmt == "gguf");
  EXPECT_EQ(ckpt.llama2c() != nullptr, fmt == "llama2c");

  const llvm::json::Object &tensors = summary.object("tensors");
  EXPECT_EQ(ckpt.getTensors().size(), tensors.size());
  for (const auto &kv : tensors) {
    std::string tname = kv.first.str();
    const llvm::json::Object &t = *kv.second.getAsObject();
    const TensorInfo *info = ckpt.find(tname);
    ASSERT_TRUE(info) << tname;
    EXPECT_STREQ(toString(info->dtype), t.getString("dtype")->str().c_str())
        << tname;
    EXPECT_EQ(info->shape, shapeOf(t.getArray("shape"))) << tname;
    std::vector<float> data(info->numElements());
    ASSERT_FALSE(bool(ckpt.readF32(*info, data))) << tname;
    expectSamples(t, data, tname);
    // Any range reads the same values: each sample alone, and the tensor
    // in odd-sized pieces (q8_0 blocks are 32 elements).
    for (auto [idx, want] : samplesOf(t)) {
      float one;
      ASSERT_FALSE(bool(ckpt.readF32(*info, one, idx))) << tname;
      EXPECT_FLOAT_EQ(one, want) << tname << " element " << idx;
    }
    std::vector<float> pieces(data.size());
    for (size_t at = 0; at < data.size(); at += 7) {
      size_t n = std::min<size_t>(7, data.size() - at);
      ASSERT_FALSE(bool(ckpt.readF32(
          *info, llvm::MutableArrayRef<float>(pieces).slice(at, n), at)))
          << tname;
    }
    EXPECT_EQ(pieces, data) << tname;
  }
}

INSTANTIATE_TEST_SUITE_P(Writer, Fixture,
                         ::testing::ValuesIn(kCheckpointFixtures), testName);

TEST(Checkpoint, ReadOutsideTheTensorFails) {
  auto ckpt = Checkpoint::open(tmpPath("fixtures/gguf-llama.gguf"));
  ASSERT_TRUE(bool(ckpt)) << llvm::toString(ckpt.takeError());
  const TensorInfo *t = (*ckpt)->find("blk.1.ffn_up.weight");
  ASSERT_TRUE(t);
  std::vector<float> two(2);
  std::string msg = llvm::toString(
      (*ckpt)->readF32(*t, two, static_cast<uint64_t>(t->numElements()) - 1));
  EXPECT_NE(msg.find("tensor 'blk.1.ffn_up.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("outside"), std::string::npos) << msg;
}

TEST(Checkpoint, FileTruncatedWhileMappedIsAnError) {
  // A copy of a fixture, opened, then cut in half underneath the mapping:
  // reading a tensor past the new end fails with the file and the tensor
  // named (never a SIGBUS); one before it still reads.
  std::string path = tmpPath("fixtures/truncated-copy.bin");
  ASSERT_FALSE(
      llvm::sys::fs::copy_file(tmpPath("fixtures/llama2c-gqa.bin"), path));
  auto ckpt = Checkpoint::open(path);
  ASSERT_TRUE(bool(ckpt)) << llvm::toString(ckpt.takeError());
  const TensorInfo *first = (*ckpt)->find("token_embedding_table");
  const TensorInfo *last = (*ckpt)->find("rms_final_weight");
  ASSERT_TRUE(first && last);
  std::vector<float> before(first->numElements()), again(before.size());
  ASSERT_FALSE(bool((*ckpt)->readF32(*first, before)));
  // Released pages read back the same.
  (*ckpt)->releasePages(*first, 0, before.size());
  ASSERT_FALSE(bool((*ckpt)->readF32(*first, again)));
  EXPECT_EQ(before, again);

  uint64_t half = (*ckpt)->bytes().size() / 2;
  ASSERT_GT(last->offset, half);
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(half)), 0);
  std::vector<float> out(last->numElements());
  std::string msg = llvm::toString((*ckpt)->readF32(*last, out));
  EXPECT_NE(msg.find(path + ": tensor 'rms_final_weight' at byte " +
                     std::to_string(last->offset)),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("the file is now " + std::to_string(half) + " bytes"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("truncated while tfmc was reading it"), std::string::npos)
      << msg;
  ASSERT_FALSE(bool((*ckpt)->readF32(*first, again)));
  EXPECT_EQ(before, again);
  llvm::sys::fs::remove(path);
}

TEST(Checkpoint, UnknownFormatNamesThePath) {
  std::string path = tmpPath("fixtures/gguf-llama.summary.json");
  auto ckpt = Checkpoint::open(path);
  ASSERT_FALSE(bool(ckpt));
  std::string msg = llvm::toString(ckpt.takeError());
  EXPECT_NE(msg.find(path + ": unknown checkpoint format"), std::string::npos)
      << msg;
}

} // namespace
