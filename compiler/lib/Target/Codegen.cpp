//===- Codegen.cpp - LLVM dialect -> object file -> executable ------------===//

#include "tfm/Target/Codegen.h"

#include "tfm/runtime/ModelAbi.h"

#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/CodeGen/TargetLowering.h"
#include "llvm/CodeGen/TargetSubtargetInfo.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

#include <optional>
#include <utility>

#if !defined(TFM_RUNTIME_LINK_FLAGS)
#error "TFM_RUNTIME_LINK_FLAGS must name the flags libtfmrt.a needs (a " \
    "sanitizer runtime)"
#endif

namespace tfm {

static llvm::Error targetError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// The x86-64 micro-architecture levels --target accepts (LLVM's CPU names
/// for the psABI levels: baseline SSE2, v2 SSE4.2, v3 AVX2 + FMA, v4
/// AVX-512).
static constexpr llvm::StringLiteral kX86Levels[] = {"x86-64", "x86-64-v2",
                                                     "x86-64-v3", "x86-64-v4"};

/// Registers every target LLVM was built with, once: a triple other than the
/// host's needs its backend (the host's is enough otherwise).
static void initializeTargets(bool all) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::InitializeNativeTargetAsmParser(); // for the .incbin module asm
  static bool allDone = false;
  if (all && !allDone) {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
    llvm::InitializeAllAsmParsers();
    allDone = true;
  }
}

std::string hostTriple() {
  return llvm::Triple::normalize(llvm::sys::getDefaultTargetTriple());
}

/// The triple `options.target` names ("" and "host" and the x86-64 levels:
/// the host's), checked: a registered target, 64-bit, little-endian, ELF
/// (the ABI of the runtime and of the weights blob).
static llvm::Expected<std::string> chosenTriple(const TargetOptions &options) {
  llvm::StringRef target = options.target;
  std::string host = hostTriple();
  if (target.empty() || target == "host")
    return host;
  if (llvm::is_contained(kX86Levels, target)) {
    if (!llvm::Triple(host).isX86())
      return targetError("--target=" + target + " is an x86-64 level, but " +
                         "the host is " + host +
                         " (give an x86_64 triple, e.g. "
                         "--target=x86_64-linux-gnu --target-cpu=" +
                         target + ")");
    return host;
  }
  std::string triple = llvm::Triple::normalize(target);
  llvm::Triple parsed(triple);
  if (!target.contains('-') || parsed.getArch() == llvm::Triple::UnknownArch)
    return targetError("unknown --target '" + target +
                       "': give host, x86-64, x86-64-v2, x86-64-v3, "
                       "x86-64-v4 or a target triple such as " +
                       host + " (--target=help lists them)");
  initializeTargets(/*all=*/true);
  std::string error;
  if (!llvm::TargetRegistry::lookupTarget(triple, error))
    return targetError("--target '" + target +
                       "': this LLVM has no backend for it (" + error + ")");
  if (!parsed.isArch64Bit() || !parsed.isLittleEndian() ||
      !parsed.isOSBinFormatELF())
    return targetError("--target '" + target +
                       "': tfmc compiles for 64-bit little-endian ELF targets "
                       "(the runtime's ABI and the weights blob assume them)");
  return triple;
}

/// A target and a subtarget of it for one CPU and feature string (which also
/// holds the target's tables of CPU and feature names).
struct Subtarget {
  const llvm::Target *target;
  std::unique_ptr<llvm::MCSubtargetInfo> info;
};

static llvm::Expected<Subtarget> subtarget(const std::string &triple,
                                           llvm::StringRef cpu = "",
                                           llvm::StringRef features = "") {
  initializeTargets(/*all=*/triple != hostTriple());
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return targetError(error);
  std::unique_ptr<llvm::MCSubtargetInfo> info(
      target->createMCSubtargetInfo(triple, cpu, features));
  if (!info)
    return targetError("no subtarget information for " + triple);
  return Subtarget{target, std::move(info)};
}

