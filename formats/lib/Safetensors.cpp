//===- Safetensors.cpp - Reader for safetensors files ---------------------===//
//
// Format (huggingface/safetensors): u64 little-endian N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
// then the data; offsets are relative to byte 8 + N. We accept F32, F16 and
// BF16, check that every range lies in the file, that the shape agrees with
// the byte size, and that no two tensors overlap.
//
//===----------------------------------------------------------------------===//

#include "tfm/Formats/Checkpoint.h"
#include "tfm/Formats/Files.h"
#include "tfm/Formats/Json.h"

#include "llvm/Support/Endian.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Path.h"

#include <algorithm>

using llvm::Error;
using llvm::Expected;

namespace tfm::formats {

Error Checkpoint::parseSafetensors(llvm::StringRef b, unsigned shard) {
  const uint64_t size = b.size();
  if (size < 8)
    return readerError(
        "file truncated: safetensors needs an 8-byte header length, "
        "the file has " +
        llvm::Twine(size) + " bytes");
  uint64_t n = llvm::support::endian::read64le(b.data());
  if (n > size - 8)
    return readerError("safetensors header length " + llvm::Twine(n) +
                       " at byte 0 exceeds the " + llvm::Twine(size - 8) +
                       " bytes after it");
  llvm::StringRef text = b.substr(8, n);
  const uint64_t dataStart = 8 + n;
  const uint64_t dataSize = size - dataStart;
  auto json = parseJson(text, 8);
  if (!json)
    return readerError("invalid JSON header (bytes 8 to " +
                       llvm::Twine(dataStart) +
                       "): " + llvm::toString(json.takeError()));
  const llvm::json::Object *root = json->getAsObject();
  if (!root)
    return readerError("the JSON header at byte 8 is not an object");

  std::vector<TensorInfo> found;
  for (const auto &kv : *root) {
    llvm::StringRef name = kv.first;
    if (name == "__metadata__")
      continue;
    // An error about this tensor, located at its key in the header. Only an
    // error searches the header: a search per tensor made a header of many
    // tensors take quadratic time.
    auto fail = [&](const llvm::Twine &problem) {
      size_t at = text.find(("\"" + name + "\"").str());
      std::string where = at == llvm::StringRef::npos
                              ? "in the header"
                              : "at byte " + std::to_string(8 + at);
      return readerError("tensor '" + name + "' (" + where + ")" + problem);
    };
    const llvm::json::Object *o = kv.second.getAsObject();
    if (!o)
      return fail(" is not an object");
    std::optional<llvm::StringRef> dtype = o->getString("dtype");
    const llvm::json::Array *shape = o->getArray("shape");
    const llvm::json::Array *offs = o->getArray("data_offsets");
    if (!dtype || !shape || !offs)
      return fail(" needs dtype, shape and data_offsets");
    TensorInfo t;
    t.name = name.str();
    uint64_t elemBytes;
    if (*dtype == "F32") {
      t.dtype = DType::F32;
      elemBytes = 4;
    } else if (*dtype == "F16") {
      t.dtype = DType::F16;
      elemBytes = 2;
    } else if (*dtype == "BF16") {
      t.dtype = DType::BF16;
      elemBytes = 2;
    } else {
      return fail(" has dtype " + *dtype +
                  ", which tfmc cannot read (supported: F32, F16, BF16)");
    }
    uint64_t elems = 1;
    for (const llvm::json::Value &d : *shape) {
      std::optional<int64_t> x = d.getAsInteger();
      if (!x || *x < 0)
        return fail(" has a shape entry that is not a non-negative "
                    "integer");
      if (__builtin_mul_overflow(elems, static_cast<uint64_t>(*x), &elems) ||
          elems > (uint64_t(1) << 60))
        return fail(" has too many elements");
      t.shape.push_back(*x);
    }
    if (offs->size() != 2)
      return fail(" data_offsets must have two entries");
    std::optional<int64_t> begin = (*offs)[0].getAsInteger();
    std::optional<int64_t> end = (*offs)[1].getAsInteger();
    if (!begin || !end || *begin < 0 || *end < *begin)
      return fail(" has invalid data_offsets");
    uint64_t ub = static_cast<uint64_t>(*begin),
             ue = static_cast<uint64_t>(*end);
    if (ue > dataSize)
      return fail(" data_offsets [" + llvm::Twine(ub) + ", " + llvm::Twine(ue) +
                  "] end at byte " + llvm::Twine(dataStart + ue) +
                  ", past the end of the " + llvm::Twine(size) + "-byte file");
    uint64_t need = elems * elemBytes;
    if (ue - ub != need)
      return fail(" shape " + shapeString(t.shape) + " of " + *dtype +
                  " needs " + llvm::Twine(need) + " bytes but data_offsets [" +
                  llvm::Twine(ub) + ", " + llvm::Twine(ue) + "] span " +
                  llvm::Twine(ue - ub));
    t.offset = dataStart + ub;
    t.size = need;
    t.shard = shard;
    found.push_back(std::move(t));
  }
  // Deterministic order (the JSON object is unordered): by offset.
  std::sort(
      found.begin(), found.end(), [](const TensorInfo &a, const TensorInfo &b) {
        return a.offset != b.offset ? a.offset < b.offset : a.name < b.name;
      });
  for (size_t k = 1; k < found.size(); ++k) {
    const TensorInfo &a = found[k - 1], &c = found[k];
    if (a.size && c.size && c.offset < a.offset + a.size)
      return readerError("tensors '" + a.name + "' (bytes " +
                         llvm::Twine(a.offset) + " to " +
                         llvm::Twine(a.offset + a.size) + ") and '" + c.name +
                         "' (bytes " + llvm::Twine(c.offset) + " to " +
                         llvm::Twine(c.offset + c.size) + ") overlap");
  }
  for (TensorInfo &t : found)
    if (Error e = addTensor(std::move(t)))
      return e;
  return Error::success();
}

} // namespace tfm::formats

