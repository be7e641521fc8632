//===- Text.cpp - The C API of tokenizers, decoders and samplers ----------===//
//
// Thin wrappers over Tokenizer, TokenDecoder and Sampler (see Text.h). Built
// with exceptions, like Session.cpp, so that none crosses the C API.
//
//===----------------------------------------------------------------------===//

#include "tfm/runtime/Text.h"
#include "tfm/runtime/Sampler.h"
#include "tfm/runtime/Tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>

using tfm::rt::Sampler;
using tfm::rt::SamplerParams;
using tfm::rt::TokenDecoder;
using tfm::rt::Tokenizer;

struct TfmTokenizer {
  std::unique_ptr<Tokenizer> Tok;
};

struct TfmDecoder {
  explicit TfmDecoder(const Tokenizer &T) : Dec(T) {}
  TokenDecoder Dec;
  std::string Text; ///< The last string returned.
};

struct TfmSampler {
  explicit TfmSampler(const SamplerParams &P) : Smp(P) {}
  Sampler Smp;
};

namespace {

/// Body(), or Fallback if it throws.
template <typename Fn, typename T> T noThrow(Fn &&Body, T Fallback) {
  try {
    return Body();
  } catch (...) {
    return Fallback;
  }
}

void setError(char *Err, size_t Len, const std::string &Message) {
  if (Err && Len)
    std::snprintf(Err, Len, "%s", Message.c_str());
}

const char *textOf(TfmDecoder *D, std::string Text, size_t *Len) {
  D->Text = std::move(Text);
  if (Len)
    *Len = D->Text.size();
  return D->Text.c_str();
}

} // namespace

extern "C" TfmTokenizer *tfm_tokenizer_create(const TfmModelInfo *model,
                                              char *err, size_t errlen) {
  return noThrow(
      [&]() -> TfmTokenizer * {
        if (!model || !model->tokenizer || model->tokenizer_bytes <= 0) {
          setError(err, errlen,
                   model ? "the model has no tokenizer (compiled with "
                           "tokenizer = none)"
                         : "no model (NULL)");
          return nullptr;
        }
        std::string Error;
        auto Tok = Tokenizer::deserialize(
            model->tokenizer, size_t(model->tokenizer_bytes), Error);
        if (!Tok) {
          setError(err, errlen, "the embedded tokenizer is invalid: " + Error);
          return nullptr;
        }
        return new TfmTokenizer{std::move(Tok)};
      },
      static_cast<TfmTokenizer *>(nullptr));
}

extern "C" void tfm_tokenizer_destroy(TfmTokenizer *tok) { delete tok; }

extern "C" int32_t tfm_tokenizer_bos(const TfmTokenizer *tok) {
  return tok ? tok->Tok->bos() : -1;
}

extern "C" int32_t tfm_tokenizer_eos(const TfmTokenizer *tok) {
  return tok ? tok->Tok->eos() : -1;
}

extern "C" int tfm_tokenizer_add_bos_default(const TfmTokenizer *tok) {
  return tok ? int(tok->Tok->addBosByDefault()) : -1;
}

extern "C" int64_t tfm_tokenize(const TfmTokenizer *tok, const char *text,
                                size_t len, int add_bos, int32_t *ids,
                                int64_t capacity) {
  if (!tok || (!text && len) || capacity < 0 || (!ids && capacity))
    return -1;
  return noThrow(
      [&]() -> int64_t {
        bool Bos = add_bos < 0 ? tok->Tok->addBosByDefault() : add_bos != 0;
        std::vector<int32_t> Out =
            tok->Tok->encode(std::string_view(text ? text : "", len), Bos);
        std::copy_n(Out.begin(), std::min<int64_t>(capacity, Out.size()), ids);
        return int64_t(Out.size());
      },
      int64_t(-1));
}

extern "C" int64_t tfm_detokenize(const TfmTokenizer *tok, const int32_t *ids,
                                  int64_t n, char *buf, size_t capacity) {
  if (!tok || n < 0 || (!ids && n) || (!buf && capacity))
    return -1;
  return noThrow(
      [&]() -> int64_t {
        std::string Text = tok->Tok->decode(std::vector<int32_t>(ids, ids + n));
        if (capacity) {
          size_t K = std::min(Text.size(), capacity - 1);
          std::memcpy(buf, Text.data(), K);
          buf[K] = '\0';
        }
        return int64_t(Text.size());
      },
      int64_t(-1));
}

extern "C" TfmDecoder *tfm_decoder_create(const TfmTokenizer *tok) {
  if (!tok)
    return nullptr;
  return noThrow([&] { return new TfmDecoder(*tok->Tok); },
                 static_cast<TfmDecoder *>(nullptr));
}

extern "C" const char *tfm_decoder_push(TfmDecoder *dec, int32_t id,
                                        size_t *len) {
  if (!dec)
    return nullptr;
  return noThrow([&] { return textOf(dec, dec->Dec.push(id), len); },
                 static_cast<const char *>(nullptr));
}

extern "C" const char *tfm_decoder_finish(TfmDecoder *dec, size_t *len) {
  if (!dec)
    return nullptr;
  return noThrow([&] { return textOf(dec, dec->Dec.finish(), len); },
                 static_cast<const char *>(nullptr));
}

extern "C" void tfm_decoder_destroy(TfmDecoder *dec) { delete dec; }

extern "C" void tfm_sampler_default_params(TfmSamplerParams *params) {
  if (!params)
    return;
  SamplerParams D;
  *params = {D.temperature,   D.topK,        D.topP, D.minP,
             D.repeatPenalty, D.repeatLastN, D.seed};
}

extern "C" TfmSampler *tfm_sampler_create(const TfmSamplerParams *params) {
  if (!params)
    return nullptr;
  SamplerParams P;
  P.temperature = params->temperature;
  P.topK = params->top_k;
  P.topP = params->top_p;
  P.minP = params->min_p;
  P.repeatPenalty = params->repeat_penalty;
  P.repeatLastN = params->repeat_last_n;
  P.seed = params->seed;
  return noThrow([&] { return new TfmSampler(P); },
                 static_cast<TfmSampler *>(nullptr));
}

extern "C" int32_t tfm_sampler_sample(TfmSampler *smp, const float *logits,
                                      int64_t n) {
  if (!smp || !logits || n < 1)
    return -1;
  return noThrow([&] { return smp->Smp.sample(logits, n); }, int32_t(-1));
}

extern "C" void tfm_sampler_accept(TfmSampler *smp, int32_t token) {
  if (smp)
    noThrow(
        [&] {
          smp->Smp.accept(token);
          return 0;
        },
        0);
}

extern "C" void tfm_sampler_destroy(TfmSampler *smp) { delete smp; }