/// False when `cpu` is valid but cannot run 64-bit code: a 32-bit-only x86
/// CPU (i386, pentium4, ...), on which LLVM would abort.
static bool runs64BitCode(const std::string &triple, llvm::StringRef cpu) {
  if (llvm::Triple(triple).getArch() != llvm::Triple::x86_64)
    return true;
  auto chosen = subtarget(triple, cpu);
  if (!chosen) {
    llvm::consumeError(chosen.takeError());
    return false;
  }
  return chosen->info->checkFeatures("+64bit");
}

llvm::Expected<ResolvedTarget> resolveTarget(const TargetOptions &options) {
  auto triple = chosenTriple(options);
  if (!triple)
    return triple.takeError();
  auto names = subtarget(*triple);
  if (!names)
    return names.takeError();
  const llvm::MCSubtargetInfo &sti = *names->info;
  bool level = llvm::is_contained(kX86Levels, options.target);
  if (level && !options.cpu.empty() && options.cpu != options.target)
    return targetError("--target=" + options.target +
                       " already names the CPU; it contradicts "
                       "--target-cpu=" +
                       options.cpu);
  if (!options.cpu.empty() && (!sti.isCPUStringValid(options.cpu) ||
                               !runs64BitCode(*triple, options.cpu)))
    return targetError("unknown CPU '" + options.cpu + "' for the target " +
                       *triple + " (--target-cpu=help lists the valid names)");
  llvm::SmallVector<llvm::StringRef> features;
  llvm::StringRef(options.features)
      .split(features, ',', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef feature : features) {
    llvm::StringRef name = feature.drop_front();
    if (!feature.starts_with("+") && !feature.starts_with("-"))
      return targetError("target feature '" + feature +
                         "' must start with '+' (enable) or '-' (disable)");
    if (!llvm::any_of(
            sti.getAllProcessorFeatures(),
            [&](const llvm::SubtargetFeatureKV &kv) { return name == kv.Key; }))
      return targetError("unknown target feature '" + name +
                         "' for the target " + *triple +
                         " (--target-features=help lists the valid names)");
    // Without 64-bit instructions LLVM aborts on a 64-bit triple.
    if (feature == "-64bit")
      return targetError("target feature '-64bit' cannot be used: tfmc "
                         "compiles for " +
                         *triple);
  }

  ResolvedTarget resolved;
  resolved.triple = *triple;
  resolved.isHost = options.target.empty() || options.target == "host";
  // The host: its CPU and every feature it reports (so AVX-512 where the
  // machine has it), unless a CPU is named. A level or a triple: that CPU,
  // or the architecture's baseline.
  llvm::SmallVector<std::string> list;
  if (!options.cpu.empty()) {
    resolved.cpu = options.cpu;
  } else if (level) {
    resolved.cpu = options.target;
  } else if (resolved.isHost) {
    resolved.cpu = llvm::sys::getHostCPUName().str();
    for (const auto &f : llvm::sys::getHostCPUFeatures())
      list.push_back((f.second ? "+" : "-") + f.first().str());
    llvm::sort(list); // the host's order is a hash table's
  } else {
    resolved.cpu = llvm::Triple(*triple).isX86() ? "x86-64" : "generic";
  }
  // --target-features apply last, on top of the CPU's (or the host's).
  for (llvm::StringRef feature : features)
    list.push_back(feature.str());
  resolved.features = llvm::join(list, ",");
  return resolved;
}

llvm::Error checkTargetOptions(const TargetOptions &options) {
  auto resolved = resolveTarget(options);
  return resolved ? llvm::Error::success() : resolved.takeError();
}

std::vector<std::string> targetNames() {
  std::vector<std::string> names = {"host"};
  names.insert(names.end(), std::begin(kX86Levels), std::end(kX86Levels));
  return names;
}

/// The triple `options` choose and its subtarget (for the name tables), or
/// nothing when either is invalid (the names are then empty).
static std::optional<std::pair<std::string, Subtarget>>
namesSubtarget(const TargetOptions &options) {
  auto triple = chosenTriple(options);
  if (!triple) {
    llvm::consumeError(triple.takeError());
    return std::nullopt;
  }
  auto names = subtarget(*triple);
  if (!names) {
    llvm::consumeError(names.takeError());
    return std::nullopt;
  }
  return std::make_pair(*triple, std::move(*names));
}