namespace tfm::formats {

Expected<std::unique_ptr<Checkpoint>>
Checkpoint::openShardedSafetensors(llvm::StringRef indexPath) {
  auto index = mapFile(indexPath);
  if (!index)
    return index.takeError();
  auto fail = [&](const llvm::Twine &problem) {
    return readerError(indexPath + ": " + problem);
  };
  auto json = parseJson((*index)->getBuffer());
  if (!json)
    return fail("invalid JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *root = json->getAsObject();
  const llvm::json::Object *map =
      root ? root->getObject("weight_map") : nullptr;
  if (!map)
    return fail("no \"weight_map\" object (tensor name -> shard file)");
  // The shards, in order of first mention sorted by name for determinism.
  std::vector<std::string> files;
  llvm::StringMap<unsigned> shardOf;   // file -> shard index
  llvm::StringMap<std::string> wanted; // tensor -> file
  for (const auto &kv : *map) {
    llvm::StringRef name = kv.first;
    std::optional<llvm::StringRef> file = kv.second.getAsString();
    if (!file)
      return fail("weight_map entry '" + name + "' is not a file name");
    // Shards live beside the index: a name with a directory could reach
    // any file.
    if (file->empty() || file->contains('/') || file->contains('\\') ||
        *file == "." || *file == "..")
      return fail("weight_map entry '" + name + "' names '" + *file +
                  "', not a file beside the index");
    wanted[name] = file->str();
    if (shardOf.try_emplace(*file, 0).second)
      files.push_back(file->str());
  }
  if (files.empty())
    return fail("weight_map is empty");
  std::sort(files.begin(), files.end());
  std::unique_ptr<Checkpoint> ckpt(new Checkpoint());
  ckpt->format = Format::Safetensors;
  ckpt->path = indexPath.str();
  llvm::StringRef dir = llvm::sys::path::parent_path(indexPath);
  for (unsigned k = 0; k < files.size(); ++k) {
    shardOf[files[k]] = k;
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, files[k]);
    auto mapped = MappedFile::open(path);
    if (!mapped)
      return mapped.takeError();
    llvm::StringRef bytes = mapped->bytes();
    ckpt->shards.emplace_back(std::string(path), std::move(*mapped));
    if (Error e = ckpt->parseSafetensors(bytes, k))
      return readerError(path + ": " + llvm::toString(std::move(e)));
  }
  // The index and the shards must agree tensor by tensor.
  for (const TensorInfo &t : ckpt->tensors) {
    auto it = wanted.find(t.name);
    if (it == wanted.end())
      return readerError(ckpt->shards[t.shard].first + ": tensor '" + t.name +
                         "' is not in the weight_map of " + indexPath);
    if (shardOf[it->second] != t.shard)
      return readerError(ckpt->shards[t.shard].first + ": tensor '" + t.name +
                         "' is mapped to " + it->second + " by " + indexPath);
  }
  for (const auto &kv : wanted)
    if (!ckpt->find(kv.first()))
      return fail("tensor '" + kv.first() + "' is not in its shard " +
                  kv.second);
  return ckpt;
}

} // namespace tfm::formats
