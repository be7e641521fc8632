//===- ImportTest.cpp - Checkpoint importers and the weights blob ---------===//
//
// Expected values come from test/fixtures/write_checkpoint.py (the fixtures
// and their JSON summaries), from test/Frontend/checkpoints/make_broken.py
// (broken files and the message fragments they must produce) and from the
// READMEs of the shared real models. The readers themselves are tested in
// test/Formats.
//
//===----------------------------------------------------------------------===//

#include "../fixtures/CheckpointFixtures.h"

#include "tfm/Formats/TokenizerFiles.h"
#include "tfm/Frontend/Importers.h"
#include "tfm/Frontend/ModelTokenizer.h"
#include "tfm/Frontend/Weights.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <numeric>

using namespace tfm;
using namespace tfm::test;
using formats::Checkpoint;
using formats::TensorInfo;

namespace {

// --- Fixtures written by write_checkpoint.py -----------------------------

class Fixture : public ::testing::TestWithParam<const char *> {};

TEST_P(Fixture, ImportMatchesWriterSummary) {
  FixtureSummary summary = loadFixtureSummary(GetParam());
  ASSERT_FALSE(summary.path.empty());
  const std::string &path = summary.path, &fmt = summary.format;
  std::string arch =
      summary.json.getAsObject()->getString("arch").value_or("").str();
  const llvm::json::Object &s = summary.object("spec");

  auto imported = importModel(path);
  ASSERT_TRUE(bool(imported)) << llvm::toString(imported.takeError());
  const ModelSpec &spec = imported->spec;
  ASSERT_TRUE(imported->checkpoint);
  EXPECT_EQ(spec.arch, arch);
  EXPECT_EQ(spec.vocabSize, *s.getInteger("vocab_size"));
  EXPECT_EQ(spec.dim, *s.getInteger("dim"));
  EXPECT_EQ(spec.contextLength, *s.getInteger("context_length"));
  EXPECT_EQ(spec.numLayers, *s.getInteger("num_layers"));
  EXPECT_EQ(spec.block.attention.heads, *s.getInteger("heads"));
  EXPECT_EQ(spec.block.attention.kvHeads, *s.getInteger("kv_heads"));
  EXPECT_EQ(spec.block.attention.headDim, *s.getInteger("head_dim"));
  EXPECT_EQ(spec.block.ffn.hidden, *s.getInteger("ffn_hidden"));
  EXPECT_FLOAT_EQ(spec.block.norm.eps,
                  static_cast<float>(*s.getNumber("norm_eps")));
  EXPECT_EQ(spec.tiedHead, *s.getBoolean("tied_head"));
  EXPECT_EQ(llvm::toString(validateSpec(spec)), "");
  if (arch == "llama") {
    EXPECT_EQ(spec.positional, PositionEncoding::Rope);
    EXPECT_FLOAT_EQ(spec.ropeTheta,
                    static_cast<float>(*s.getNumber("rope_theta")));
    EXPECT_EQ(spec.ropePairing, fmt == "safetensors"
                                    ? RopePairing::Half
                                    : RopePairing::Interleaved);
    EXPECT_EQ(spec.block.norm.kind, NormKind::RMSNorm);
    EXPECT_TRUE(spec.block.ffn.gated);
    EXPECT_EQ(spec.block.ffn.activation, Activation::SiLU);
    EXPECT_FALSE(spec.block.attention.qkvBias);
  } else {
    EXPECT_EQ(spec.positional, PositionEncoding::Learned);
    EXPECT_EQ(spec.block.norm.kind, NormKind::LayerNorm);
    EXPECT_FALSE(spec.block.ffn.gated);
    EXPECT_EQ(spec.block.ffn.activation, Activation::GeluTanh);
    EXPECT_TRUE(spec.block.attention.qkvBias && spec.block.attention.outBias &&
                spec.block.ffn.bias);
  }
  if (fmt == "gguf") {
    EXPECT_EQ(spec.tokenizer.path, path);
    EXPECT_EQ(spec.tokenizer.kind, arch == "gpt2"
                                       ? TokenizerKind::Gpt2
                                       : TokenizerKind::SentencePiece);
  } else if (fmt == "safetensors" && arch == "gpt2") {
    EXPECT_EQ(spec.tokenizer.kind, TokenizerKind::Gpt2);
    EXPECT_EQ(llvm::sys::path::filename(spec.tokenizer.path), "vocab.json");
  }

  // Canonical weights, through the bindings, and the packed blob.
  const llvm::json::Object &canon = summary.object("canonical");
  WeightsLayout layout = weightsLayout(spec);
  EXPECT_EQ(layout.weights.size(), canon.size());
  llvm::SmallString<0> blobBuf;
  llvm::raw_svector_ostream os(blobBuf);
  auto id = writeWeightsBlob(spec, imported->checkpoint.get(), os);
  ASSERT_TRUE(bool(id)) << llvm::toString(id.takeError());
  EXPECT_NE(*id, 0u);
  ASSERT_EQ(blobBuf.size(), layout.totalSize);
  for (size_t k = 0; k < layout.weights.size(); ++k) {
    const WeightDecl &d = layout.weights[k];
    const llvm::json::Object *c = canon.getObject(d.name);
    ASSERT_TRUE(c) << "writer has no canonical " << d.name;
    EXPECT_EQ(d.shape, shapeOf(c->getArray("shape"))) << d.name;
    EXPECT_EQ(layout.offsets[k] % kWeightAlignment, 0u);
    int64_t n = 1;
    for (int64_t x : d.shape)
      n *= x;
    std::vector<float> w(n);
    std::memcpy(w.data(), blobBuf.data() + layout.offsets[k], 4 * n);
    expectSamples(*c, w, d.name);
    // readWeight streams the same values.
    std::vector<float> read(n);
    ASSERT_FALSE(bool(readWeight(spec, imported->checkpoint.get(), d, read)))
        << d.name;
    EXPECT_EQ(read, w) << d.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Writer, Fixture,
                         ::testing::ValuesIn(kCheckpointFixtures), testName);

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

TEST(Weights, RandomWeightInChunksEqualsWhole) {
  // The blob writer generates a weight a block at a time.
  WeightDecl d;
  d.name = "layers.1.wq.weight";
  d.shape = {37, 29};
  std::vector<float> whole(37 * 29), parts(37 * 29);
  randomWeight(5, d, whole);
  for (size_t first = 0; first < parts.size(); first += 100)
    randomWeight(5, d,
                 llvm::MutableArrayRef<float>(parts).slice(
                     first, std::min<size_t>(100, parts.size() - first)),
                 first);
  EXPECT_EQ(whole, parts);
}

TEST(Weights, RandomBlobIsDeterministic) {
  auto imported = importModel(tmpPath("fixtures/gguf-gpt2.gguf"));
  ASSERT_TRUE(bool(imported)) << llvm::toString(imported.takeError());
  ModelSpec spec = imported->spec;
  spec.weights = WeightsSpec();
  spec.weights.format = CheckpointFormat::Random;
  spec.weights.seed = 99;
  auto none = openWeights(spec);
  ASSERT_TRUE(bool(none)) << llvm::toString(none.takeError());
  EXPECT_FALSE(*none); // Random weights need no checkpoint.
  llvm::SmallString<0> a, b;
  llvm::raw_svector_ostream osa(a), osb(b);
  auto idA = writeWeightsBlob(spec, nullptr, osa);
  auto idB = writeWeightsBlob(spec, nullptr, osb);
  ASSERT_TRUE(idA && idB);
  EXPECT_EQ(a, b);
  EXPECT_EQ(*idA, *idB);
  EXPECT_EQ(a.size(), weightsLayout(spec).totalSize);
  // Other weights: another weights id, the same spec id.
  uint64_t spec99 = specId(spec);
  spec.weights.seed = 100;
  llvm::SmallString<0> c;
  llvm::raw_svector_ostream osc(c);
  auto idC = writeWeightsBlob(spec, nullptr, osc);
  ASSERT_TRUE(bool(idC));
  EXPECT_NE(*idC, *idA);
  EXPECT_EQ(specId(spec), spec99);
  // Another architecture of the same size: another spec id.
  spec.block.norm.eps *= 2;
  EXPECT_NE(specId(spec), spec99);
  spec.block.norm.eps /= 2;
  spec.weights.format = CheckpointFormat::None;
  EXPECT_TRUE(llvm::errorToBool(openWeights(spec).takeError()));
}

// --- Weights that are not finite (issue 13, finding 9) --------------------

class Poisoned : public ::testing::TestWithParam<const char *> {};

TEST_P(Poisoned, BlobWriterNamesTheTensorAndElement) {
  // The fixture writer put one NaN or infinity into one stored tensor and
  // says which; writing the blob must stop there, plain or packed, and
  // --allow-nonfinite's writer must carry the value through.
  FixtureSummary summary = loadFixtureSummary(GetParam());
  ASSERT_FALSE(summary.path.empty());
  const llvm::json::Object &poison = summary.object("poison");
  std::string tensor = poison.getString("tensor")->str();
  std::string value = poison.getString("value")->str();
  int64_t element = *poison.getInteger("element");
  std::vector<int64_t> shape = shapeOf(poison.getArray("shape"));
  std::vector<int64_t> index = shapeOf(poison.getArray("index"));
  std::string what = value == "nan"    ? "NaN"
                     : value[0] == '-' ? "-infinity"
                                       : "+infinity";
  auto list = [](const std::vector<int64_t> &v) {
    std::string out = "[";
    for (size_t k = 0; k < v.size(); ++k)
      out += (k ? ", " : "") + std::to_string(v[k]);
    return out + "]";
  };
  std::string expected = "tensor '" + tensor + "' " + list(shape) + " has " +
                         what + " at element " + std::to_string(element) + " " +
                         list(index);

  auto imported = importModel(summary.path);
  ASSERT_TRUE(bool(imported)) << llvm::toString(imported.takeError());
  const ModelSpec &spec = imported->spec;
  const Checkpoint *ckpt = imported->checkpoint.get();
  // Packed: every weight that tiles by 8, the poisoned one among them.
  WeightsLayout layout = weightsLayout(spec);
  for (bool packed : {false, true}) {
    WeightPacking packing;
    if (packed)
      for (const WeightDecl &d : layout.weights)
        if (d.shape.size() == 2 && d.shape[0] % 8 == 0)
          packing[d.name] = 8;
    llvm::SmallString<0> blob;
    llvm::raw_svector_ostream os(blob);
    std::string msg =
        llvm::toString(writeWeightsBlob(spec, ckpt, os, packing).takeError());
    EXPECT_NE(msg.find(expected), std::string::npos)
        << "expected '" << expected << "' in: " << msg;
    EXPECT_NE(msg.find("--allow-nonfinite"), std::string::npos) << msg;
  }
  llvm::SmallString<0> blob;
  llvm::raw_svector_ostream os(blob);
  auto id =
      writeWeightsBlob(spec, ckpt, os, {}, {}, {}, /*allowNonFinite=*/true);
  ASSERT_TRUE(bool(id)) << llvm::toString(id.takeError());
  size_t nonFinite = 0;
  for (size_t k = 0; k + 4 <= blob.size(); k += 4) {
    float x;
    std::memcpy(&x, blob.data() + k, 4);
    nonFinite += !std::isfinite(x);
  }
  EXPECT_EQ(nonFinite, 1u);
  // readWeight reads what is there.
  for (const WeightDecl &d : layout.weights) {
    std::vector<float> w(static_cast<size_t>(
        std::accumulate(d.shape.begin(), d.shape.end(), int64_t(1),
                        std::multiplies<int64_t>())));
    EXPECT_FALSE(bool(readWeight(spec, ckpt, d, w))) << d.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Writer, Poisoned,
                         ::testing::Values("llama2c-nan", "gguf-inf"),
                         testName);

TEST(Weights, PackedWeightsAreColumnTiles) {
  // A packed [N, K] weight (tfm-pack-weights) is stored as [N/P][K][P] at
  // its usual offset, then its last N mod P rows as one [K][N mod P] tile;
  // the other weights are unchanged. Checked against the row-major blob of
  // the same checkpoint, for a template and a plain name, with and without
  // a tail.
  auto imported = importModel(tmpPath("fixtures/st-gpt2"));
  ASSERT_TRUE(bool(imported)) << llvm::toString(imported.takeError());
  const ModelSpec &spec = imported->spec;
  WeightsLayout layout = weightsLayout(spec);
  llvm::SmallString<0> plain;
  llvm::raw_svector_ostream osPlain(plain);
  auto plainId = writeWeightsBlob(spec, imported->checkpoint.get(), osPlain);
  ASSERT_TRUE(bool(plainId)) << llvm::toString(plainId.takeError());
  for (int64_t embeddingTile : {5, 7, 64}) {
    WeightPacking packing;
    packing["layers.{i}.w1.weight"] = 8;              // [64, 16]
    packing["tok_embeddings.weight"] = embeddingTile; // [50, 16]
    llvm::SmallString<0> packed;
    llvm::raw_svector_ostream osPacked(packed);
    auto packedId =
        writeWeightsBlob(spec, imported->checkpoint.get(), osPacked, packing);
    ASSERT_TRUE(bool(packedId)) << llvm::toString(packedId.takeError());
    // The weights id hashes the bytes as written: packing changes it.
    EXPECT_NE(*plainId, *packedId);
    ASSERT_EQ(plain.size(), packed.size());
    int checked = 0;
    for (size_t i = 0; i < layout.weights.size(); ++i) {
      const WeightDecl &d = layout.weights[i];
      int64_t p = packing.lookup(d.templ).tile;
      const char *a = plain.data() + layout.offsets[i];
      const char *b = packed.data() + layout.offsets[i];
      if (!p) {
        int64_t n = 1;
        for (int64_t x : d.shape)
          n *= x;
        EXPECT_EQ(std::memcmp(a, b, 4 * n), 0) << d.name;
        continue;
      }
      ++checked;
      int64_t rows = d.shape[0], cols = d.shape[1];
      int64_t full = rows / p * p, tail = rows - full;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
          int64_t at = r < full ? ((r / p) * cols + c) * p + r % p
                                : full * cols + c * tail + (r - full);
          float x, y;
          std::memcpy(&x, a + 4 * (r * cols + c), 4);
          std::memcpy(&y, b + 4 * at, 4);
          ASSERT_EQ(x, y) << d.name << " tile " << p << " (" << r << ", " << c
                          << ")";
        }
    }
    EXPECT_GE(checked, 2);
  }
  // Only a matrix has tiles: anything else is refused with its name.
  WeightPacking packing;
  packing["final_norm.weight"] = 8;
  llvm::SmallString<0> bad;
  llvm::raw_svector_ostream osBad(bad);
  std::string msg = llvm::toString(
      writeWeightsBlob(spec, imported->checkpoint.get(), osBad, packing)
          .takeError());
  EXPECT_NE(msg.find("weight 'final_norm.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cannot be packed in tiles of 8 rows"), std::string::npos)
      << msg;
}

TEST(Weights, MergedWeightsAreOneWeight) {
  // A group of tfm-merge-projections (Q/K/V, w1/w3) is written as one
  // [sum N, K] weight at the first part's offset: for each component of
  // its encoding (f32: the one array), the parts' arrays one after the
  // other, each as the unmerged blob has it; zeros up to the next weight,
  // every other weight unchanged. GQA widths (32, 16, 16 rows of 32).
  auto imported = importModel(tmpPath("fixtures/st-llama"));
  ASSERT_TRUE(bool(imported)) << llvm::toString(imported.takeError());
  for (WeightStorage storage : {WeightStorage::F32, WeightStorage::F16,
                                WeightStorage::Q8_0, WeightStorage::Q4_0}) {
    ModelSpec spec = imported->spec;
    spec.weights = WeightsSpec();
    spec.weights.format = CheckpointFormat::Random;
    spec.weights.seed = 7;
    for (const WeightDecl &d : expectedWeights(spec))
      if (d.shape.size() == 2 && layerOf(d) >= 0 &&
          storage != WeightStorage::F32)
        spec.weights.storage[d.name] = storage;
    const std::string what = toString(storage);
    const formats::EncodingInfo &info = formats::encodingInfo(storage);
    WeightsLayout layout = weightsLayout(spec);
    WeightPacking packing;
    WeightMerges merges;
    for (const char *group : {"wq wk wv", "w1 w3"}) {
      WeightMerge &m = merges.emplace_back();
      m.tile = 8;
      for (llvm::StringRef stem : llvm::split(group, ' ')) {
        m.parts.push_back(("layers.{i}." + stem + ".weight").str());
        packing[m.parts.back()] = 8;
      }
    }
    llvm::SmallString<0> plain, merged;
    llvm::raw_svector_ostream osPlain(plain), osMerged(merged);
    ASSERT_TRUE(bool(writeWeightsBlob(spec, nullptr, osPlain, packing)));
    ASSERT_TRUE(
        bool(writeWeightsBlob(spec, nullptr, osMerged, packing, merges)));
    ASSERT_EQ(plain.size(), merged.size()) << what;
    // The bytes of component c (f32: the values) of the [rows, K] weight
    // at `at`.
    auto component = [&](const char *blob, uint64_t at, unsigned c,
                         int64_t rows, int64_t cols) {
      if (info.components.empty())
        return llvm::StringRef(blob + at, 4 * rows * cols);
      const formats::EncodingComponent &comp = info.components[c];
      return llvm::StringRef(blob + at +
                                 formats::componentOffset(info, c, rows, cols),
                             rows * cols / info.blockSize * comp.perBlock *
                                 formats::elementBytes(comp.kind));
    };
    std::string expected(plain.str());
    int groups = 0;
    for (size_t k = 0; k < layout.weights.size(); ++k) {
      const WeightDecl &d = layout.weights[k];
      auto m = llvm::find_if(merges, [&](const WeightMerge &m) {
        return m.parts.front() == d.templ;
      });
      if (m == merges.end())
        continue;
      ++groups;
      const size_t n = m->parts.size();
      ASSERT_EQ(layout.weights[k + n - 1].templ, m->parts.back());
      int64_t rows = 0, cols = d.shape[1];
      for (size_t j = 0; j < n; ++j)
        rows += layout.weights[k + j].shape[0];
      uint64_t begin = layout.offsets[k], end = layout.offsets[k + n];
      std::fill(expected.begin() + begin, expected.begin() + end, '\0');
      unsigned count = std::max<size_t>(info.components.size(), 1);
      for (unsigned c = 0; c < count; ++c) {
        std::string joined;
        for (size_t j = 0; j < n; ++j)
          joined += component(plain.data(), layout.offsets[k + j], c,
                              layout.weights[k + j].shape[0], cols)
                        .str();
        uint64_t at =
            begin + (info.components.empty()
                         ? 0
                         : formats::componentOffset(info, c, rows, cols));
        ASSERT_LE(at + joined.size(), end) << what << " " << d.name;
        std::copy(joined.begin(), joined.end(), expected.begin() + at);
      }
    }
    EXPECT_EQ(groups, 2 * spec.numLayers) << what;
    EXPECT_TRUE(expected == merged.str()) << what;
    // Only the next weights of the layout merge.
    WeightMerges bad{{{"layers.{i}.wq.weight", "layers.{i}.wv.weight"}, 8}};
    llvm::SmallString<0> none;
    llvm::raw_svector_ostream osNone(none);
    std::string msg = llvm::toString(
        writeWeightsBlob(spec, nullptr, osNone, packing, bad).takeError());
    EXPECT_NE(msg.find("cannot be merged with 'layers.{i}.wv.weight'"),
              std::string::npos)
        << msg;
  }
}

TEST(Weights, QuadsAreLanesOf4K) {
  // A weight packed in quads (tfm.weight `quads`) has the same blob as
  // without, but for its int8 values' full tiles: byte (k, c) of a tile's
  // [K'][P] values at (k - k % 4) * P + 4 c + k % 4. Its scales, its tail
  // tile (32 rows in tiles of 12: two tiles and 8 rows) and every other
  // weight are unchanged. q8_0 (32 values a block) and q4_0 (16 bytes).
  auto imported = importModel(tmpPath("fixtures/st-llama"));
  ASSERT_TRUE(bool(imported)) << llvm::toString(imported.takeError());
  for (WeightStorage storage : {WeightStorage::Q8_0, WeightStorage::Q4_0}) {
    ModelSpec spec = imported->spec;
    spec.weights = WeightsSpec();
    spec.weights.format = CheckpointFormat::Random;
    spec.weights.seed = 11;
    for (const WeightDecl &d : expectedWeights(spec))
      if (d.shape.size() == 2 && layerOf(d) >= 0)
        spec.weights.storage[d.name] = storage;
    const formats::EncodingInfo &info = formats::encodingInfo(storage);
    const std::string what = toString(storage);
    WeightsLayout layout = weightsLayout(spec);
    const char *name = "layers.{i}.wq.weight";
    const int64_t tile = 12;
    llvm::SmallString<0> plain, quads;
    llvm::raw_svector_ostream osPlain(plain), osQuads(quads);
    WeightPacking packing;
    packing[name] = {tile, false};
    ASSERT_TRUE(bool(writeWeightsBlob(spec, nullptr, osPlain, packing)));
    packing[name] = {tile, true};
    ASSERT_TRUE(bool(writeWeightsBlob(spec, nullptr, osQuads, packing)));
    ASSERT_EQ(plain.size(), quads.size()) << what;
    std::string expected(plain.str());
    int checked = 0;
    for (size_t i = 0; i < layout.weights.size(); ++i) {
      const WeightDecl &d = layout.weights[i];
      if (d.templ != name)
        continue;
      ++checked;
      const int64_t rows = d.shape[0], cols = d.shape[1];
      ASSERT_EQ(rows, 32) << what;
      // K': the values along a row; [K'][tile] bytes per full tile.
      const int64_t along = cols / info.blockSize * info.components[0].perBlock;
      const uint64_t values =
          layout.offsets[i] + formats::componentOffset(info, 0, rows, cols);
      for (int64_t t = 0; t < rows / tile; ++t)
        for (int64_t k = 0; k < along; ++k)
          for (int64_t c = 0; c < tile; ++c)
            expected[values + t * along * tile + (k - k % 4) * tile + 4 * c +
                     k % 4] = plain[values + (t * along + k) * tile + c];
    }
    EXPECT_EQ(checked, spec.numLayers) << what;
    EXPECT_NE(plain.str(), quads.str()) << what;
    EXPECT_TRUE(expected == quads.str()) << what;
  }
}

// st-gpt2's checkpoint has hidden 64: its spec with 32 names a w1 that
// disagrees with the file, whichever way the weights are opened.
TEST(Weights, ShapeMismatchIsReported) {
  auto imported = importModel(tmpPath("fixtures/st-gpt2"));
  ASSERT_TRUE(bool(imported)) << llvm::toString(imported.takeError());
  ModelSpec spec = imported->spec;
  // What a .tfm names: the checkpoint is opened and checked in one step.
  auto ckpt = openWeights(spec);
  ASSERT_TRUE(bool(ckpt)) << llvm::toString(ckpt.takeError());
  EXPECT_EQ((*ckpt)->getFormat(), Checkpoint::Format::Safetensors);
  spec.block.ffn.hidden = 32;
  std::string opened = llvm::toString(openWeights(spec).takeError());
  EXPECT_NE(opened.find("weight 'layers.0.w1.weight' [32, 16]"),
            std::string::npos)
      << opened;

  llvm::Error e = checkWeights(spec, *imported->checkpoint);
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

// The compiled block of signature s reads layer l's weights at
// layerOffsets[l] with the signature's relative offsets (GraphBuilder), so the
// layout must keep every layer whole, in order, and nothing else in between;
// layers whose weights have the same storage share a signature. Each fixture
// as it is (one signature) and with the 2-D weights of layers 1, 4, ... stored
// as q8_0 (two; the layout needs no q8_0 tensor in the file).
TEST(Weights, LayersFollowInOrderWithTheirSignatures) {
  for (const char *fixture :
       {"fixtures/gguf-gpt2.gguf", "fixtures/llama2c-untied.bin",
        "fixtures/st-llama"}) {
    auto imported = importModel(tmpPath(fixture));
    ASSERT_TRUE(bool(imported))
        << fixture << ": " << llvm::toString(imported.takeError());
    for (bool mixed : {false, true}) {
      ModelSpec spec = imported->spec;
      ASSERT_GE(spec.numLayers, 2) << fixture;
      auto q8Layer = [&](int64_t l) { return mixed && l % 3 == 1; };
      for (const WeightDecl &d : expectedWeights(spec))
        if (d.shape.size() == 2 && q8Layer(layerOf(d)))
          spec.weights.storage[d.name] = WeightStorage::Q8_0;
      std::string what = std::string(fixture) + (mixed ? " mixed" : "");
      WeightsLayout layout = weightsLayout(spec);
      ASSERT_EQ(layout.signatures.size(), mixed ? 2u : 1u) << what;
      ASSERT_EQ(layout.layerOffsets.size(), size_t(spec.numLayers)) << what;
      ASSERT_EQ(layout.layerSignature.size(), size_t(spec.numLayers)) << what;
      for (int64_t l = 0; l < spec.numLayers; ++l) {
        EXPECT_EQ(layout.layerSignature[l], q8Layer(l) ? 1u : 0u) << what;
        const LayerSignature &sig = layout.signatures[layout.layerSignature[l]];
        EXPECT_GT(sig.stride, 0u) << what;
        EXPECT_EQ(sig.stride % kWeightAlignment, 0u) << what;
        if (l + 1 < spec.numLayers) {
          EXPECT_EQ(layout.layerOffsets[l] + sig.stride,
                    layout.layerOffsets[l + 1])
              << what << " layer " << l;
        }
      }
      uint64_t layersEnd =
          layout.layerOffsets.back() +
          layout.signatures[layout.layerSignature.back()].stride;
      EXPECT_LE(layersEnd, layout.totalSize) << what;
      int64_t lastLayer = -1;
      size_t inLayer = 0; // the weight's index in its layer
      for (size_t k = 0; k < layout.weights.size(); ++k) {
        const WeightDecl &d = layout.weights[k];
        int64_t l = layerOf(d);
        WeightStorage storage = l >= 0 && d.shape.size() == 2 && q8Layer(l)
                                    ? WeightStorage::Q8_0
                                    : WeightStorage::F32;
        EXPECT_EQ(layout.storage[k], storage) << what << " " << d.name;
        uint64_t begin = layout.offsets[k],
                 end = begin + storedBytes(storage, d.shape);
        EXPECT_EQ(begin % kWeightAlignment, 0u) << what << " " << d.name;
        if (l < 0) {
          EXPECT_TRUE(end <= layout.layerOffsets[0] || begin >= layersEnd)
              << what << " " << d.name;
          continue;
        }
        inLayer = l == lastLayer ? inLayer + 1 : 0;
        lastLayer = l;
        const LayerSignature &sig = layout.signatures[layout.layerSignature[l]];
        uint64_t start = layout.layerOffsets[l];
        ASSERT_LT(inLayer, sig.offsets.size()) << what << " " << d.name;
        EXPECT_EQ(sig.storage[inLayer], storage) << what << " " << d.name;
        EXPECT_EQ(begin - start, sig.offsets[inLayer]) << what << " " << d.name;
        EXPECT_LE(end, start + sig.stride) << what << " " << d.name;
      }
    }
  }
}

TEST(Import, DeepConfigJsonIsAnError) {
  // Issue 13, finding 5: a config.json of 100,000 nested arrays overflowed
  // the JSON parser's stack.
  llvm::SmallString<256> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("tfm-deep-config", dir));
  std::string model = (dir + "/model.safetensors").str();
  ASSERT_FALSE(llvm::sys::fs::copy_file(
      tmpPath("fixtures/st-llama/model.safetensors"), model));
  {
    std::error_code ec;
    llvm::raw_fd_ostream config((dir + "/config.json").str(), ec);
    ASSERT_FALSE(ec);
    config << "{\"architectures\": " << std::string(100000, '[')
           << std::string(100000, ']') << "}";
  }
  auto imported = importModel(dir);
  ASSERT_FALSE(bool(imported));
  std::string msg = llvm::toString(imported.takeError());
  EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nested deeper than 128 levels"), std::string::npos)
      << msg;
  llvm::sys::fs::remove_directories(dir);
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

/// Imports `path` and checks the hyper-parameters of a llama2.c-style Llama
/// (RMSNorm 1e-5, interleaved RoPE with theta 10000, SwiGLU).
ImportedModel expectLlama(const std::string &path, int64_t dim, int64_t hidden,
                          int64_t layers, int64_t heads, int64_t kv,
                          int64_t vocab, int64_t ctx) {
  auto m = importModel(path);
  if (!m) {
    ADD_FAILURE() << llvm::toString(m.takeError());
    return {};
  }
  const ModelSpec &s = m->spec;
  EXPECT_EQ(s.dim, dim);
  EXPECT_EQ(s.block.ffn.hidden, hidden);
  EXPECT_EQ(s.numLayers, layers);
  EXPECT_EQ(s.block.attention.heads, heads);
  EXPECT_EQ(s.block.attention.kvHeads, kv);
  EXPECT_EQ(s.vocabSize, vocab);
  EXPECT_EQ(s.contextLength, ctx);
  EXPECT_EQ(s.block.norm.kind, NormKind::RMSNorm);
  EXPECT_FLOAT_EQ(s.block.norm.eps, 1e-5f);
  EXPECT_EQ(s.positional, PositionEncoding::Rope);
  EXPECT_EQ(s.ropePairing, RopePairing::Interleaved);
  EXPECT_FLOAT_EQ(s.ropeTheta, 10000.0f);
  EXPECT_TRUE(s.block.ffn.gated);
  return std::move(*m);
}

TEST(RealModels, Stories260K) {
  REQUIRE_SHARED("stories260K/model.bin");
  ModelSpec s = expectLlama(path, 64, 172, 5, 8, 4, 512, 512).spec;
  EXPECT_TRUE(s.tiedHead);
  EXPECT_EQ(s.name, "stories260K");
  EXPECT_EQ(s.tokenizer.kind, TokenizerKind::SentencePiece);
  EXPECT_EQ(llvm::sys::path::filename(s.tokenizer.path), "tokenizer.bin");
}

TEST(RealModels, AiDreams260K) {
  REQUIRE_SHARED("aidreams260K/model.bin");
  EXPECT_TRUE(expectLlama(path, 64, 172, 4, 4, 4, 512, 128).spec.tiedHead);
}

TEST(RealModels, Stories260KGgufEqualsLlama2c) {
  REQUIRE_SHARED("stories260K-gguf/model.gguf");
  ImportedModel g = expectLlama(path, 64, 172, 5, 8, 4, 512, 2048);
  ASSERT_TRUE(g.checkpoint);
  EXPECT_FALSE(g.spec.tiedHead); // It carries output.weight.
  EXPECT_EQ(g.spec.tokenizer.kind, TokenizerKind::SentencePiece);
  EXPECT_EQ(g.spec.tokenizer.path, path);
  const Checkpoint &gc = *g.checkpoint;
  const TensorInfo *emb = gc.find("token_embd.weight");
  ASSERT_TRUE(emb);
  EXPECT_EQ(emb->shape, (std::vector<int64_t>{512, 64}));
  auto toks = gc.getGguf()->getStringArray("tokenizer.ggml.tokens");
  ASSERT_TRUE(toks);
  EXPECT_EQ(toks->size(), 512u);
  // The tokenizer comes from the open checkpoint, and equals the one read
  // from the file by itself.
  auto fromCkpt = loadModelTokenizer(g.spec, &gc);
  ASSERT_TRUE(bool(fromCkpt)) << llvm::toString(fromCkpt.takeError());
  auto fromFile = formats::loadTokenizer(path);
  ASSERT_TRUE(bool(fromFile)) << llvm::toString(fromFile.takeError());
  EXPECT_EQ((*fromCkpt)->serialize(), (*fromFile)->serialize());

  // The README: weights bit-identical to the llama2.c checkpoint.
  std::string binPath = shared + "/models/stories260K/model.bin";
  if (!llvm::sys::fs::exists(binPath))
    return;
  auto l = importModel(binPath);
  ASSERT_TRUE(bool(l)) << llvm::toString(l.takeError());
  for (const WeightDecl &d : expectedWeights(l->spec)) {
    int64_t n = 1;
    for (int64_t x : d.shape)
      n *= x;
    std::vector<float> a(n), b(n);
    ASSERT_FALSE(bool(readWeight(l->spec, l->checkpoint.get(), d, a)))
        << d.name;
    ASSERT_FALSE(bool(readWeight(g.spec, &gc, d, b))) << d.name;
    EXPECT_EQ(std::memcmp(a.data(), b.data(), 4 * n), 0) << d.name;
  }
}

TEST(RealModels, TinyGpt2) {
  REQUIRE_SHARED("tiny-gpt2/config.json");
  std::string dir = shared + "/models/tiny-gpt2";
  auto m = importModel(dir);
  ASSERT_TRUE(bool(m)) << llvm::toString(m.takeError());
  const ModelSpec *s = &m->spec;
  EXPECT_EQ(s->arch, "gpt2");
  EXPECT_EQ(s->numLayers, 2);
  EXPECT_EQ(s->block.attention.heads, 2);
  EXPECT_EQ(s->dim, 2);
  EXPECT_EQ(s->contextLength, 1024);
  EXPECT_EQ(s->vocabSize, 50257);
  EXPECT_EQ(s->block.ffn.activation, Activation::GeluTanh);
  EXPECT_EQ(s->block.norm.kind, NormKind::LayerNorm);
  EXPECT_FLOAT_EQ(s->block.norm.eps, 1e-5f);
  EXPECT_EQ(s->positional, PositionEncoding::Learned);
  EXPECT_TRUE(s->tiedHead);
  // The shared file lacks attn.c_attn.bias (see its tensor list); the other
  // biases are there.
  EXPECT_FALSE(s->block.attention.qkvBias);
  EXPECT_TRUE(s->block.attention.outBias);
  EXPECT_TRUE(s->block.ffn.bias);
  EXPECT_EQ(s->block.ffn.hidden, 8); // n_inner absent: 4 * n_embd
  EXPECT_EQ(s->tokenizer.kind, TokenizerKind::Gpt2);
  EXPECT_EQ(s->name, "tiny-gpt2");
  EXPECT_FALSE(bool(checkWeights(*s, *m->checkpoint)));
}

// --- One validator, and the values a checkpoint states ---------------------

/// The key of validateSpec's error, or "" when the spec is valid.
std::string invalidKey(const ModelSpec &spec) {
  std::string key;
  llvm::handleAllErrors(validateSpec(spec), [&](const SpecError &e) {
    key = toString(e.getKey());
  });
  return key;
}

TEST(ModelSpec, ValidatorNamesTheKeyOfEachProblem) {
  ModelSpec base = archDefaults(ArchFamily::Llama);
  base.vocabSize = 32;
  base.dim = 16;
  base.contextLength = 8;
  base.numLayers = 2;
  base.block.attention = {4, 2, 4};
  base.block.ffn.hidden = 24;
  ASSERT_EQ(invalidKey(base), "");
  struct Case {
    const char *key;
    void (*edit)(ModelSpec &);
  } cases[] = {
      {"eps", [](ModelSpec &s) { s.block.norm.eps = -1; }},
      {"eps", [](ModelSpec &s) { s.block.norm.eps = 1; }},
      {"theta", [](ModelSpec &s) { s.ropeTheta = -5; }},
      {"scale", [](ModelSpec &s) { s.embeddingScale = 0; }},
      {"kv_heads", [](ModelSpec &s) { s.block.attention.kvHeads = 3; }},
      {"positions", [](ModelSpec &s) { s.block.attention.headDim = 5; }},
      {"vocab", [](ModelSpec &s) { s.vocabSize = 0; }},
      {"layers", [](ModelSpec &s) { s.numLayers = kMaxLayers + 1; }},
      {"model", // The KV cache: 2^10 * 2 * 2^12 * 2^24 * 2^12 floats.
       [](ModelSpec &s) {
         s.numLayers = kMaxLayers;
         s.contextLength = kMaxContext;
         s.block.attention = {4096, 4096, 4096};
       }},
      {"tokenizer",
       [](ModelSpec &s) { s.tokenizer.kind = TokenizerKind::SentencePiece; }},
  };
  for (const Case &c : cases) {
    ModelSpec spec = base;
    c.edit(spec);
    EXPECT_EQ(invalidKey(spec), c.key) << c.key;
  }
  // Theta only matters with rope.
  ModelSpec learned = base;
  learned.positional = PositionEncoding::Learned;
  learned.ropeTheta = -5;
  EXPECT_EQ(invalidKey(learned), "");
}

TEST(ModelSpec, ArchDefaultsAreTheFamiliesConventions) {
  ModelSpec llama = archDefaults(ArchFamily::Llama);
  EXPECT_EQ(llama.positional, PositionEncoding::Rope);
  EXPECT_EQ(llama.block.norm.kind, NormKind::RMSNorm);
  EXPECT_TRUE(llama.block.ffn.gated);
  EXPECT_FALSE(llama.block.attention.qkvBias);
  ModelSpec gpt2 = archDefaults(ArchFamily::Gpt2);
  EXPECT_EQ(gpt2.positional, PositionEncoding::Learned);
  EXPECT_EQ(gpt2.block.norm.kind, NormKind::LayerNorm);
  EXPECT_EQ(gpt2.block.ffn.activation, Activation::GeluTanh);
  EXPECT_TRUE(gpt2.block.attention.qkvBias && gpt2.block.ffn.bias);
  EXPECT_EQ(archFamily("GPT-2"), ArchFamily::Gpt2);
  EXPECT_EQ(archFamily("mistral"), ArchFamily::Llama);
}

TEST(StatedValues, EveryFormatStatesItsHeader) {
  for (const char *name :
       {"llama2c-gqa", "gguf-llama", "st-llama", "st-gpt2"}) {
    FixtureSummary summary = loadFixtureSummary(name);
    ASSERT_FALSE(summary.path.empty()) << name;
    auto imported = importModel(summary.path);
    ASSERT_TRUE(bool(imported)) << llvm::toString(imported.takeError());
    auto stated = statedValues(summary.path, *imported->checkpoint);
    ASSERT_TRUE(bool(stated)) << llvm::toString(stated.takeError());
    std::map<std::string, double> byKey;
    for (const StatedValue &v : *stated)
      byKey[toString(v.key)] = v.value;
    const llvm::json::Object &s = summary.object("spec");
    EXPECT_EQ(byKey["heads"], *s.getInteger("heads")) << name;
    EXPECT_EQ(byKey["layers"], *s.getInteger("num_layers")) << name;
    EXPECT_EQ(byKey["dim"], *s.getInteger("dim")) << name;
    EXPECT_EQ(byKey["vocab"], *s.getInteger("vocab_size")) << name;
    // The imported spec agrees with its own checkpoint; one edit does not.
    EXPECT_FALSE(bool(checkStatedValues(imported->spec, *stated))) << name;
    ModelSpec edited = imported->spec;
    edited.numLayers += 1;
    std::string key, message;
    llvm::handleAllErrors(checkStatedValues(edited, *stated),
                          [&](const SpecError &e) {
                            key = toString(e.getKey());
                            message = e.getMessage();
                          });
    EXPECT_EQ(key, "layers") << name;
    EXPECT_NE(message.find("layers is " + std::to_string(edited.numLayers) +
                           ", but the checkpoint has "),
              std::string::npos)
        << message;
  }
}

} // namespace