std::vector<std::string> targetCpuNames(const TargetOptions &options) {
  auto chosen = namesSubtarget(options);
  if (!chosen)
    return {};
  const auto &[triple, names] = *chosen;
  std::vector<std::string> cpus;
  for (const llvm::SubtargetSubTypeKV &cpu :
       names.info->getAllProcessorDescriptions())
    if (runs64BitCode(triple, cpu.Key))
      cpus.push_back(cpu.Key);
  return cpus;
}

std::vector<std::pair<std::string, std::string>>
targetFeatureNames(const TargetOptions &options) {
  auto chosen = namesSubtarget(options);
  if (!chosen)
    return {};
  const Subtarget &names = chosen->second;
  std::vector<std::pair<std::string, std::string>> features;
  for (const llvm::SubtargetFeatureKV &feature :
       names.info->getAllProcessorFeatures())
    features.emplace_back(feature.Key, feature.Desc);
  return features;
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const ResolvedTarget &resolved) {
  auto chosen = subtarget(resolved.triple);
  if (!chosen)
    return chosen.takeError();
  llvm::TargetOptions to;
  auto *tm = chosen->target->createTargetMachine(
      resolved.triple, resolved.cpu, resolved.features, to, llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive);
  if (!tm)
    return targetError("cannot create a target machine for " + resolved.cpu);
  return std::unique_ptr<llvm::TargetMachine>(tm);
}

int64_t vectorWidthF32(const llvm::TargetMachine &tm) {
  if (!tm.getTargetTriple().isX86())
    return 4;
  const llvm::MCSubtargetInfo *sti = tm.getMCSubtargetInfo();
  if (sti->checkFeatures("+avx512f"))
    return 16;
  if (sti->checkFeatures("+avx"))
    return 8;
  return 4;
}

std::string intDotIsa(const llvm::TargetMachine &tm) {
  if (!tm.getTargetTriple().isX86())
    return "none";
  const llvm::MCSubtargetInfo *sti = tm.getMCSubtargetInfo();
  int64_t width = vectorWidthF32(tm);
  if (width == 16)
    return sti->checkFeatures("+avx512bw,+avx512vnni") ? "avx512vnni"
           : sti->checkFeatures("+avx512bw")           ? "avx512bw"
                                                       : "none";
  if (width == 8)
    return sti->checkFeatures("+avxvnni") ? "avxvnni"
           : sti->checkFeatures("+avx2")  ? "avx2"
                                          : "none";
  return sti->checkFeatures("+ssse3") ? "ssse3" : "none";
}

/// Puts the target machine's CPU and features on every function the module
/// defines (the IR then says what it was optimised for, and any later tool
/// compiles it for the same machine), and, on a target without a fused
/// multiply-add instruction, turns each llvm.fma into llvm.fmuladd: the
/// generated kernels and polynomials ask for FMAs, and a target that has
/// none would otherwise call libm's fmaf, a software FMA, per element. There
/// it is a multiply and an add (one more rounding; the oracle tests bound
/// the difference).
static void applyTarget(llvm::Module &module, llvm::TargetMachine &tm) {
  bool hasFma = true;
  for (llvm::Function &fn : module) {
    if (fn.isDeclaration())
      continue;
    fn.addFnAttr("target-cpu", tm.getTargetCPU());
    if (!tm.getTargetFeatureString().empty())
      fn.addFnAttr("target-features", tm.getTargetFeatureString());
  }
  for (llvm::Function &fn : module)
    if (!fn.isDeclaration()) {
      const llvm::TargetLowering *tli =
          tm.getSubtargetImpl(fn)->getTargetLowering();
      hasFma = tli->isOperationLegalOrCustom(llvm::ISD::FMA, llvm::MVT::f32);
      break;
    }
  if (hasFma)
    return;
  llvm::SmallVector<llvm::Function *> fmas;
  for (llvm::Function &fn : module)
    if (fn.getIntrinsicID() == llvm::Intrinsic::fma)
      fmas.push_back(&fn);
  for (llvm::Function *fma : fmas) {
    llvm::Function *mulAdd = llvm::Intrinsic::getDeclaration(
        &module, llvm::Intrinsic::fmuladd, {fma->getReturnType()});
    fma->replaceAllUsesWith(mulAdd);
    fma->eraseFromParent();
  }
}

