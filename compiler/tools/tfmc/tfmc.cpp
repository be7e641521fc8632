//===- tfmc.cpp - The tfm compiler driver ---------------------------------===//
//
//   tfmc MODEL [-o out/model] [--emit=<stage>] ...
//
// MODEL is a .tfm description, a llama2.c .bin, a .gguf, or a directory with
// config.json + model.safetensors (or its sharded index). Every stage of the
// pipeline can be printed.
//
// Outputs: text stages go to stdout unless -o is given; an object, a shared
// library or an executable without -o is named after MODEL (never after
// anything inside it) in the current directory. tfmc writes into existing
// directories only, and never over the model.
//
//===----------------------------------------------------------------------===//

#include "Progress.h"

#include "tfm/Dialect/Tfm/IR/TfmOps.h"
#include "tfm/Frontend/Description.h"
#include "tfm/Frontend/GraphBuilder.h"
#include "tfm/Frontend/GraphDot.h"
#include "tfm/Frontend/Importers.h"
#include "tfm/Frontend/ModelTokenizer.h"
#include "tfm/Frontend/Weights.h"
#include "tfm/InitAll.h"
#include "tfm/Pipelines/Pipelines.h"
#include "tfm/Target/Codegen.h"
#include "tfm/Transforms/MemoryPlan.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/CrashRecoveryContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Triple.h"

namespace cl = llvm::cl;

