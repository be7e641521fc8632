//===- fuzz_description.cpp - The .tfm description parser -----------------===//
//
// Input: the text of a `.tfm` file. On success the spec must be valid and
// print as a description that parses back to an equal spec (Description.h).
//
//===----------------------------------------------------------------------===//

#include "tfm/Frontend/Description.h"
#include "tfm/Frontend/ModelSpec.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

namespace {
llvm::Expected<tfm::ModelSpec> parse(llvm::StringRef text) {
  llvm::SourceMgr sm;
  sm.setDiagHandler([](const llvm::SMDiagnostic &, void *) {});
  return tfm::parseDescriptionString(text, "/fuzz/model.tfm", sm);
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  auto spec = parse(text);
  if (!spec) {
    llvm::consumeError(spec.takeError());
    return 0;
  }
  std::string printed;
  llvm::raw_string_ostream os(printed);
  tfm::printDescription(*spec, os);
  os.flush();
  auto again = parse(printed);
  if (!again) {
    llvm::errs() << "printed description does not parse: "
                 << llvm::toString(again.takeError()) << "\n--- input\n"
                 << text << "\n--- printed\n"
                 << printed << "\n";
    std::abort();
  }
  std::string difference;
  if (!tfm::equalSpecs(*spec, *again, &difference)) {
    llvm::errs() << "round trip changed the spec: " << difference
                 << "\n--- input\n"
                 << text << "\n--- printed\n"
                 << printed << "\n";
    std::abort();
  }
  return 0;
}