llvm::Expected<std::unique_ptr<llvm::Module>>
translateToLLVMIR(mlir::ModuleOp module, llvm::LLVMContext &ctx,
                  llvm::TargetMachine &tm) {
  mlir::registerBuiltinDialectTranslation(*module.getContext());
  mlir::registerLLVMDialectTranslation(*module.getContext());
  auto llvmModule = mlir::translateModuleToLLVMIR(module, ctx, "tfm_model");
  if (!llvmModule)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "translation to LLVM IR failed");
  llvmModule->setTargetTriple(tm.getTargetTriple().str());
  llvmModule->setDataLayout(tm.createDataLayout());
  applyTarget(*llvmModule, tm);
  return llvmModule;
}

/// Escapes a path for a GNU assembler string.
static std::string asmString(llvm::StringRef s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out;
}

llvm::Error addModelInfo(llvm::Module &m, const ModelSpec &spec,
                         const ModelPayload &payload) {
  llvm::LLVMContext &ctx = m.getContext();
  auto *i32 = llvm::Type::getInt32Ty(ctx);
  auto *i64 = llvm::Type::getInt64Ty(ctx);
  auto *ptr = llvm::PointerType::get(ctx, 0);
  auto str = [&](llvm::StringRef s, llvm::StringRef name) -> llvm::Constant * {
    auto *init = llvm::ConstantDataArray::getString(ctx, s);
    return new llvm::GlobalVariable(m, init->getType(), true,
                                    llvm::GlobalValue::PrivateLinkage, init,
                                    name);
  };
  llvm::Constant *null = llvm::ConstantPointerNull::get(ptr);

  llvm::Constant *weights = null, *weightsFile = null;
  if (payload.embedWeights) {
    // The blob goes into .rodata through the integrated assembler, so a
    // 400 MB model never becomes an LLVM constant.
    m.appendModuleInlineAsm((".section .rodata.tfm_weights,\"a\",%progbits\n"
                             ".p2align 6\n"
                             "tfm_weights_data:\n"
                             ".incbin \"" +
                             asmString(payload.weightsBlobPath) + "\", 0, " +
                             llvm::Twine(payload.weightsBytes) + "\n.text\n")
                                .str());
    weights = new llvm::GlobalVariable(m, llvm::Type::getInt8Ty(ctx), true,
                                       llvm::GlobalValue::ExternalLinkage,
                                       nullptr, "tfm_weights_data");
  } else {
    weightsFile = str(payload.weightsFile, "tfm_weights_file");
  }
  llvm::Constant *tokenizer = null;
  if (!payload.tokenizer.empty()) {
    auto *init = llvm::ConstantDataArray::get(
        ctx, llvm::ArrayRef<uint8_t>(payload.tokenizer));
    tokenizer = new llvm::GlobalVariable(m, init->getType(), true,
                                         llvm::GlobalValue::PrivateLinkage,
                                         init, "tfm_tokenizer_data");
  }
  auto entry = [&](llvm::StringRef name) -> llvm::Expected<llvm::Constant *> {
    llvm::Function *fn = m.getFunction(("_mlir_ciface_" + name).str());
    if (!fn)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "entry point " + name + " is missing");
    return fn;
  };
  auto prefill = entry("tfm_prefill");
  if (!prefill)
    return prefill.takeError();
  auto decode = entry("tfm_decode");
  if (!decode)
    return decode.takeError();
  auto prefillLast = entry("tfm_prefill_last");
  if (!prefillLast)
    return prefillLast.takeError();
  // Present only when compiled with --probes=attention (GraphBuilder.h's
  // kAttentionProbeName).
  llvm::Constant *probeAttention = null;
  if (llvm::Function *fn = m.getFunction("_mlir_ciface_tfm_probe_attention"))
    probeAttention = fn;

  const AttentionSpec &a = spec.block.attention;
  int64_t kvFloats = *kvCacheFloats(spec); // A valid spec's: no overflow.
  const WeightsCensus &census = payload.census;
  auto c64 = [&](int64_t v) { return llvm::ConstantInt::get(i64, v); };
  // TfmWeightStorage entries, one per encoding the blob holds.
  auto *storageType =
      llvm::StructType::create(ctx, {ptr, i64, i64, i64}, "TfmWeightStorage");
  std::vector<llvm::Constant *> storages;
  for (const WeightsCensus::Storage &s : census.storages) {
    llvm::StringRef name = formats::encodingInfo(s.storage).name;
    storages.push_back(llvm::ConstantStruct::get(
        storageType, {str(name, ("tfm_storage_" + name).str()), c64(s.weights),
                      c64(s.values), c64(s.dataBytes)}));
  }
  auto *storagesType = llvm::ArrayType::get(storageType, storages.size());
  auto *storageTable = new llvm::GlobalVariable(
      m, storagesType, true, llvm::GlobalValue::PrivateLinkage,
      llvm::ConstantArray::get(storagesType, storages), "tfm_storages");
  // Field order and types follow TfmModelInfo in ModelAbi.h.
  auto *infoType = llvm::StructType::create(
      ctx, {i32, ptr, ptr, i64, i64, i64, i64, i64, i64, i64,
            i64, i64, ptr, ptr, ptr, i64, ptr, ptr, i64, i64,
            i64, ptr, ptr, i64, i64, i64, i64, i64, ptr},
      "TfmModelInfo");
  llvm::Constant *fields[] = {llvm::ConstantInt::get(i32, TFM_ABI_VERSION),
                              str(spec.name, "tfm_name"),
                              str(spec.arch, "tfm_arch"),
                              c64(spec.vocabSize),
                              c64(spec.contextLength),
                              c64(spec.dim),
                              c64(spec.numLayers),
                              c64(a.heads),
                              c64(a.kvHeads),
                              c64(a.headDim),
                              c64(kvFloats),
                              c64((int64_t)payload.weightsBytes),
                              weights,
                              weightsFile,
                              tokenizer,
                              c64((int64_t)payload.tokenizer.size()),
                              *prefill,
                              *decode,
                              c64(payload.prefillChunk),
                              c64((int64_t)payload.specId),
                              c64((int64_t)payload.weightsId),
                              *prefillLast,
                              probeAttention,
                              c64(census.values),
                              c64(census.dataBytes),
                              c64(census.matrixValues),
                              c64(census.matrixDataBytes),
                              c64(int64_t(storages.size())),
                              storageTable};
  new llvm::GlobalVariable(
      m, infoType, true, llvm::GlobalValue::ExternalLinkage,
      llvm::ConstantStruct::get(infoType, fields), "tfm_model");
  return llvm::Error::success();
}

