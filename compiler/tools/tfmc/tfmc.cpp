//===- tfmc.cpp - The tfm compiler driver ---------------------------------===//
//
//   tfmc MODEL [-o out/model] [--emit=<stage>] ...
//
// MODEL is a .tfm description, a llama2.c .bin, a .gguf, or a directory with
// config.json + model.safetensors. Every stage of the pipeline can be printed.
//
//===----------------------------------------------------------------------===//

#include "tfm/Frontend/Description.h"
#include "tfm/Frontend/GraphBuilder.h"
#include "tfm/Frontend/Importers.h"
#include "tfm/Frontend/Weights.h"
#include "tfm/InitAll.h"
#include "tfm/Pipelines/Pipelines.h"
#include "tfm/Target/Codegen.h"
#include "tfm/Transforms/MemoryPlan.h"
#include "tfm/Frontend/GraphDot.h"
#include "tfm/runtime/Tokenizer.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;

namespace {

enum class Stage { Spec, Dot, Tfm, Fused, Linalg, MemoryPlan, LLVMDialect, LLVMIR, Asm, Obj, Exe };

cl::OptionCategory category("tfmc options");

cl::opt<std::string> inputPath(cl::Positional, cl::desc("MODEL"), cl::Required,
                               cl::cat(category));
cl::opt<std::string> outputPath(
    "o", cl::desc("Output file (default: stdout for text stages, the model "
                  "name for obj/exe)"),
    cl::value_desc("path"), cl::cat(category));
cl::opt<Stage> emit(
    "emit", cl::desc("What to produce (default: exe)"), cl::init(Stage::Exe),
    cl::values(
        clEnumValN(Stage::Spec, "spec", "the model as a .tfm description"),
        clEnumValN(Stage::Dot, "dot", "a Graphviz picture of the block structure"),
        clEnumValN(Stage::Tfm, "tfm", "the tfm-dialect graph as built (unfused)"),
        clEnumValN(Stage::Tfm, "graph", "alias of tfm"),
        clEnumValN(Stage::Fused, "fused", "the graph after the tfm passes"),
        clEnumValN(Stage::Linalg, "linalg", "after lowering to linalg on tensors"),
        clEnumValN(Stage::MemoryPlan, "memory-plan",
                   "the arena plan of each entry point (tfm-plan-memory)"),
        clEnumValN(Stage::LLVMDialect, "llvm-dialect", "MLIR's LLVM dialect"),
        clEnumValN(Stage::LLVMIR, "llvm-ir", "LLVM IR after -O3"),
        clEnumValN(Stage::Asm, "asm", "assembly for the target"),
        clEnumValN(Stage::Obj, "obj", "an object file defining tfm_model"),
        clEnumValN(Stage::Exe, "exe", "a text-generating executable")),
    cl::cat(category));
cl::opt<std::string> tokenizerPath(
    "tokenizer", cl::desc("Tokenizer file (llama2.c tokenizer.bin, .gguf, vocab.json)"),
    cl::value_desc("file"), cl::cat(category));
enum class WeightsMode { Embed, Mmap };
cl::opt<WeightsMode> weightsMode(
    "weights", cl::desc("Where the executable finds its weights"),
    cl::init(WeightsMode::Embed),
    cl::values(clEnumValN(WeightsMode::Embed, "embed", "in a read-only section (default)"),
               clEnumValN(WeightsMode::Mmap, "mmap",
                          "in OUTPUT.weights beside the executable, memory-mapped")),
    cl::cat(category));
cl::opt<std::string> targetCpu("target-cpu", cl::desc("CPU to compile for (default: host)"),
                               cl::cat(category));
cl::opt<std::string> targetFeatures(
    "target-features", cl::desc("Target features, e.g. +avx2,-avx512f (default: host)"),
    cl::cat(category));
cl::opt<bool> noFuse("no-fuse", cl::desc("Skip tfm-fuse-attention"), cl::cat(category));
cl::opt<bool> noKernels("no-kernels",
                        cl::desc("Lower matmuls to loops instead of runtime kernels"),
                        cl::cat(category));
cl::opt<bool> printPipeline("print-pipeline",
                            cl::desc("Print the pass pipeline and exit"),
                            cl::cat(category));

[[noreturn]] void fail(llvm::Twine message) {
  llvm::WithColor::error(llvm::errs(), "tfmc") << message << "\n";
  std::exit(1);
}

void check(llvm::Error err) {
  if (err)
    fail(llvm::toString(std::move(err)));
}

template <typename T> T check(llvm::Expected<T> value) {
  if (!value)
    fail(llvm::toString(value.takeError()));
  return std::move(*value);
}

tfm::ModelSpec loadModel(llvm::SourceMgr &sm) {
  if (llvm::StringRef(inputPath).ends_with(".tfm")) {
    auto spec = tfm::parseDescriptionFile(inputPath, sm);
    if (!spec) {
      // The parser already printed file:line:col with a caret.
      llvm::consumeError(spec.takeError());
      std::exit(1);
    }
    if (!tokenizerPath.empty())
      fail("--tokenizer is for checkpoints; a .tfm names its tokenizer itself");
    return *spec;
  }
  tfm::ImportOptions options;
  options.tokenizerPath = tokenizerPath;
  return check(tfm::importModel(inputPath, options));
}

/// Prints `module` to -o or stdout.
void printText(llvm::function_ref<void(llvm::raw_ostream &)> print) {
  std::string path = outputPath.empty() ? "-" : outputPath.getValue();
  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_Text);
  if (ec)
    fail("cannot write " + path + ": " + ec.message());
  print(out.os());
  out.keep();
}