namespace {

enum class Stage {
  Spec,
  Dot,
  Tfm,
  Fused,
  Linalg,
  MemoryPlan,
  LLVMDialect,
  LLVMIR,
  Asm,
  Obj,
  Shared,
  Exe
};

cl::OptionCategory category("tfmc options");

cl::opt<std::string> inputPath(cl::Positional, cl::desc("MODEL"),
                               cl::cat(category));
cl::opt<std::string>
    outputPath("o",
               cl::desc("Output file (default: stdout for text stages; for "
                        "obj/shared/exe MODEL's name in the current directory: "
                        "NAME.o, NAME.so, NAME)"),
               cl::value_desc("path"), cl::cat(category));
cl::opt<Stage> emit(
    "emit", cl::desc("What to produce (default: exe)"), cl::init(Stage::Exe),
    cl::values(
        clEnumValN(Stage::Spec, "spec", "the model as a .tfm description"),
        clEnumValN(Stage::Dot, "dot",
                   "a Graphviz picture of the block structure"),
        clEnumValN(Stage::Tfm, "tfm",
                   "the tfm-dialect graph as built (unfused)"),
        clEnumValN(Stage::Tfm, "graph", "alias of tfm"),
        clEnumValN(Stage::Fused, "fused", "the graph after the tfm passes"),
        clEnumValN(Stage::Linalg, "linalg",
                   "after lowering to linalg on tensors"),
        clEnumValN(Stage::MemoryPlan, "memory-plan",
                   "the arena plan of each entry point (tfm-plan-memory)"),
        clEnumValN(Stage::LLVMDialect, "llvm-dialect", "MLIR's LLVM dialect"),
        clEnumValN(Stage::LLVMIR, "llvm-ir", "LLVM IR after -O3"),
        clEnumValN(Stage::Asm, "asm", "assembly for the target"),
        clEnumValN(Stage::Obj, "obj", "an object file defining tfm_model"),
        clEnumValN(Stage::Shared, "shared",
                   "a shared library (.so) exporting tfm_model and the C API, "
                   "to dlopen"),
        clEnumValN(Stage::Exe, "exe", "a text-generating executable")),
    cl::cat(category));
cl::opt<std::string> symbolPrefix(
    "name",
    cl::desc(
        "Prefix of the model's exported symbols in obj/shared/asm/llvm-ir: "
        "PREFIX_model instead of tfm_model, so that two models link into "
        "one program"),
    cl::value_desc("PREFIX"), cl::cat(category));
cl::opt<std::string> tokenizerPath(
    "tokenizer",
    cl::desc("Tokenizer file (llama2.c tokenizer.bin, .gguf, vocab.json)"),
    cl::value_desc("file"), cl::cat(category));
enum class WeightsMode { Auto, Embed, Mmap, None };
cl::opt<WeightsMode> weightsMode(
    "weights", cl::desc("Where the executable finds its weights"),
    cl::init(WeightsMode::Auto),
    cl::values(
        clEnumValN(WeightsMode::Auto, "auto",
                   "embed up to --embed-limit, else mmap (default)"),
        clEnumValN(WeightsMode::Embed, "embed", "in a read-only section"),
        clEnumValN(WeightsMode::Mmap, "mmap",
                   "in OUTPUT.weights beside the executable, memory-mapped"),
        clEnumValN(WeightsMode::None, "none",
                   "like mmap, but write no weights (reuse an OUTPUT.weights "
                   "of the same model, or give one at run time)")),
    cl::cat(category));
// 16 MiB: embedding copies the blob twice more (into the object, then the
// executable) and makes every relink rewrite it; below this size that costs
// under ~0.1 s and buys a single-file executable.
cl::opt<uint64_t> embedLimit(
    "embed-limit",
    cl::desc("Largest weights blob --weights=auto embeds, in MiB (default 16)"),
    cl::init(16), cl::value_desc("MiB"), cl::cat(category));
cl::opt<bool> allowNonFinite(
    "allow-nonfinite",
    cl::desc("Compile weights that hold NaN or infinity (by default an error "
             "naming the tensor and the element)"),
    cl::cat(category));
cl::opt<bool> quiet("quiet", cl::desc("Print no progress"), cl::cat(category));
cl::opt<bool> timings("timings",
                      cl::desc("Print each phase's wall time and peak RSS"),
                      cl::cat(category));
cl::opt<double>
    progressAfter("progress-after",
                  cl::desc("Seconds before the progress shows (default 1)"),
                  cl::init(1.0), cl::Hidden, cl::cat(category));
cl::opt<std::string> target(
    "target",
    cl::desc("What to compile for: host (default: this machine's CPU and "
             "features), x86-64, x86-64-v2, x86-64-v3, x86-64-v4, or a "
             "64-bit ELF triple ('help' lists them)"),
    cl::value_desc("host|level|triple"), cl::cat(category));
cl::opt<std::string>
    targetCpu("target-cpu",
              cl::desc("CPU to compile for (default: the one --target "
                       "implies; 'help' lists them)"),
              cl::cat(category));
cl::opt<std::string>
    targetFeatures("target-features",
                   cl::desc("Target features on top of the CPU's, e.g. "
                            "+avx2,-avx512f ('help' lists them)"),
                   cl::cat(category));
cl::opt<bool> noFuse("no-fuse", cl::desc("Skip tfm-fuse-attention"),
                     cl::cat(category));
cl::opt<bool> noMerge("no-merge-projections",
                      cl::desc("Skip tfm-merge-projections (Q/K/V and "
                               "w1/w3 as separate linear layers)"),
                      cl::cat(category));
cl::opt<tfm::Quantize> quantize(
    "quantize",
    cl::desc("Store the 2-D weights (K a multiple of 32; 256 for q4_K) of "
             "f32, f16 or bf16 checkpoints and random descriptions quantized "
             "(not with --no-kernels)"),
    cl::init(tfm::Quantize::None),
    cl::values(clEnumValN(tfm::Quantize::None, "none",
                          "keep the checkpoint's precision (default)"),
               clEnumValN(tfm::Quantize::Q8_0, "q8_0",
                          "GGUF q8_0 blocks, as llama-quantize writes them"),
               clEnumValN(tfm::Quantize::Q4_0, "q4_0",
                          "GGUF q4_0 blocks (the output layer q8_0), as "
                          "llama-quantize writes them"),
               clEnumValN(tfm::Quantize::F16, "f16", "IEEE half"),
               clEnumValN(tfm::Quantize::BF16, "bf16", "bfloat16"),
               clEnumValN(tfm::Quantize::Q4_K, "q4_K",
                          "GGUF q4_K blocks (the output layer q6_K), as "
                          "llama-quantize writes them")),
    cl::cat(category));
cl::opt<tfm::formats::DType> quantizeOutput(
    "quantize-output",
    cl::desc("With --quantize=q4_K: the type of the LM head (the embedding "
             "table when tied)"),
    cl::init(tfm::formats::DType::Q6_K),
    cl::values(clEnumValN(tfm::formats::DType::Q6_K, "q6_K",
                          "as llama-quantize's Q4_K (default)"),
               clEnumValN(tfm::formats::DType::Q4_K, "q4_K",
                          "as llama-quantize --pure")),
    cl::cat(category));
cl::opt<tfm::IntDotMode> intDot(
    "int-dot",
    cl::desc("Arithmetic of q8_0, q4_0, q4_1, q5_0, q5_1 and K-quant (q2_K "
             "to q6_K) layers: int8 dot products on quantized activations "
             "(x86 SSSE3, AVX2, AVX-512BW, VNNI) or f32"),
    cl::init(tfm::IntDotMode::Auto),
    cl::values(clEnumValN(tfm::IntDotMode::Auto, "auto",
                          "integer for decode and prefill, the LM head on "
                          "int16 activations (default)"),
               clEnumValN(tfm::IntDotMode::Off, "off",
                          "f32 (dequantize in registers)"),
               clEnumValN(tfm::IntDotMode::On, "on",
                          "integer for every such layer, the LM head on int8 "
                          "activations too"),
               clEnumValN(tfm::IntDotMode::Decode, "decode",
                          "as auto, for decode only"),
               clEnumValN(tfm::IntDotMode::Prefill, "prefill",
                          "as auto, for prefill only")),
    cl::cat(category));
cl::opt<bool> noKernels("no-kernels",
                        cl::desc("Linear layers and the LM head as scalar "
                                 "loops (reference), not generated kernels"),
                        cl::cat(category));
cl::opt<int64_t> prefillChunk(
    "prefill-chunk",
    cl::desc("Most prompt tokens the executable evaluates in one call; "
             "prefill's activation memory is sized for it"),
    cl::init(tfm::kDefaultPrefillChunk), cl::value_desc("tokens"),
    cl::cat(category));
enum class Probe { Attention };
cl::list<Probe> probes(
    "probes",
    cl::desc("Extra entry points for inspection (default none: production "
             "executables carry no probe)"),
    cl::CommaSeparated,
    cl::values(clEnumValN(Probe::Attention, "attention",
                          "tfm_probe_attention: prefill that also writes the "
                          "attention probabilities (--attention-out)")),
    cl::cat(category));
cl::opt<bool> printPipeline("print-pipeline",
                            cl::desc("Print the pass pipeline and exit"),
                            cl::cat(category));

/// The compile's progress reporter, ended before any error message.
tfm::Progress *progress = nullptr;

[[noreturn]] void exitWithError(llvm::Twine message, int status) {
  if (progress)
    progress->interrupt();
  llvm::WithColor::error(llvm::errs(), "tfmc") << message << "\n";
  // Removes the temporary files (TempFile) and unfinished outputs
  // (ToolOutputFile) still registered, as LLVM's own fatal-error path does.
  llvm::sys::RunInterruptHandlers();
  std::exit(status);
}

/// A failure while compiling (exit 1).
[[noreturn]] void fail(llvm::Twine message) { exitWithError(message, 1); }

/// A command line that cannot work (exit 2).
[[noreturn]] void usageError(llvm::Twine message) { exitWithError(message, 2); }

void check(llvm::Error err) {
  if (err)
    fail(llvm::toString(std::move(err)));
}

template <typename T> T check(llvm::Expected<T> value) {
  if (!value)
    fail(llvm::toString(value.takeError()));
  return std::move(*value);
}

/// The model, with its checkpoint open (null for random weights or none).
/// A description's checkpoint is opened and checked against it unless the
/// stage is spec or dot, its tokenizer read for the stages that embed it.
tfm::ImportedModel loadModel(llvm::SourceMgr &sm) {
  if (llvm::StringRef(inputPath).ends_with(".tfm")) {
    // Located errors are printed through `sm` (file:line:col with a caret);
    // any other (an unreadable file) is printed here.
    bool located = false;
    sm.setDiagHandler(
        [](const llvm::SMDiagnostic &diag, void *located) {
          *static_cast<bool *>(located) = true;
          diag.print(nullptr, llvm::errs());
        },
        &located);
    // The checkpoint it names is opened and checked against it here.
    auto load = [&]() -> llvm::Expected<tfm::ImportedModel> {
      if (emit != Stage::Spec && emit != Stage::Dot)
        return tfm::loadDescription(inputPath, sm,
                                    /*checkTokenizer=*/emit >= Stage::LLVMIR);
      auto spec = tfm::parseDescriptionFile(inputPath, sm);
      if (!spec)
        return spec.takeError();
      return tfm::ImportedModel{std::move(*spec), nullptr};
    };
    auto model = load();
    sm.setDiagHandler(nullptr);
    if (!model) {
      if (!located)
        fail(llvm::toString(model.takeError()));
      llvm::consumeError(model.takeError());
      std::exit(1);
    }
    if (!tokenizerPath.empty())
      fail("--tokenizer is for checkpoints; a .tfm names its tokenizer itself");
    return std::move(*model);
  }
  tfm::ImportOptions options;
  options.tokenizerPath = tokenizerPath;
  return check(tfm::importModel(inputPath, options));
}

/// tfmc writes into existing directories only: a mistyped -o must not
/// create a tree of directories.
void checkOutputDirectory(llvm::StringRef path) {
  llvm::StringRef parent = llvm::sys::path::parent_path(path);
  if (!parent.empty() && !llvm::sys::fs::is_directory(parent))
    fail("cannot write " + path + ": the directory " + parent +
         " does not exist (tfmc does not create directories)");
}

/// The output of a binary stage without -o: MODEL's name (a file's stem, a
/// directory's own name) plus `extension`, in the current directory. Nothing
/// read from the model chooses a path: a description's `model "../../x"`
/// must not plant files.
std::string defaultOutputPath(llvm::StringRef extension) {
  llvm::SmallString<256> input(inputPath);
  llvm::sys::fs::make_absolute(input);
  llvm::sys::path::remove_dots(input, /*remove_dot_dot=*/true);
  llvm::StringRef name = llvm::sys::fs::is_directory(input)
                             ? llvm::sys::path::filename(input)
                             : llvm::sys::path::stem(input);
  if (name.empty() || name == "." || name == ".." ||
      llvm::sys::path::is_separator(name.back()))
    usageError("cannot name the output after '" + inputPath + "'; give -o");
  std::string out = (name + extension).str();
  // Never replace the model itself, or write over a directory.
  if (llvm::sys::fs::equivalent(out, input))
    usageError("the default output '" + out + "' is the model itself; give -o");
  if (llvm::sys::fs::is_directory(out))
    usageError("the default output '" + out + "' is a directory; give -o");
  return out;
}

/// `name` in $TMPDIR.
std::string inTempDirectory(llvm::StringRef name) {
  llvm::SmallString<256> path;
  llvm::sys::path::system_temp_directory(/*erasedOnReboot=*/true, path);
  llvm::sys::path::append(path, name);
  return path.str().str();
}

/// A new file named after `model` (each % a random character). Until it is
/// kept or discarded, LLVM's signal handlers and fail() remove it.
llvm::sys::fs::TempFile createTempFile(const llvm::Twine &model) {
  auto file = llvm::sys::fs::TempFile::create(model);
  if (!file)
    fail("cannot create " + model + ": " + llvm::toString(file.takeError()));
  return std::move(*file);
}

/// Prints `module` to -o or stdout.
void printText(llvm::function_ref<void(llvm::raw_ostream &)> print) {
  std::string path = outputPath.empty() ? "-" : outputPath.getValue();
  if (path != "-")
    checkOutputDirectory(path);
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
  static cl::OptionCategory mlirCategory(
      "MLIR options (IR printing, pass manager)");
  for (auto &[name, option] : cl::getRegisteredOptions())
    if (name.starts_with("mlir-"))
      option->addCategory(mlirCategory);
  cl::HideUnrelatedOptions({&category, &mlirCategory});
  cl::ParseCommandLineOptions(
      argc, argv,
      "tfmc: compile a transformer language model into a native executable\n\n"
      "  MODEL is a .tfm description, a llama2.c .bin (with --tokenizer), a "
      ".gguf,\n  or a directory holding config.json and model.safetensors.\n");

  if (target == "help") {
    for (const std::string &name : tfm::targetNames())
      llvm::outs() << name << "\n";
    llvm::outs() << "or a 64-bit little-endian ELF triple, e.g. "
                 << tfm::hostTriple() << " (the host's)\n";
    return 0;
  }
  tfm::TargetOptions targetOptions{target, targetCpu, targetFeatures};
  if (targetCpu == "help" || targetFeatures == "help") {
    if (targetCpu == "help")
      for (const std::string &cpu : tfm::targetCpuNames(targetOptions))
        llvm::outs() << cpu << "\n";
    if (targetFeatures == "help")
      for (const auto &[name, description] :
           tfm::targetFeatureNames(targetOptions))
        llvm::outs() << llvm::left_justify(name, 24) << " " << description
                     << "\n";
    return 0;
  }
  auto resolvedTarget = tfm::resolveTarget(targetOptions);
  if (!resolvedTarget)
    usageError(llvm::toString(resolvedTarget.takeError()));
  // An executable or a shared library links libtfmrt, built for the host.
  llvm::Triple chosen(resolvedTarget->triple), host(tfm::hostTriple());
  if ((emit == Stage::Exe || emit == Stage::Shared) &&
      (chosen.getArch() != host.getArch() || chosen.getOS() != host.getOS()))
    usageError("--target=" + target +
               ": an executable or a shared library "
               "links the runtime built for " +
               tfm::hostTriple() +
               "; for another target use --emit=obj, asm or llvm-ir");

  auto tm = check(tfm::createTargetMachine(*resolvedTarget));
  tfm::PipelineOptions pipeline;
  pipeline.fuseAttention = !noFuse;
  pipeline.mergeProjections = !noMerge;
  pipeline.generateKernels = !noKernels;
  pipeline.vectorWidth = tfm::vectorWidthF32(*tm);
  pipeline.intDot = tfm::intDotIsa(*tm);
  tfm::setIntDotCases(pipeline, intDot);
  if (quantize != tfm::Quantize::None && noKernels)
    usageError("--quantize contradicts --no-kernels (the generated kernels "
               "read the quantized blocks; loops read f32)");
  if (quantizeOutput.getNumOccurrences() && quantize != tfm::Quantize::Q4_K)
    usageError("--quantize-output needs --quantize=q4_K");

  mlir::DialectRegistry registry;
  tfm::registerAllDialects(registry);
  mlir::MLIRContext ctx(registry);
  if (printPipeline) {
    // One module-level pipeline: what tfmc runs in stages below, in a form
    // `tfm-opt --pass-pipeline=...` reproduces.
    mlir::PassManager pm(&ctx, mlir::ModuleOp::getOperationName());
    tfm::buildOptimizationPipeline(pm, pipeline);
    tfm::buildToLinalgPipeline(pm, pipeline);
    tfm::buildLinalgToLLVMPipeline(pm, pipeline);
    pm.printAsTextualPipeline(llvm::outs());
    llvm::outs() << "\n";
    return 0;
  }
  if (inputPath.empty())
    usageError("no MODEL given (tfmc --help shows the usage)");

  // Outputs are settled before any work, so a bad one fails at once.
  // obj/exe without -o: MODEL's name; OUT.weights beside it for mmap.
  std::string out = outputPath;
  if (out.empty() &&
      (emit == Stage::Obj || emit == Stage::Shared || emit == Stage::Exe))
    out = defaultOutputPath(emit == Stage::Obj      ? ".o"
                            : emit == Stage::Shared ? ".so"
                                                    : "");
  if (!symbolPrefix.empty() && emit == Stage::Exe)
    usageError("--name is for --emit=obj|shared|asm|llvm-ir: an executable's "
               "main() uses tfm_model");
  if (!out.empty() && out != "-") {
    checkOutputDirectory(out);
    if (llvm::sys::fs::equivalent(out, inputPath))
      usageError("-o " + out + " is the model itself");
  }
  if (prefillChunk < 1)
    fail("--prefill-chunk must be at least 1");

  tfm::Progress phases(llvm::errs(), /*show=*/!quiet, timings, progressAfter);
  progress = &phases;
  phases.begin(tfm::Progress::Import);
  llvm::SourceMgr sm;
  tfm::ImportedModel model = loadModel(sm);
  // Ops carry the description's file:line:col: MLIR's errors show its line.
  // Only errors, as without a handler (translation warns of attributes it
  // leaves alone).
  mlir::SourceMgrDiagnosticHandler diagnostics(sm, &ctx);
  ctx.getDiagEngine().registerHandler([](mlir::Diagnostic &diag) {
    return mlir::success(diag.getSeverity() != mlir::DiagnosticSeverity::Error);
  });
  tfm::ModelSpec &spec = model.spec;
  if (emit == Stage::Spec) {
    printText([&](llvm::raw_ostream &os) { tfm::printDescription(spec, os); });
    return phases.finish(), 0;
  }
  if (emit == Stage::Dot) {
    printText([&](llvm::raw_ostream &os) { tfm::printGraphDot(spec, os); });
    return phases.finish(), 0;
  }
  // Each checkpoint is mapped, parsed and checked once, by the import or by
  // loadDescription (null for random weights).
  // `weights = none` describes a model without values: the stages up to
  // MLIR's LLVM dialect need none; from LLVM IR on, the object holds them.
  bool needsWeights = emit == Stage::LLVMIR || emit == Stage::Asm ||
                      emit == Stage::Obj || emit == Stage::Shared ||
                      emit == Stage::Exe;
  if (spec.weights.format == tfm::CheckpointFormat::None && needsWeights)
    usageError("model '" + spec.name + "' has weights = none: --emit=" +
               (emit == Stage::LLVMIR   ? "llvm-ir"
                : emit == Stage::Asm    ? "asm"
                : emit == Stage::Obj    ? "obj"
                : emit == Stage::Shared ? "shared"
                                        : "exe") +
               " needs weight values (the stages up to llvm-dialect do not)");
  std::unique_ptr<tfm::formats::Checkpoint> checkpoint =
      model.checkpoint ? std::move(model.checkpoint)
      : spec.weights.format == tfm::CheckpointFormat::None
          ? nullptr
          : check(tfm::openWeights(spec));

  // Generated linear layers read q8_0 blocks as the checkpoint stores them;
  // loops (--no-kernels) read f32.
  // --quantize=q8_0 stores the other 2-D weights as q8_0 blocks too.
  if (pipeline.generateKernels &&
      (checkpoint || spec.weights.format == tfm::CheckpointFormat::Random))
    tfm::chooseWeightStorage(spec, checkpoint.get(), quantize, quantizeOutput);

  phases.begin(tfm::Progress::Graph);
  tfm::WeightsLayout layout = tfm::weightsLayout(spec);
  tfm::Probes probeSet;
  probeSet.attention = llvm::is_contained(probes, Probe::Attention);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      tfm::buildGraph(ctx, spec, layout, prefillChunk, probeSet);
  if (mlir::failed(mlir::verify(*module)))
    fail("internal error: the built graph does not verify");
  auto printModule = [&] {
    printText([&](llvm::raw_ostream &os) { module->print(os); });
    phases.finish();
  };
  if (emit == Stage::Tfm)
    return printModule(), 0;
  phases.begin(tfm::Progress::Passes);
  runPasses(*module, [&](mlir::OpPassManager &pm) {
    tfm::buildOptimizationPipeline(pm, pipeline);
  });
  if (emit == Stage::Fused)
    return printModule(), 0;
  // tfm-pack-weights' and tfm-merge-projections' decisions, for the
  // weights writer.
  tfm::WeightPacking packing;
  tfm::WeightMerges merges;
  llvm::StringSet<> mergedNames;
  module->walk([&](mlir::tfm::WeightOp op) {
    std::optional<uint64_t> tile = op.getPacked();
    if (tile)
      packing[op.getName()] = {static_cast<int64_t>(*tile), op.getQuads()};
    auto parts = op->getAttrOfType<mlir::ArrayAttr>("tfm.merged");
    if (!parts || !mergedNames.insert(op.getName()).second)
      return;
    tfm::WeightMerge &m = merges.emplace_back();
    m.tile = tile ? static_cast<int64_t>(*tile) : 0;
    m.quads = op.getQuads();
    for (mlir::Attribute a : parts)
      m.parts.push_back(mlir::cast<mlir::StringAttr>(a).str());
  });
  runPasses(*module, [&](mlir::OpPassManager &pm) {
    tfm::buildToLinalgPipeline(pm, pipeline);
  });
  if (emit == Stage::Linalg)
    return printModule(), 0;
  if (emit == Stage::MemoryPlan) {
    runPasses(*module, [&](mlir::OpPassManager &pm) {
      tfm::buildBufferizationPipeline(pm, pipeline);
    });
    printText(
        [&](llvm::raw_ostream &os) { tfm::printMemoryPlans(*module, os); });
    return phases.finish(), 0;
  }
  runPasses(*module, [&](mlir::OpPassManager &pm) {
    tfm::buildLinalgToLLVMPipeline(pm, pipeline);
  });
  if (emit == Stage::LLVMDialect)
    return printModule(), 0;

  tfm::ModelPayload payload;
  payload.weightsBytes = layout.totalSize;
  payload.census = tfm::weightsCensus(layout);
  payload.specId = tfm::specId(spec);
  WeightsMode mode = weightsMode;
  if (mode == WeightsMode::Auto)
    mode = embedLimit >= (uint64_t(1) << 44) ||
                   layout.totalSize <= (embedLimit << 20)
               ? WeightsMode::Embed
               : WeightsMode::Mmap;
  payload.embedWeights = mode == WeightsMode::Embed;
  if (auto tokenizer = check(tfm::loadModelTokenizer(spec, checkpoint.get())))
    payload.tokenizer = tokenizer->serialize();
  payload.prefillChunk = tfm::prefillTokens(spec, prefillChunk);

  // The weights: a temporary blob that the object's .incbin reads, or the
  // sidecar (blob and trailer), written under a temporary name and renamed
  // once all is done. Only an object, a shared library or an executable
  // keeps a sidecar;
  // assembly needs the blob only to embed it.
  bool binary =
      emit == Stage::Obj || emit == Stage::Shared || emit == Stage::Exe;
  std::string sidecarPath;
  if (!payload.embedWeights) {
    sidecarPath = out.empty() || out == "-" ? defaultOutputPath(".weights")
                                            : out + ".weights";
    payload.weightsFile = llvm::sys::path::filename(sidecarPath).str();
  }
  bool writeBlob = payload.embedWeights ? binary || emit == Stage::Asm
                                        : binary && mode != WeightsMode::None;
  std::optional<llvm::sys::fs::TempFile> blob;
  auto discardBlob = llvm::make_scope_exit([&] {
    if (blob)
      llvm::consumeError(blob->discard());
  });
  if (writeBlob) {
    phases.begin(tfm::Progress::Weights);
    blob.emplace(createTempFile(payload.embedWeights
                                    ? inTempDirectory("tfm-weights-%%%%%%.bin")
                                    : sidecarPath + "-%%%%%%"));
    payload.weightsBlobPath = blob->TmpName;
    llvm::raw_fd_ostream os(blob->FD, /*shouldClose=*/false,
                            /*unbuffered=*/true);
    // A checkpoint truncated underneath the mapping: readF32 checks the
    // size before reading, and a SIGBUS in the window after the check
    // becomes the same error (Checkpoint::readF32).
    llvm::CrashRecoveryContext::Enable();
    auto weightsId = tfm::writeWeightsBlob(
        spec, checkpoint.get(), os, packing, merges,
        [&](uint64_t done, uint64_t total) { phases.weights(done, total); },
        allowNonFinite);
    llvm::CrashRecoveryContext::Disable();
    payload.weightsId = check(std::move(weightsId));
    if (!payload.embedWeights)
      tfm::writeWeightsTrailer(os, layout.totalSize, payload.specId,
                               payload.weightsId);
    std::error_code ec = os.error();
    os.clear_error();
    if (ec)
      fail("cannot write the weights to " + blob->TmpName + ": " +
           ec.message());
  }
  // The weights are written: unmap them before LLVM's -O3 and codegen.
  checkpoint.reset();
  phases.begin(tfm::Progress::LLVM);
  llvm::LLVMContext llvmCtx;
  auto llvmModule = check(tfm::translateToLLVMIR(*module, llvmCtx, *tm));
  module = nullptr; // the MLIR module is no longer needed
  check(tfm::addModelInfo(*llvmModule, spec, payload));
  if (!symbolPrefix.empty())
    check(tfm::prefixSymbols(*llvmModule, symbolPrefix));
  tfm::optimizeModule(*llvmModule, *tm);
  if (emit == Stage::LLVMIR) {
    printText([&](llvm::raw_ostream &os) { llvmModule->print(os, nullptr); });
  } else if (emit == Stage::Asm) {
    check(tfm::emitFile(*llvmModule, *tm, out.empty() ? "-" : out,
                        /*assembly=*/true));
  } else if (emit == Stage::Obj) {
    check(tfm::emitFile(*llvmModule, *tm, out, /*assembly=*/false));
  } else {
    llvm::sys::fs::TempFile object =
        createTempFile(inTempDirectory("tfm-model-%%%%%%.o"));
    auto discardObject =
        llvm::make_scope_exit([&] { llvm::consumeError(object.discard()); });
    check(tfm::emitFile(*llvmModule, *tm, object.TmpName, /*assembly=*/false));
    phases.begin(tfm::Progress::Link);
    check(tfm::linkExecutable(object.TmpName, out,
                              emit == Stage::Shared
                                  ? tfm::LinkKind::Shared
                                  : tfm::LinkKind::Executable));
  }
  if (blob && !payload.embedWeights)
    check(blob->keep(sidecarPath));
  phases.finish();
  return 0;
}
