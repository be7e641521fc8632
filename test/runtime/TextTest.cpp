//===- TextTest.cpp - The C API of tokenizers, decoders and samplers ------===//
//
// Text.h against the C++ classes it wraps: the same ids, text and samples;
// NULL objects and short buffers handled as documented.
//
//===----------------------------------------------------------------------===//

#include "FakeModel.h"

#include "tfm/runtime/Sampler.h"
#include "tfm/runtime/Text.h"
#include "tfm/runtime/Tokenizer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

using namespace tfm::rt;

namespace {

std::vector<uint8_t> wordTokenizerBytes(std::unique_ptr<Tokenizer> &tok) {
  std::vector<std::string> pieces = {"<unk>", "<s>", "</s>"};
  // Single characters: encoding needs no merges.
  for (const char *c :
       {"\xE2\x96\x81", "O", "n", "c", "e", "u", "p", "a", "t", "i", "m", "o"})
    pieces.push_back(c);
  pieces.push_back("\xE4\xB8\xAD"); // a CJK character, one piece
  std::vector<TokenType> types(pieces.size(), TokenType::Normal);
  types[0] = TokenType::Unknown;
  types[1] = types[2] = TokenType::Control;
  std::string error;
  tok = Tokenizer::createSentencePiece(
      pieces, std::vector<float>(pieces.size(), 0.0f), types, 1, 2, error);
  EXPECT_TRUE(tok) << error;
  return tok->serialize();
}

TEST(TextApi, TokenizeDetokenizeDecode) {
  std::unique_ptr<Tokenizer> ref;
  std::vector<uint8_t> bytes = wordTokenizerBytes(ref);
  TfmModelInfo m = {};
  m.tokenizer = bytes.data();
  m.tokenizer_bytes = int64_t(bytes.size());
  char err[128] = "";
  TfmTokenizer *tok = tfm_tokenizer_create(&m, err, sizeof err);
  ASSERT_NE(tok, nullptr) << err;
  EXPECT_EQ(tfm_tokenizer_bos(tok), 1);
  EXPECT_EQ(tfm_tokenizer_eos(tok), 2);
  EXPECT_EQ(tfm_tokenizer_add_bos_default(tok), 1);

  const char *text = "Once upon a time";
  std::vector<int32_t> want = ref->encode(text, true);
  int32_t ids[32];
  EXPECT_EQ(tfm_tokenize(tok, text, std::strlen(text), -1, ids, 32),
            int64_t(want.size()));
  EXPECT_EQ(std::vector<int32_t>(ids, ids + want.size()), want);
  EXPECT_EQ(tfm_tokenize(tok, text, std::strlen(text), 0, ids, 32),
            int64_t(want.size() - 1));
  // A short buffer: the count of all, the first `capacity` written.
  int32_t two[2] = {-7, -7};
  EXPECT_EQ(tfm_tokenize(tok, text, std::strlen(text), 1, two, 2),
            int64_t(want.size()));
  EXPECT_EQ(two[0], want[0]);
  EXPECT_EQ(two[1], want[1]);
  EXPECT_EQ(tfm_tokenize(tok, text, std::strlen(text), 1, nullptr, 0),
            int64_t(want.size()));

  // detokenize: snprintf's rule.
  char buf[64];
  EXPECT_EQ(
      tfm_detokenize(tok, want.data(), int64_t(want.size()), buf, sizeof buf),
      16);
  EXPECT_STREQ(buf, "Once upon a time");
  char small[5];
  EXPECT_EQ(tfm_detokenize(tok, want.data(), int64_t(want.size()), small,
                           sizeof small),
            16);
  EXPECT_STREQ(small, "Once");

  // The decoder streams what TokenDecoder streams.
  TfmDecoder *dec = tfm_decoder_create(tok);
  TokenDecoder refDec(*ref);
  for (int32_t id : {1, 3, 4, 5, 6, 15, 3, 14}) {
    size_t len = 99;
    const char *got = tfm_decoder_push(dec, id, &len);
    std::string expected = refDec.push(id);
    EXPECT_EQ(std::string(got, len), expected);
  }
  size_t len = 99;
  EXPECT_STREQ(tfm_decoder_finish(dec, &len), "");
  EXPECT_EQ(len, 0u);
  tfm_decoder_destroy(dec);
  tfm_tokenizer_destroy(tok);

  // NULL objects and models without a tokenizer.
  m.tokenizer = nullptr;
  EXPECT_EQ(tfm_tokenizer_create(&m, err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("no tokenizer"), std::string::npos) << err;
  EXPECT_EQ(tfm_tokenize(nullptr, "a", 1, -1, ids, 32), -1);
  EXPECT_EQ(tfm_detokenize(nullptr, ids, 1, buf, sizeof buf), -1);
  EXPECT_EQ(tfm_decoder_create(nullptr), nullptr);
  EXPECT_EQ(tfm_decoder_push(nullptr, 1, nullptr), nullptr);
  EXPECT_EQ(tfm_tokenizer_bos(nullptr), -1);
  tfm_tokenizer_destroy(nullptr);
  tfm_decoder_destroy(nullptr);
}

TEST(TextApi, SamplerIsTheExecutablesSampler) {
  TfmSamplerParams p;
  tfm_sampler_default_params(&p);
  SamplerParams d;
  EXPECT_EQ(p.temperature, d.temperature);
  EXPECT_EQ(p.top_k, d.topK);
  EXPECT_EQ(p.top_p, d.topP);
  EXPECT_EQ(p.min_p, d.minP);
  EXPECT_EQ(p.repeat_penalty, d.repeatPenalty);
  EXPECT_EQ(p.repeat_last_n, d.repeatLastN);
  p.seed = d.seed = 1234;
  p.repeat_penalty = d.repeatPenalty = 1.3f;
  TfmSampler *s = tfm_sampler_create(&p);
  Sampler ref(d);
  std::vector<float> logits = {0.1f, 2.0f, 1.5f, 1.9f, -1.0f, 0.7f, 1.8f};
  for (int step = 0; step < 50; ++step) {
    int32_t a = tfm_sampler_sample(s, logits.data(), int64_t(logits.size()));
    int32_t b = ref.sample(logits.data(), int64_t(logits.size()));
    ASSERT_EQ(a, b) << "step " << step;
    tfm_sampler_accept(s, a);
    ref.accept(b);
  }
  EXPECT_EQ(tfm_sampler_sample(s, nullptr, 7), -1);
  EXPECT_EQ(tfm_sampler_sample(s, logits.data(), 0), -1);
  EXPECT_EQ(tfm_sampler_sample(nullptr, logits.data(), 7), -1);
  EXPECT_EQ(tfm_sampler_create(nullptr), nullptr);
  tfm_sampler_accept(nullptr, 1);
  tfm_sampler_destroy(s);
  tfm_sampler_destroy(nullptr);
}

} // namespace