void runPasses(mlir::ModuleOp module,
               llvm::function_ref<void(mlir::OpPassManager &)> build) {
  mlir::PassManager pm(module.getContext());
  if (mlir::failed(mlir::applyPassManagerCLOptions(pm)))
    fail("bad pass manager options");
  build(pm);
  if (mlir::failed(pm.run(module)))
    fail("the compilation pipeline failed (see the diagnostics above)");
}

std::vector<uint8_t> serializedTokenizer(const tfm::ModelSpec &spec) {
  if (spec.tokenizer.kind == tfm::TokenizerKind::None)
    return {};
  std::string error;
  auto tok = tfm::rt::loadTokenizer(spec.tokenizer.path, error);
  if (!tok)
    fail("tokenizer " + spec.tokenizer.path + ": " + error);
  if (tok->vocabSize() != spec.vocabSize)
    fail("tokenizer " + spec.tokenizer.path + " has " +
         llvm::Twine(tok->vocabSize()) + " tokens but the model's vocabulary is " +
         llvm::Twine(spec.vocabSize));
  return tok->serialize();
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  tfm::registerAllPasses(); // first: --mlir-print-ir-after=PASS lists them
  mlir::registerPassManagerCLOptions();
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "tfmc " TFM_VERSION " (LLVM/MLIR " LLVM_VERSION_STRING ")\n";
  });
  // libLLVM registers hundreds of backend options; show ours and MLIR's
  // IR-printing and pass-manager flags (--mlir-print-ir-after-all, ...).
  static cl::OptionCategory mlirCategory("MLIR options (IR printing, pass manager)");
  for (auto &[name, option] : cl::getRegisteredOptions())
    if (name.starts_with("mlir-"))
      option->addCategory(mlirCategory);
  cl::HideUnrelatedOptions({&category, &mlirCategory});
  cl::ParseCommandLineOptions(
      argc, argv,
      "tfmc: compile a transformer language model into a native executable\n\n"
      "  MODEL is a .tfm description, a llama2.c .bin (with --tokenizer), a "
      ".gguf,\n  or a directory holding config.json and model.safetensors.\n");

  tfm::PipelineOptions pipeline;
  pipeline.fuseAttention = !noFuse;
  pipeline.kernels = !noKernels;

  mlir::DialectRegistry registry;
  tfm::registerAllDialects(registry);
  mlir::MLIRContext ctx(registry);
  if (printPipeline) {
    mlir::PassManager pm(&ctx);
    tfm::buildOptimizationPipeline(pm, pipeline);
    tfm::buildToLinalgPipeline(pm, pipeline);
    tfm::buildLinalgToLLVMPipeline(pm, pipeline);
    pm.printAsTextualPipeline(llvm::outs());
    llvm::outs() << "\n";
    return 0;
  }

  llvm::SourceMgr sm;
  tfm::ModelSpec spec = loadModel(sm);
  if (emit == Stage::Spec) {
    printText([&](llvm::raw_ostream &os) { tfm::printDescription(spec, os); });
    return 0;
  }
  if (emit == Stage::Dot) {
    printText([&](llvm::raw_ostream &os) { tfm::printGraphDot(spec, os); });
    return 0;
  }
  check(tfm::checkWeights(spec));

  tfm::WeightsLayout layout = tfm::weightsLayout(spec);
  mlir::OwningOpRef<mlir::ModuleOp> module = tfm::buildGraph(ctx, spec, layout);
  if (mlir::failed(mlir::verify(*module)))
    fail("internal error: the built graph does not verify");
  auto printModule = [&] {
    printText([&](llvm::raw_ostream &os) { module->print(os); });
  };
  if (emit == Stage::Tfm)
    return printModule(), 0;
  runPasses(*module, [&](mlir::OpPassManager &pm) {
    tfm::buildOptimizationPipeline(pm, pipeline);
  });
  if (emit == Stage::Fused)
    return printModule(), 0;
  runPasses(*module, [&](mlir::OpPassManager &pm) {
    tfm::buildToLinalgPipeline(pm, pipeline);
  });
  if (emit == Stage::Linalg)
    return printModule(), 0;
  if (emit == Stage::MemoryPlan) {
    runPasses(*module, [&](mlir::OpPassManager &pm) {
      tfm::buildBufferizationPipeline(pm, pipeline);
    });
    printText([&](llvm::raw_ostream &os) { tfm::printMemoryPlans(*module, os); });
    return 0;
  }
  runPasses(*module, [&](mlir::OpPassManager &pm) {
    tfm::buildLinalgToLLVMPipeline(pm, pipeline);
  });
  if (emit == Stage::LLVMDialect)
    return printModule(), 0;

  auto tm = check(tfm::createTargetMachine({targetCpu, targetFeatures}));
  llvm::LLVMContext llvmCtx;
  auto llvmModule = check(tfm::translateToLLVMIR(*module, llvmCtx, *tm));

  // Output names: out/model, out/model.o, out/model.weights.
  std::string out = outputPath.empty() ? spec.name : outputPath.getValue();
  std::string objPath = emit == Stage::Obj ? out : out + ".o";
  tfm::ModelPayload payload;
  payload.embedWeights = weightsMode == WeightsMode::Embed;
  payload.weightsBytes = layout.totalSize;
  payload.tokenizer = serializedTokenizer(spec);
  llvm::SmallString<128> blobPath;
  if (payload.embedWeights) {
    int fd;
    if (std::error_code ec = llvm::sys::fs::createTemporaryFile("tfm-weights", "bin", fd, blobPath))
      fail("cannot create a temporary file: " + ec.message());
    llvm::sys::Process::SafelyCloseFileDescriptor(fd);
  } else {
    blobPath = out + ".weights";
    payload.weightsFile = llvm::sys::path::filename(blobPath).str();
  }
  payload.weightsBlobPath = blobPath.str().str();
  bool needsBlob = emit == Stage::Obj || emit == Stage::Exe || emit == Stage::Asm ||
                   !payload.embedWeights;
  if (needsBlob) {
    std::error_code ec;
    llvm::raw_fd_ostream blob(blobPath, ec, llvm::sys::fs::OF_None);
    if (ec)
      fail("cannot write " + blobPath + ": " + ec.message());
    std::vector<uint64_t> offsets;
    check(tfm::writeWeightsBlob(spec, blob, offsets));
  }
  auto cleanup = llvm::make_scope_exit([&] {
    if (payload.embedWeights)
      llvm::sys::fs::remove(blobPath);
  });
  check(tfm::addModelInfo(*llvmModule, spec, payload));
  tfm::optimizeModule(*llvmModule, *tm);
  if (emit == Stage::LLVMIR) {
    printText([&](llvm::raw_ostream &os) { llvmModule->print(os, nullptr); });
    return 0;
  }
  if (emit == Stage::Asm) {
    check(tfm::emitFile(*llvmModule, *tm, outputPath.empty() ? "-" : outputPath.getValue(),
                        /*assembly=*/true));
    return 0;
  }
  if (llvm::StringRef parent = llvm::sys::path::parent_path(out); !parent.empty())
    if (std::error_code ec = llvm::sys::fs::create_directories(parent))
      fail("cannot create " + parent + ": " + ec.message());
  check(tfm::emitFile(*llvmModule, *tm, objPath, /*assembly=*/false));
  if (emit == Stage::Obj)
    return 0;
  check(tfm::linkExecutable(objPath, out));
  llvm::sys::fs::remove(objPath);
  return 0;
}
