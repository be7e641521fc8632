//===- Codegen.cpp - LLVM dialect -> object file -> executable ------------===//

#include "tfm/Target/Codegen.h"

#include "tfm/runtime/ModelAbi.h"

#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/Constants.h"
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

#if !defined(TFM_RUNTIME_LINK_FLAGS)
#error "TFM_RUNTIME_LINK_FLAGS must name the flags libtfmrt.a needs (a " \
    "sanitizer runtime)"
#endif

namespace tfm {

/// The host's target, and a subtarget of it for `cpu` and `features` (which
/// also holds the target's tables of CPU and feature names).
struct HostTarget {
  const llvm::Target *target;
  std::unique_ptr<llvm::MCSubtargetInfo> subtarget;
};

static llvm::Expected<HostTarget> hostTarget(llvm::StringRef cpu = "",
                                             llvm::StringRef features = "") {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::InitializeNativeTargetAsmParser(); // for the .incbin module asm
  std::string triple = llvm::sys::getDefaultTargetTriple();
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return llvm::createStringError(llvm::inconvertibleErrorCode(), error);
  std::unique_ptr<llvm::MCSubtargetInfo> subtarget(
      target->createMCSubtargetInfo(triple, cpu, features));
  if (!subtarget)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "no subtarget information for " + triple);
  return HostTarget{target, std::move(subtarget)};
}

/// False when `cpu` is valid but cannot run the host triple's code: a
/// 32-bit-only x86 CPU (i386, pentium4, ...), on which LLVM would abort.
static bool runsHostCode(const HostTarget &host, llvm::StringRef cpu) {
  if (host.subtarget->getTargetTriple().getArch() != llvm::Triple::x86_64)
    return true;
  auto chosen = hostTarget(cpu);
  if (!chosen) {
    llvm::consumeError(chosen.takeError());
    return false;
  }
  return chosen->subtarget->checkFeatures("+64bit");
}

llvm::Error checkTargetOptions(const TargetOptions &options) {
  auto host = hostTarget();
  if (!host)
    return host.takeError();
  const llvm::MCSubtargetInfo &sti = *host->subtarget;
  const std::string &triple = sti.getTargetTriple().str();
  auto invalid = [](const llvm::Twine &message) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
  };
  if (!options.cpu.empty() &&
      (!sti.isCPUStringValid(options.cpu) || !runsHostCode(*host, options.cpu)))
    return invalid("unknown CPU '" + options.cpu + "' for the target " +
                   triple +
                   " (tfmc compiles for the host's target; --target-cpu=help "
                   "lists the valid names)");
  llvm::SmallVector<llvm::StringRef> features;
  llvm::StringRef(options.features)
      .split(features, ',', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef feature : features) {
    llvm::StringRef name = feature.drop_front();
    if (!feature.starts_with("+") && !feature.starts_with("-"))
      return invalid("target feature '" + feature +
                     "' must start with '+' (enable) or '-' (disable)");
    if (!llvm::any_of(
            sti.getAllProcessorFeatures(),
            [&](const llvm::SubtargetFeatureKV &kv) { return name == kv.Key; }))
      return invalid("unknown target feature '" + name + "' for the target " +
                     triple +
                     " (--target-features=help lists the valid names)");
    // Without 64-bit instructions LLVM aborts on a 64-bit triple.
    if (feature == "-64bit")
      return invalid("target feature '-64bit' cannot be used: tfmc compiles "
                     "for " +
                     triple);
  }
  return llvm::Error::success();
}

std::vector<std::string> targetCpuNames() {
  auto host = hostTarget();
  if (!host) {
    llvm::consumeError(host.takeError());
    return {};
  }
  std::vector<std::string> names;
  for (const llvm::SubtargetSubTypeKV &cpu :
       host->subtarget->getAllProcessorDescriptions())
    if (runsHostCode(*host, cpu.Key))
      names.push_back(cpu.Key);
  return names;
}

std::vector<std::pair<std::string, std::string>> targetFeatureNames() {
  auto host = hostTarget();
  if (!host) {
    llvm::consumeError(host.takeError());
    return {};
  }
  std::vector<std::pair<std::string, std::string>> names;
  for (const llvm::SubtargetFeatureKV &feature :
       host->subtarget->getAllProcessorFeatures())
    names.emplace_back(feature.Key, feature.Desc);
  return names;
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const TargetOptions &options) {
  if (llvm::Error err = checkTargetOptions(options))
    return err;
  auto host = hostTarget();
  if (!host)
    return host.takeError();
  const llvm::Target *target = host->target;
  std::string triple = host->subtarget->getTargetTriple().str();
  std::string cpu =
      options.cpu.empty() ? llvm::sys::getHostCPUName().str() : options.cpu;
  std::string features = options.features;
  if (features.empty() && options.cpu.empty()) {
    llvm::SmallVector<std::string> list;
    for (const auto &f : llvm::sys::getHostCPUFeatures())
      list.push_back((f.second ? "+" : "-") + f.first().str());
    features = llvm::join(list, ",");
  }
  llvm::TargetOptions to;
  auto *tm = target->createTargetMachine(triple, cpu, features, to,
                                         llvm::Reloc::PIC_, std::nullopt,
                                         llvm::CodeGenOptLevel::Aggressive);
  if (!tm)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "cannot create a target machine for " + cpu);
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
    m.appendModuleInlineAsm((".section .rodata.tfm_weights,\"a\",@progbits\n"
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
  // Field order and types follow TfmModelInfo in ModelAbi.h.
  auto *infoType = llvm::StructType::create(
      ctx, {i32, ptr, ptr, i64, i64, i64, i64, i64, i64, i64, i64, i64,
            ptr, ptr, ptr, i64, ptr, ptr, i64, i64, i64, ptr, ptr},
      "TfmModelInfo");
  auto c64 = [&](int64_t v) { return llvm::ConstantInt::get(i64, v); };
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
                              probeAttention};
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