void optimizeModule(llvm::Module &module, llvm::TargetMachine &tm) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3)
      .run(module, mam);
}

llvm::Error emitFile(llvm::Module &module, llvm::TargetMachine &tm,
                     llvm::StringRef path, bool assembly) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return llvm::createStringError(ec, "cannot write " + path + ": " +
                                           ec.message());
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr,
                             assembly ? llvm::CodeGenFileType::AssemblyFile
                                      : llvm::CodeGenFileType::ObjectFile))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "the target cannot emit this file type");
  pm.run(module);
  return llvm::Error::success();
}

llvm::Error prefixSymbols(llvm::Module &module, llvm::StringRef prefix) {
  auto isIdentifier = [](llvm::StringRef s) {
    return !s.empty() && (llvm::isAlpha(s[0]) || s[0] == '_') &&
           llvm::all_of(s, [](char c) { return llvm::isAlnum(c) || c == '_'; });
  };
  if (!isIdentifier(prefix))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "--name '" + prefix +
                                       "' is not a C identifier "
                                       "([A-Za-z_][A-Za-z0-9_]*)");
  for (llvm::GlobalValue &value : module.global_values()) {
    if (value.isDeclaration() || value.hasLocalLinkage())
      continue;
    llvm::StringRef name = value.getName();
    llvm::StringRef wrapper =
        name.starts_with("_mlir_ciface_") ? "_mlir_ciface_" : "";
    llvm::StringRef rest = name.drop_front(wrapper.size());
    if (!rest.starts_with("tfm_"))
      continue;
    value.setName((wrapper + prefix + "_" + rest.drop_front(4)).str());
  }
  return llvm::Error::success();
}

