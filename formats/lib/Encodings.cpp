//===- Encodings.cpp - The table of weight encodings ----------------------===//

#include "tfm/Formats/Encodings.h"

#include "llvm/Support/MathExtras.h"

#include <cassert>

namespace tfm::formats {

namespace {

/// Each array of an encoded weight starts at a multiple of this many bytes
/// (Weights.h's kWeightAlignment).
constexpr uint64_t kComponentAlignment = 64;

// Components: name, element, byte offset in the block, per block, scale.
// block_q8_0 { f16 d; int8 qs[32]; }: x = d * q.
constexpr EncodingComponent kQ8_0[] = {{"value", ElementKind::I8, 2, 32, false},
                                       {"scale", ElementKind::F16, 0, 1, true}};

constexpr EncodingInfo kEncodings[] = {
    {Encoding::F32, "f32", 0, 1, 4, {}},
    {Encoding::F16, "f16", 1, 1, 2, {}},
    {Encoding::BF16, "bf16", 30, 1, 2, {}},
    {Encoding::Q8_0, "q8_0", 8, 32, 34, kQ8_0},
};

} // namespace

unsigned elementBytes(ElementKind kind) {
  switch (kind) {
  case ElementKind::I8:
    return 1;
  case ElementKind::F16:
    return 2;
  case ElementKind::F32:
    return 4;
  }
  return 1;
}

llvm::ArrayRef<EncodingInfo> weightEncodings() { return kEncodings; }

const EncodingInfo &encodingInfo(Encoding e) {
  const EncodingInfo &info = kEncodings[static_cast<size_t>(e)];
  assert(info.encoding == e && "rows out of order");
  return info;
}

std::optional<Encoding> encodingNamed(llvm::StringRef name) {
  for (const EncodingInfo &info : kEncodings)
    if (name == info.name)
      return info.encoding;
  return std::nullopt;
}

llvm::SmallVector<unsigned, 4> blobOrder(const EncodingInfo &info) {
  llvm::SmallVector<unsigned, 4> order;
  for (unsigned c = 1; c < info.components.size(); ++c)
    order.push_back(c);
  if (!info.components.empty())
    order.push_back(0);
  return order;
}

uint64_t componentOffset(const EncodingInfo &info, unsigned c, int64_t rows,
                         int64_t cols) {
  uint64_t offset = 0;
  for (unsigned k : blobOrder(info)) {
    if (k == c)
      return offset;
    const EncodingComponent &comp = info.components[k];
    offset = llvm::alignTo(
        offset + static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols) /
                     info.blockSize * comp.perBlock * elementBytes(comp.kind),
        kComponentAlignment);
  }
  return offset;
}

uint64_t encodedBytes(const EncodingInfo &info, int64_t rows, int64_t cols) {
  if (info.components.empty())
    return static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols) * 4;
  const EncodingComponent &values = info.components[0];
  return componentOffset(info, 0, rows, cols) +
         static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols) /
             info.blockSize * values.perBlock * elementBytes(values.kind);
}

} // namespace tfm::formats
