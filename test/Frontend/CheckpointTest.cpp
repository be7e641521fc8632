//===- CheckpointTest.cpp - Checkpoint readers, importers and weights -----===//
//
// Expected values come from test/fixtures/write_checkpoint.py (the fixtures
// and their JSON summaries), from test/Frontend/checkpoints/make_broken.py
// (broken files and the message fragments they must produce) and from the
// READMEs of the shared real models.
//
//===----------------------------------------------------------------------===//

#include "tfm/Frontend/Checkpoint.h"
#include "tfm/Frontend/Importers.h"
#include "tfm/Frontend/Weights.h"
#include "tfm/runtime/Gguf.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

using namespace tfm;

namespace {

std::string gTmp; // Directory with the generated fixtures.

std::string tmpPath(llvm::StringRef rel) {
  llvm::SmallString<256> p(gTmp);
  llvm::sys::path::append(p, rel);
  return std::string(p);
}

class Environment : public ::testing::Environment {
public:
  void SetUp() override {
    llvm::SmallString<256> dir;
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("tfm-checkpoints", dir));
    gTmp = std::string(dir);
    std::string src = TFM_SOURCE_DIR;
    std::string cmd = std::string(TFM_PYTHON) + " '" + src +
                      "/test/fixtures/write_checkpoint.py' '" + gTmp +
                      "/fixtures' && " + TFM_PYTHON + " '" + src +
                      "/test/Frontend/checkpoints/make_broken.py' '" + gTmp +
                      "/broken'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  void TearDown() override {
    if (!gTmp.empty() && !std::getenv("TFM_KEEP_TMP"))
      llvm::sys::fs::remove_directories(gTmp);
  }
};
const auto *gEnv =
    ::testing::AddGlobalTestEnvironment(new Environment());

llvm::json::Value loadJson(const std::string &path) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  if (!buf) {
    ADD_FAILURE() << "cannot read " << path;
    return nullptr;
  }
  auto v = llvm::json::parse((*buf)->getBuffer());
  if (!v) {
    ADD_FAILURE() << path << ": " << llvm::toString(v.takeError());
    return nullptr;
  }
  return std::move(*v);
}

std::vector<int64_t> shapeOf(const llvm::json::Array *a) {
  std::vector<int64_t> s;
  if (a)
    for (const auto &v : *a)
      s.push_back(*v.getAsInteger());
  return s;
}

/// Compares the (index, value) samples of a JSON summary entry.
void expectSamples(const llvm::json::Object &entry, llvm::ArrayRef<float> data,
                   const std::string &what) {
  const llvm::json::Array *samples = entry.getArray("samples");
  ASSERT_TRUE(samples) << what;
  for (const auto &s : *samples) {
    const llvm::json::Array &pair = *s.getAsArray();
    int64_t idx = *pair[0].getAsInteger();
    double want = *pair[1].getAsNumber();
    ASSERT_LT(idx, static_cast<int64_t>(data.size())) << what;
    EXPECT_FLOAT_EQ(data[idx], static_cast<float>(want))
        << what << " element " << idx;
  }
}

// --- GGUF parser (runtime) -----------------------------------------------

TEST(Gguf, ParsesMetadataOfEveryKind) {
  rt::GgufFile f;
  std::string err;
  ASSERT_TRUE(f.open(tmpPath("fixtures/gguf-llama.gguf"), err)) << err;
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.dataOffset() % 32, 0u);
  EXPECT_EQ(f.getString("general.architecture").value_or(""), "llama");
  EXPECT_EQ(f.getString("tokenizer.ggml.model").value_or(""), "llama");
  EXPECT_EQ(f.getInt("llama.block_count").value_or(-1), 2);
  EXPECT_EQ(f.getUInt("llama.embedding_length").value_or(0), 32u);
  EXPECT_FLOAT_EQ(static_cast<float>(f.getFloat("llama.rope.freq_base").value_or(0)),
                  10000.0f);
  EXPECT_FALSE(f.getInt("general.architecture").has_value());
  EXPECT_FALSE(f.getString("no.such.key").has_value());
  std::vector<std::string_view> toks;
  ASSERT_TRUE(f.getStringArray("tokenizer.ggml.tokens", toks));
  ASSERT_EQ(toks.size(), 40u);
  EXPECT_EQ(toks[7], "<tok7>");
  std::vector<float> scores;
  ASSERT_TRUE(f.getFloatArray("tokenizer.ggml.scores", scores));
  EXPECT_FLOAT_EQ(scores[5], -5.0f);
  std::vector<int64_t> types;
  ASSERT_TRUE(f.getIntArray("tokenizer.ggml.token_type", types));
  EXPECT_EQ(types.size(), 40u);
  EXPECT_EQ(types[3], 1);
  EXPECT_FALSE(f.getIntArray("tokenizer.ggml.tokens", types));
  const rt::GgufTensor *t = f.findTensor("blk.1.ffn_up.weight");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->type, static_cast<uint32_t>(rt::GgmlType::Q8_0));
  EXPECT_EQ(t->size, 64u * 32 / 32 * 34);
}