std::string runtimeLibDir() {
  // tfmc is bin/tfmc and the runtime lib/libtfmrt.a, in the build tree as
  // in an installation: the runtime is found from tfmc's own location.
  std::string exe = llvm::sys::fs::getMainExecutable(nullptr, nullptr);
  llvm::SmallString<256> dir(
      llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe)));
  llvm::sys::path::append(dir, "lib");
  return std::string(dir);
}

std::vector<std::string> linkCommand(llvm::StringRef objectPath,
                                     llvm::StringRef outputPath,
                                     LinkKind kind) {
  std::string lib = runtimeLibDir();
  std::vector<std::string> cmd = {"c++"};
  // A sanitized libtfmrt calls into the sanitizer runtime.
  llvm::SmallVector<llvm::StringRef> runtimeFlags;
  llvm::StringRef(TFM_RUNTIME_LINK_FLAGS).split(runtimeFlags, ' ', -1, false);
  for (llvm::StringRef flag : runtimeFlags)
    cmd.push_back(flag.str());
  cmd.push_back(objectPath.str());
  if (kind == LinkKind::Executable) {
    cmd.push_back(lib + "/libtfmrt_main.a");
  } else {
    // A shared library exports the model's symbols and the C API (TFM_API);
    // the rest of libtfmrt is compiled with hidden visibility.
    cmd.insert(cmd.end(), {"-shared", "-Wl,-z,defs"});
    // The C API is what a dlopen()ing program calls: keep all of it.
    cmd.insert(cmd.end(), {"-Wl,--whole-archive", lib + "/libtfmrt.a",
                           "-Wl,--no-whole-archive"});
  }
  // fmt is compiled into libtfmrt: the result depends on the C and C++
  // runtime libraries only.
  if (kind == LinkKind::Executable)
    cmd.push_back(lib + "/libtfmrt.a");
  cmd.insert(cmd.end(), {"-lpthread", "-lm", "-o", outputPath.str()});
  return cmd;
}

llvm::Error linkExecutable(llvm::StringRef objectPath,
                           llvm::StringRef outputPath, LinkKind kind) {
  std::string lib = runtimeLibDir();
  for (const char *name : {"libtfmrt.a", "libtfmrt_main.a"}) {
    llvm::SmallString<256> path(lib);
    llvm::sys::path::append(path, name);
    if (!llvm::sys::fs::exists(path))
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "cannot find the runtime library " + path +
              " (tfmc looks in ../lib beside its own bin directory; "
              "reinstall, or build the tfmrt targets)");
  }
  std::vector<std::string> cmd = linkCommand(objectPath, outputPath, kind);
  auto program = llvm::sys::findProgramByName(cmd[0]);
  if (!program)
    program = llvm::sys::findProgramByName("clang++-19");
  if (!program)
    return llvm::createStringError(
        program.getError(), "no C++ linker driver (c++ or clang++-19) on PATH");
  llvm::SmallVector<llvm::StringRef> args(cmd.begin(), cmd.end());
  std::string error;
  int rc =
      llvm::sys::ExecuteAndWait(*program, args, std::nullopt, {}, 0, 0, &error);
  if (rc != 0)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "linking failed (" + llvm::join(cmd, " ") +
                                       ")" +
                                       (error.empty() ? "" : ": " + error));
  return llvm::Error::success();
}

} // namespace tfm
