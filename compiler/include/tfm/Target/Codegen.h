//===- Codegen.h - LLVM dialect -> object file -> executable ----*- C++ -*-===//

#ifndef TFM_TARGET_CODEGEN_H
#define TFM_TARGET_CODEGEN_H

#include "tfm/Frontend/ModelSpec.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tfm {

/// The target as tfmc's options name it (--target, --target-cpu,
/// --target-features).
struct TargetOptions {
  /// Empty or "host": the host's triple, CPU and features (AVX-512 where the
  /// machine has it). "x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4": the
  /// host's (x86_64) triple and that CPU level. Otherwise a triple (its
  /// architecture's baseline CPU): 64-bit, little-endian, ELF.
  std::string target;
  std::string cpu; ///< Empty: the one --target implies.
  /// Applied last, on top of the CPU's ("+avx2,-avx512f" style).
  std::string features;
};

/// A checked target: what the TargetMachine is created for.
struct ResolvedTarget {
  std::string triple;
  std::string cpu;
  std::string features;
  bool isHost = true; ///< --target was empty or "host".
};

/// What the model object carries besides code (see ModelAbi.h).
struct ModelPayload {
  /// The packed weights (tfm::writeWeightsBlob), embedded from this file's
  /// first weightsBytes bytes (a sidecar trailer after them stays out).
  std::string weightsBlobPath;
  uint64_t weightsBytes = 0;
  uint64_t specId = 0;            ///< TfmModelInfo::spec_id (tfm::specId).
  uint64_t weightsId = 0;         ///< TfmModelInfo::weights_id; 0: unknown.
  bool embedWeights = true;       ///< false: the executable mmaps weightsFile.
  std::string weightsFile;        ///< Sidecar name, relative to the executable.
  std::vector<uint8_t> tokenizer; ///< Serialized tokenizer, may be empty.
  int64_t prefillChunk = 1; ///< Most tokens per prefill call (prefillTokens).
  WeightsCensus census;     ///< TfmModelInfo's weight_* fields.
};

/// The host's triple, normalized.
std::string hostTriple();

/// Checks `options` (a known target, CPU and features that can run 64-bit
/// code) and resolves them to a triple, a CPU and a feature string.
llvm::Expected<ResolvedTarget> resolveTarget(const TargetOptions &options);

/// resolveTarget's errors only.
llvm::Error checkTargetOptions(const TargetOptions &options);

/// The names --target accepts besides triples.
std::vector<std::string> targetNames();

/// The CPU names resolveTarget accepts for options.target's triple.
std::vector<std::string> targetCpuNames(const TargetOptions &options = {});

/// The feature names resolveTarget accepts (without +/-) for
/// options.target's triple, with their descriptions.
std::vector<std::pair<std::string, std::string>>
targetFeatureNames(const TargetOptions &options = {});

/// The target machine for a resolved target.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const ResolvedTarget &target);

/// f32 lanes of the widest vectors the target machine has: 16 with
/// AVX-512F, 8 with AVX, else 4. Generated kernels and packed weights use it.
int64_t vectorWidthF32(const llvm::TargetMachine &tm);

/// The x86 instructions of q8_0 layers' integer dot products on the target
/// (tfm-generate-kernels' `int-dot`; their lanes are vectorWidthF32's):
/// avx512vnni, avx512bw, avxvnni, avx2, ssse3, or none.
std::string intDotIsa(const llvm::TargetMachine &tm);

/// Translates an LLVM-dialect module, sets its triple and data layout, and
/// puts the target machine's CPU and features on every function it defines
/// (on a target without FMA, llvm.fma becomes llvm.fmuladd: no libm call).
llvm::Expected<std::unique_ptr<llvm::Module>>
translateToLLVMIR(mlir::ModuleOp module, llvm::LLVMContext &ctx,
                  llvm::TargetMachine &tm);

/// Defines `tfm_model` (TfmModelInfo) and the weights/tokenizer data.
llvm::Error addModelInfo(llvm::Module &module, const ModelSpec &spec,
                         const ModelPayload &payload);

/// LLVM's -O3 pipeline for the target.
void optimizeModule(llvm::Module &module, llvm::TargetMachine &tm);

/// Writes assembly or an object file.
llvm::Error emitFile(llvm::Module &module, llvm::TargetMachine &tm,
                     llvm::StringRef path, bool assembly);

/// What a model object is linked into.
enum class LinkKind {
  Executable, ///< With libtfmrt's main(): a text-generating program.
  Shared,     ///< A shared library exporting the model and the C API.
};

/// The directory of libtfmrt.a: lib/ beside the bin/ directory of the
/// running tfmc (the build tree and an installation alike).
std::string runtimeLibDir();

/// The command that links a model object into an executable or a shared
/// library.
std::vector<std::string> linkCommand(llvm::StringRef objectPath,
                                     llvm::StringRef outputPath,
                                     LinkKind kind = LinkKind::Executable);

/// Links `objectPath` with libtfmrt into `outputPath`.
llvm::Error linkExecutable(llvm::StringRef objectPath,
                           llvm::StringRef outputPath,
                           LinkKind kind = LinkKind::Executable);

/// Renames every symbol the model defines for other objects: "tfm_" at the
/// start of the name (after "_mlir_ciface_" for the C wrappers) becomes
/// "PREFIX_", so tfm_model is PREFIX_model. Two models compiled with
/// different prefixes link into one program. `prefix` must be a C
/// identifier.
llvm::Error prefixSymbols(llvm::Module &module, llvm::StringRef prefix);

} // namespace tfm

#endif // TFM_TARGET_CODEGEN_H