TEST(Gguf, HalfConversion) {
  // IEEE 754 binary16 reference values.
  EXPECT_EQ(rt::halfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(rt::halfToFloat(0xc000), -2.0f);
  EXPECT_EQ(rt::halfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(rt::halfToFloat(0x0001), 5.9604644775390625e-08f);
  EXPECT_EQ(rt::halfToFloat(0x03ff), 6.097555160522461e-05f);
  EXPECT_TRUE(std::isinf(rt::halfToFloat(0x7c00)));
  EXPECT_TRUE(std::isnan(rt::halfToFloat(0x7e00)));
  EXPECT_EQ(rt::bf16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(rt::bf16ToFloat(0xc040), -3.0f);
}

TEST(Gguf, EveryTruncationFailsCleanly) {
  // Every prefix of the header and tensor infos must be rejected (or, past
  // the infos, rejected for the data), never read out of bounds.
  auto buf = llvm::MemoryBuffer::getFile(tmpPath("fixtures/gguf-gpt2.gguf"));
  ASSERT_TRUE(buf);
  llvm::StringRef bytes = (*buf)->getBuffer();
  rt::GgufFile full;
  std::string err;
  ASSERT_TRUE(full.parse(bytes.data(), bytes.size(), err)) << err;
  for (size_t n = 0; n < bytes.size(); n += (n < full.dataOffset() ? 1 : 97)) {
    std::vector<char> copy(bytes.begin(), bytes.begin() + n);
    rt::GgufFile f;
    EXPECT_FALSE(f.parse(copy.data(), copy.size(), err)) << "prefix " << n;
    EXPECT_NE(err.find("at byte"), std::string::npos) << err;
  }
}

// --- Fixtures written by write_checkpoint.py -----------------------------

class Fixture : public ::testing::TestWithParam<const char *> {};

TEST_P(Fixture, MatchesWriterSummary) {
  std::string name = GetParam();
  llvm::json::Value summaryV =
      loadJson(tmpPath("fixtures/" + name + ".summary.json"));
  const llvm::json::Object *summary = summaryV.getAsObject();
  ASSERT_TRUE(summary);
  std::string path =
      tmpPath("fixtures/" + summary->getString("path")->str());
  std::string fmt = summary->getString("format")->str();
  std::string arch = summary->getString("arch")->str();
  const llvm::json::Object &s = *summary->getObject("spec");

  auto specOrErr = importModel(path);
  ASSERT_TRUE(bool(specOrErr)) << llvm::toString(specOrErr.takeError());
  ModelSpec spec = *specOrErr;
  EXPECT_EQ(spec.arch, arch);
  EXPECT_EQ(spec.vocabSize, *s.getInteger("vocab_size"));
  EXPECT_EQ(spec.dim, *s.getInteger("dim"));
  EXPECT_EQ(spec.contextLength, *s.getInteger("context_length"));
  EXPECT_EQ(spec.numLayers, *s.getInteger("num_layers"));
  EXPECT_EQ(spec.block.attention.heads, *s.getInteger("heads"));
  EXPECT_EQ(spec.block.attention.kvHeads, *s.getInteger("kv_heads"));
  EXPECT_EQ(spec.block.attention.headDim, *s.getInteger("head_dim"));
  EXPECT_EQ(spec.block.ffn.hidden, *s.getInteger("ffn_hidden"));
  EXPECT_FLOAT_EQ(spec.block.norm.eps, static_cast<float>(*s.getNumber("norm_eps")));
  EXPECT_EQ(spec.tiedHead, *s.getBoolean("tied_head"));
  EXPECT_EQ(validateSpec(spec), "");
  if (arch == "llama") {
    EXPECT_EQ(spec.positional, PositionalKind::Rope);
    EXPECT_FLOAT_EQ(spec.ropeTheta, static_cast<float>(*s.getNumber("rope_theta")));
    EXPECT_EQ(spec.ropeStyle,
              fmt == "safetensors" ? RopeStyle::Half : RopeStyle::Interleaved);
    EXPECT_EQ(spec.block.norm.kind, NormKind::RMSNorm);
    EXPECT_TRUE(spec.block.ffn.gated);
    EXPECT_EQ(spec.block.ffn.activation, Activation::SiLU);
    EXPECT_FALSE(spec.block.attention.qkvBias);
  } else {
    EXPECT_EQ(spec.positional, PositionalKind::Learned);
    EXPECT_EQ(spec.block.norm.kind, NormKind::LayerNorm);
    EXPECT_FALSE(spec.block.ffn.gated);
    EXPECT_EQ(spec.block.ffn.activation, Activation::GeluTanh);
    EXPECT_TRUE(spec.block.attention.qkvBias && spec.block.attention.outBias &&
                spec.block.ffn.bias);
  }
  if (fmt == "gguf") {
    EXPECT_EQ(spec.tokenizer.path, path);
    EXPECT_EQ(spec.tokenizer.kind, arch == "gpt2" ? TokenizerKind::Gpt2
                                                  : TokenizerKind::SentencePiece);
  } else if (fmt == "safetensors" && arch == "gpt2") {
    EXPECT_EQ(spec.tokenizer.kind, TokenizerKind::Gpt2);
    EXPECT_EQ(llvm::sys::path::filename(spec.tokenizer.path), "vocab.json");
  }

  // The checkpoint's own tensors: dtype, shape, values.
  CheckpointFormat cf = fmt == "llama2c" ? CheckpointFormat::Llama2c
                        : fmt == "gguf"  ? CheckpointFormat::Gguf
                                         : CheckpointFormat::Safetensors;
  auto ckptOrErr = Checkpoint::open(path, cf);
  ASSERT_TRUE(bool(ckptOrErr)) << llvm::toString(ckptOrErr.takeError());
  const Checkpoint &ckpt = **ckptOrErr;
  const llvm::json::Object &tensors = *summary->getObject("tensors");
  EXPECT_EQ(ckpt.tensors().size(), tensors.size());
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
  }

  // Canonical weights, through the bindings, and the packed blob.
  const llvm::json::Object &canon = *summary->getObject("canonical");
  WeightsLayout layout = weightsLayout(spec);
  EXPECT_EQ(layout.weights.size(), canon.size());
  std::string blob;
  llvm::raw_string_ostream rso(blob);
  llvm::SmallString<0> blobBuf;
  llvm::raw_svector_ostream os(blobBuf);
  std::vector<uint64_t> offsets;
  ASSERT_FALSE(bool(writeWeightsBlob(spec, os, offsets)));
  ASSERT_EQ(blobBuf.size(), layout.totalSize);
  ASSERT_EQ(offsets, layout.offsets);
  for (size_t k = 0; k < layout.weights.size(); ++k) {
    const WeightDecl &d = layout.weights[k];
    const llvm::json::Object *c = canon.getObject(d.name);
    ASSERT_TRUE(c) << "writer has no canonical " << d.name;
    EXPECT_EQ(d.shape, shapeOf(c->getArray("shape"))) << d.name;
    EXPECT_EQ(offsets[k] % kWeightAlignment, 0u);
    std::vector<float> w(1);
    int64_t n = 1;
    for (int64_t x : d.shape)
      n *= x;
    w.resize(n);
    std::memcpy(w.data(), blobBuf.data() + offsets[k], 4 * n);
    expectSamples(*c, w, d.name);
  }
}

INSTANTIATE_TEST_SUITE_P(Writer, Fixture,
                         ::testing::Values("llama2c-gqa", "llama2c-untied",
                                           "gguf-llama", "gguf-gpt2",
                                           "st-llama", "st-gpt2"),
                         [](const auto &info) {
                           std::string n = info.param;
                           for (char &c : n)
                             if (c == '-')
                               c = '_';
                           return n;
                         });

TEST(Weights, RandomMatchesDocumentedGenerator) {
  llvm::json::Value v = loadJson(tmpPath("fixtures/random.summary.json"));
  ASSERT_TRUE(v.getAsArray());
  for (const auto &e : *v.getAsArray()) {
    const llvm::json::Object &o = *e.getAsObject();
    WeightDecl d;
    d.name = o.getString("name")->str();
    d.shape = shapeOf(o.getArray("shape"));
    uint64_t seed = std::stoull(o.getString("seed")->str());
    int64_t n = 1;
    for (int64_t x : d.shape)
      n *= x;
    std::vector<float> w(n);
    randomWeight(seed, d, w);
    expectSamples(o, w, d.name);
  }
}

TEST(Weights, RandomBlobIsDeterministic) {
  auto spec = importModel(tmpPath("fixtures/gguf-gpt2.gguf"));
  ASSERT_TRUE(bool(spec)) << llvm::toString(spec.takeError());
  spec->weights = WeightsSpec();
  spec->weights.format = CheckpointFormat::Random;
  spec->weights.seed = 99;
  EXPECT_FALSE(bool(checkWeights(*spec)));
  llvm::SmallString<0> a, b;
  llvm::raw_svector_ostream osa(a), osb(b);
  std::vector<uint64_t> offs;
  ASSERT_FALSE(bool(writeWeightsBlob(*spec, osa, offs)));
  ASSERT_FALSE(bool(writeWeightsBlob(*spec, osb, offs)));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), weightsLayout(*spec).totalSize);
  spec->weights.format = CheckpointFormat::None;
  EXPECT_TRUE(bool(llvm::errorToBool(checkWeights(*spec))));
}

