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
  std::unique_ptr<Tokenizer> tok;
};

struct TfmDecoder {
  explicit TfmDecoder(const Tokenizer &t) : dec(t) {}
  TokenDecoder dec;
  std::string text; ///< The last string returned.
};

struct TfmSampler {
  explicit TfmSampler(const SamplerParams &p) : smp(p) {}
  Sampler smp;
};

namespace {

/// Body(), or Fallback if it throws.
template <typename Fn, typename T> T noThrow(Fn &&body, T fallback) {
  try {
    return body();
  } catch (...) {
    return fallback;
  }
}

void setError(char *err, size_t len, const std::string &message) {
  if (err && len)
    std::snprintf(err, len, "%s", message.c_str());
}

const char *textOf(TfmDecoder *d, std::string text, size_t *len) {
  d->text = std::move(text);
  if (len)
    *len = d->text.size();
  return d->text.c_str();
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
        std::string error;
        auto tok = Tokenizer::deserialize(
            model->tokenizer, size_t(model->tokenizer_bytes), error);
        if (!tok) {
          setError(err, errlen, "the embedded tokenizer is invalid: " + error);
          return nullptr;
        }
        return new TfmTokenizer{std::move(tok)};
      },
      static_cast<TfmTokenizer *>(nullptr));
}

extern "C" void tfm_tokenizer_destroy(TfmTokenizer *tok) { delete tok; }

extern "C" int32_t tfm_tokenizer_bos(const TfmTokenizer *tok) {
  return tok ? tok->tok->getBos() : -1;
}

extern "C" int32_t tfm_tokenizer_eos(const TfmTokenizer *tok) {
  return tok ? tok->tok->getEos() : -1;
}

extern "C" int tfm_tokenizer_add_bos_default(const TfmTokenizer *tok) {
  return tok ? int(tok->tok->getAddBosByDefault()) : -1;
}

extern "C" int64_t tfm_tokenize(const TfmTokenizer *tok, const char *text,
                                size_t len, int add_bos, int32_t *ids,
                                int64_t capacity) {
  if (!tok || (!text && len) || capacity < 0 || (!ids && capacity))
    return -1;
  return noThrow(
      [&]() -> int64_t {
        bool bos = add_bos < 0 ? tok->tok->getAddBosByDefault() : add_bos != 0;
        std::vector<int32_t> out =
            tok->tok->encode(std::string_view(text ? text : "", len), bos);
        std::copy_n(out.begin(), std::min<int64_t>(capacity, out.size()), ids);
        return int64_t(out.size());
      },
      int64_t(-1));
}

extern "C" int64_t tfm_detokenize(const TfmTokenizer *tok, const int32_t *ids,
                                  int64_t n, char *buf, size_t capacity) {
  if (!tok || n < 0 || (!ids && n) || (!buf && capacity))
    return -1;
  return noThrow(
      [&]() -> int64_t {
        std::string text = tok->tok->decode(std::vector<int32_t>(ids, ids + n));
        if (capacity) {
          size_t k = std::min(text.size(), capacity - 1);
          std::memcpy(buf, text.data(), k);
          buf[k] = '\0';
        }
        return int64_t(text.size());
      },
      int64_t(-1));
}

extern "C" TfmDecoder *tfm_decoder_create(const TfmTokenizer *tok) {
  if (!tok)
    return nullptr;
  return noThrow([&] { return new TfmDecoder(*tok->tok); },
                 static_cast<TfmDecoder *>(nullptr));
}

extern "C" const char *tfm_decoder_push(TfmDecoder *dec, int32_t id,
                                        size_t *len) {
  if (!dec)
    return nullptr;
  return noThrow([&] { return textOf(dec, dec->dec.push(id), len); },
                 static_cast<const char *>(nullptr));
}

extern "C" const char *tfm_decoder_finish(TfmDecoder *dec, size_t *len) {
  if (!dec)
    return nullptr;
  return noThrow([&] { return textOf(dec, dec->dec.finish(), len); },
                 static_cast<const char *>(nullptr));
}

extern "C" void tfm_decoder_destroy(TfmDecoder *dec) { delete dec; }

extern "C" void tfm_sampler_default_params(TfmSamplerParams *params) {
  if (!params)
    return;
  SamplerParams d;
  *params = {d.temperature,   d.topK,        d.topP, d.minP,
             d.repeatPenalty, d.repeatLastN, d.seed};
}

extern "C" TfmSampler *tfm_sampler_create(const TfmSamplerParams *params) {
  if (!params)
    return nullptr;
  SamplerParams p;
  p.temperature = params->temperature;
  p.topK = params->top_k;
  p.topP = params->top_p;
  p.minP = params->min_p;
  p.repeatPenalty = params->repeat_penalty;
  p.repeatLastN = params->repeat_last_n;
  p.seed = params->seed;
  return noThrow([&] { return new TfmSampler(p); },
                 static_cast<TfmSampler *>(nullptr));
}

extern "C" int32_t tfm_sampler_sample(TfmSampler *smp, const float *logits,
                                      int64_t n) {
  if (!smp || !logits || n < 1)
    return -1;
  return noThrow([&] { return smp->smp.sample(logits, n); }, int32_t(-1));
}

extern "C" void tfm_sampler_accept(TfmSampler *smp, int32_t token) {
  if (smp)
    noThrow(
        [&] {
          smp->smp.accept(token);
          return 0;
        },
        0);
}

extern "C" void tfm_sampler_destroy(TfmSampler *smp) { delete smp; }
