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

std::vector<uint8_t> wordTokenizerBytes(std::unique_ptr<Tokenizer> &Tok) {
  std::vector<std::string> Pieces = {"<unk>", "<s>", "</s>"};
  // Single characters: encoding needs no merges.
  for (const char *C :
       {"\xE2\x96\x81", "O", "n", "c", "e", "u", "p", "a", "t", "i", "m", "o"})
    Pieces.push_back(C);
  Pieces.push_back("\xE4\xB8\xAD"); // a CJK character, one piece
  std::vector<TokenType> Types(Pieces.size(), TokenType::Normal);
  Types[0] = TokenType::Unknown;
  Types[1] = Types[2] = TokenType::Control;
  std::string Error;
  Tok = Tokenizer::createSentencePiece(
      Pieces, std::vector<float>(Pieces.size(), 0.0f), Types, 1, 2, Error);
  EXPECT_TRUE(Tok) << Error;
  return Tok->serialize();
}

TEST(TextApi, TokenizeDetokenizeDecode) {
  std::unique_ptr<Tokenizer> Ref;
  std::vector<uint8_t> Bytes = wordTokenizerBytes(Ref);
  TfmModelInfo M = {};
  M.tokenizer = Bytes.data();
  M.tokenizer_bytes = int64_t(Bytes.size());
  char Err[128] = "";
  TfmTokenizer *Tok = tfm_tokenizer_create(&M, Err, sizeof Err);
  ASSERT_NE(Tok, nullptr) << Err;
  EXPECT_EQ(tfm_tokenizer_bos(Tok), 1);
  EXPECT_EQ(tfm_tokenizer_eos(Tok), 2);
  EXPECT_EQ(tfm_tokenizer_add_bos_default(Tok), 1);

  const char *Text = "Once upon a time";
  std::vector<int32_t> Want = Ref->encode(Text, true);
  int32_t Ids[32];
  EXPECT_EQ(tfm_tokenize(Tok, Text, std::strlen(Text), -1, Ids, 32),
            int64_t(Want.size()));
  EXPECT_EQ(std::vector<int32_t>(Ids, Ids + Want.size()), Want);
  EXPECT_EQ(tfm_tokenize(Tok, Text, std::strlen(Text), 0, Ids, 32),
            int64_t(Want.size() - 1));
  // A short buffer: the count of all, the first `capacity` written.
  int32_t Two[2] = {-7, -7};
  EXPECT_EQ(tfm_tokenize(Tok, Text, std::strlen(Text), 1, Two, 2),
            int64_t(Want.size()));
  EXPECT_EQ(Two[0], Want[0]);
  EXPECT_EQ(Two[1], Want[1]);
  EXPECT_EQ(tfm_tokenize(Tok, Text, std::strlen(Text), 1, nullptr, 0),
            int64_t(Want.size()));

  // detokenize: snprintf's rule.
  char Buf[64];
  EXPECT_EQ(
      tfm_detokenize(Tok, Want.data(), int64_t(Want.size()), Buf, sizeof Buf),
      16);
  EXPECT_STREQ(Buf, "Once upon a time");
  char Small[5];
  EXPECT_EQ(tfm_detokenize(Tok, Want.data(), int64_t(Want.size()), Small,
                           sizeof Small),
            16);
  EXPECT_STREQ(Small, "Once");

  // The decoder streams what TokenDecoder streams.
  TfmDecoder *Dec = tfm_decoder_create(Tok);
  TokenDecoder RefDec(*Ref);
  for (int32_t Id : {1, 3, 4, 5, 6, 15, 3, 14}) {
    size_t Len = 99;
    const char *Got = tfm_decoder_push(Dec, Id, &Len);
    std::string Expected = RefDec.push(Id);
    EXPECT_EQ(std::string(Got, Len), Expected);
  }
  size_t Len = 99;
  EXPECT_STREQ(tfm_decoder_finish(Dec, &Len), "");
  EXPECT_EQ(Len, 0u);
  tfm_decoder_destroy(Dec);
  tfm_tokenizer_destroy(Tok);

  // NULL objects and models without a tokenizer.
  M.tokenizer = nullptr;
  EXPECT_EQ(tfm_tokenizer_create(&M, Err, sizeof Err), nullptr);
  EXPECT_NE(std::string(Err).find("no tokenizer"), std::string::npos) << Err;
  EXPECT_EQ(tfm_tokenize(nullptr, "a", 1, -1, Ids, 32), -1);
  EXPECT_EQ(tfm_detokenize(nullptr, Ids, 1, Buf, sizeof Buf), -1);
  EXPECT_EQ(tfm_decoder_create(nullptr), nullptr);
  EXPECT_EQ(tfm_decoder_push(nullptr, 1, nullptr), nullptr);
  EXPECT_EQ(tfm_tokenizer_bos(nullptr), -1);
  tfm_tokenizer_destroy(nullptr);
  tfm_decoder_destroy(nullptr);
}

TEST(TextApi, SamplerIsTheExecutablesSampler) {
  TfmSamplerParams P;
  tfm_sampler_default_params(&P);
  SamplerParams D;
  EXPECT_EQ(P.temperature, D.temperature);
  EXPECT_EQ(P.top_k, D.topK);
  EXPECT_EQ(P.top_p, D.topP);
  EXPECT_EQ(P.min_p, D.minP);
  EXPECT_EQ(P.repeat_penalty, D.repeatPenalty);
  EXPECT_EQ(P.repeat_last_n, D.repeatLastN);
  P.seed = D.seed = 1234;
  P.repeat_penalty = D.repeatPenalty = 1.3f;
  TfmSampler *S = tfm_sampler_create(&P);
  Sampler Ref(D);
  std::vector<float> Logits = {0.1f, 2.0f, 1.5f, 1.9f, -1.0f, 0.7f, 1.8f};
  for (int Step = 0; Step < 50; ++Step) {
    int32_t A = tfm_sampler_sample(S, Logits.data(), int64_t(Logits.size()));
    int32_t B = Ref.sample(Logits.data(), int64_t(Logits.size()));
    ASSERT_EQ(A, B) << "step " << Step;
    tfm_sampler_accept(S, A);
    Ref.accept(B);
  }
  EXPECT_EQ(tfm_sampler_sample(S, nullptr, 7), -1);
  EXPECT_EQ(tfm_sampler_sample(S, Logits.data(), 0), -1);
  EXPECT_EQ(tfm_sampler_sample(nullptr, Logits.data(), 7), -1);
  EXPECT_EQ(tfm_sampler_create(nullptr), nullptr);
  tfm_sampler_accept(nullptr, 1);
  tfm_sampler_destroy(S);
  tfm_sampler_destroy(nullptr);
}

} // namespace