TEST(Weights, CheckReportsShapeMismatch) {
  auto spec = importModel(tmpPath("fixtures/st-gpt2"));
  ASSERT_TRUE(bool(spec)) << llvm::toString(spec.takeError());
  spec->block.ffn.hidden = 32; // The checkpoint has 64.
  llvm::Error e = checkWeights(*spec);
  ASSERT_TRUE(bool(e));
  std::string msg = llvm::toString(std::move(e));
  EXPECT_NE(msg.find("weight 'layers.0.w1.weight' [32, 16]"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("tensor 'h.0.mlp.c_fc.weight' (data at byte"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("has shape [16, 64]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("transposed: [64, 16]"), std::string::npos) << msg;
}

// --- Broken inputs from make_broken.py ------------------------------------

TEST(Broken, EveryCaseFailsWithItsMessage) {
  llvm::json::Value v = loadJson(tmpPath("broken/manifest.json"));
  ASSERT_TRUE(v.getAsArray());
  EXPECT_GT(v.getAsArray()->size(), 40u);
  for (const auto &e : *v.getAsArray()) {
    const llvm::json::Object &o = *e.getAsObject();
    std::string name = o.getString("name")->str();
    std::string path = tmpPath("broken/" + o.getString("path")->str());
    auto spec = importModel(path);
    if (spec) {
      ADD_FAILURE() << name << ": imported without error";
      continue;
    }
    std::string msg = llvm::toString(spec.takeError());
    for (const auto &frag : *o.getArray("expect"))
      EXPECT_NE(msg.find(frag.getAsString()->str()), std::string::npos)
          << name << ": message lacks '" << frag.getAsString()->str()
          << "'\n  got: " << msg;
  }
}

// --- Real models in the shared data directory ------------------------------

std::string sharedDir() {
  if (const char *env = std::getenv("TFM_TEST_DATA"))
    return env;
  for (std::string d : {std::string("/work/shared"),
                        std::string(TFM_SOURCE_DIR) + "/../shared"})
    if (llvm::sys::fs::is_directory(d + "/models"))
      return d;
  return "";
}

#define REQUIRE_SHARED(rel)                                                    \
  std::string shared = sharedDir();                                            \
  if (shared.empty() || !llvm::sys::fs::exists(shared + "/models/" + rel))     \
    GTEST_SKIP() << "shared model data not found (set TFM_TEST_DATA)";         \
  std::string path = shared + "/models/" + rel;

void expectLlama(const ModelSpec &s, int64_t dim, int64_t hidden,
                 int64_t layers, int64_t heads, int64_t kv, int64_t vocab,
                 int64_t ctx) {
  EXPECT_EQ(s.dim, dim);
  EXPECT_EQ(s.block.ffn.hidden, hidden);
  EXPECT_EQ(s.numLayers, layers);
  EXPECT_EQ(s.block.attention.heads, heads);
  EXPECT_EQ(s.block.attention.kvHeads, kv);
  EXPECT_EQ(s.vocabSize, vocab);
  EXPECT_EQ(s.contextLength, ctx);
  EXPECT_EQ(s.block.norm.kind, NormKind::RMSNorm);
  EXPECT_FLOAT_EQ(s.block.norm.eps, 1e-5f);
  EXPECT_EQ(s.positional, PositionalKind::Rope);
  EXPECT_EQ(s.ropeStyle, RopeStyle::Interleaved);
  EXPECT_FLOAT_EQ(s.ropeTheta, 10000.0f);
  EXPECT_TRUE(s.block.ffn.gated);
}

TEST(RealModels, Stories260K) {
  REQUIRE_SHARED("stories260K/model.bin");
  auto s = importModel(path);
  ASSERT_TRUE(bool(s)) << llvm::toString(s.takeError());
  expectLlama(*s, 64, 172, 5, 8, 4, 512, 512);
  EXPECT_TRUE(s->tiedHead);
  EXPECT_EQ(s->name, "stories260K");
  EXPECT_EQ(s->tokenizer.kind, TokenizerKind::SentencePiece);
  EXPECT_EQ(llvm::sys::path::filename(s->tokenizer.path), "tokenizer.bin");
}

TEST(RealModels, AiDreams260K) {
  REQUIRE_SHARED("aidreams260K/model.bin");
  auto s = importModel(path);
  ASSERT_TRUE(bool(s)) << llvm::toString(s.takeError());
  expectLlama(*s, 64, 172, 4, 4, 4, 512, 128);
  EXPECT_TRUE(s->tiedHead);
}

TEST(RealModels, Stories260KGgufEqualsLlama2c) {
  REQUIRE_SHARED("stories260K-gguf/model.gguf");
  auto g = importModel(path);
  ASSERT_TRUE(bool(g)) << llvm::toString(g.takeError());
  expectLlama(*g, 64, 172, 5, 8, 4, 512, 2048);
  EXPECT_FALSE(g->tiedHead); // It carries output.weight.
  EXPECT_EQ(g->tokenizer.kind, TokenizerKind::SentencePiece);
  EXPECT_EQ(g->tokenizer.path, path);
  auto gc = Checkpoint::open(path, CheckpointFormat::Gguf);
  ASSERT_TRUE(bool(gc));
  const TensorInfo *emb = (*gc)->find("token_embd.weight");
  ASSERT_TRUE(emb);
  EXPECT_EQ(emb->shape, (std::vector<int64_t>{512, 64}));
  std::vector<std::string_view> toks;
  EXPECT_TRUE((*gc)->gguf()->getStringArray("tokenizer.ggml.tokens", toks));
  EXPECT_EQ(toks.size(), 512u);

  // The README: weights bit-identical to the llama2.c checkpoint.
  std::string binPath = shared + "/models/stories260K/model.bin";
  if (!llvm::sys::fs::exists(binPath))
    return;
  auto l = importModel(binPath);
  ASSERT_TRUE(bool(l)) << llvm::toString(l.takeError());
  auto lc = Checkpoint::open(binPath, CheckpointFormat::Llama2c);
  ASSERT_TRUE(bool(lc));
  for (const WeightDecl &d : expectedWeights(*l)) {
    int64_t n = 1;
    for (int64_t x : d.shape)
      n *= x;
    std::vector<float> a(n), b(n);
    ASSERT_FALSE(bool(readWeight(*l, lc->get(), d, a))) << d.name;
    ASSERT_FALSE(bool(readWeight(*g, gc->get(), d, b))) << d.name;
    EXPECT_EQ(std::memcmp(a.data(), b.data(), 4 * n), 0) << d.name;
  }
}

TEST(RealModels, TinyGpt2) {
  REQUIRE_SHARED("tiny-gpt2/config.json");
  std::string dir = shared + "/models/tiny-gpt2";
  auto s = importModel(dir);
  ASSERT_TRUE(bool(s)) << llvm::toString(s.takeError());
  EXPECT_EQ(s->arch, "gpt2");
  EXPECT_EQ(s->numLayers, 2);
  EXPECT_EQ(s->block.attention.heads, 2);
  EXPECT_EQ(s->dim, 2);
  EXPECT_EQ(s->contextLength, 1024);
  EXPECT_EQ(s->vocabSize, 50257);
  EXPECT_EQ(s->block.ffn.activation, Activation::GeluTanh);
  EXPECT_EQ(s->block.norm.kind, NormKind::LayerNorm);
  EXPECT_FLOAT_EQ(s->block.norm.eps, 1e-5f);
  EXPECT_EQ(s->positional, PositionalKind::Learned);
  EXPECT_TRUE(s->tiedHead);
  // The shared file lacks attn.c_attn.bias (see its tensor list); the other
  // biases are there.
  EXPECT_FALSE(s->block.attention.qkvBias);
  EXPECT_TRUE(s->block.attention.outBias);
  EXPECT_TRUE(s->block.ffn.bias);
  EXPECT_EQ(s->block.ffn.hidden, 8); // n_inner absent: 4 * n_embd
  EXPECT_EQ(s->tokenizer.kind, TokenizerKind::Gpt2);
  EXPECT_EQ(s->name, "tiny-gpt2");
  EXPECT_FALSE(bool(checkWeights(*s)));
}

} // namespace
