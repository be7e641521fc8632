//===- tfm-inspect.cpp - Look inside a model without compiling it ---------===//
//
//   tfm-inspect MODEL neighbors TOKEN [--top K]
//   tfm-inspect MODEL analogy A B C [--top K] [--mean]
//   tfm-inspect MODEL positions [--positions N] [--svg FILE|--png FILE]
//   tfm-inspect MODEL embedding-map TOKEN... [--svg FILE|--png FILE]
//   tfm-inspect [MODEL] attention FILE.npy [--tokens "A B ..." | --prompt T]
//               [--layer L] [--head H] [--svg FILE|--png FILE]
//   tfm-inspect MODEL probs LOGITS.f32 [--row R] [--temps 0.5,1,2] [--top K]
//               [--svg FILE|--png FILE]
//
// MODEL is anything tfmc reads (.tfm, llama2.c .bin, .gguf, a Hugging Face
// directory), read through the same frontend (loadDescription/importModel,
// readWeight, loadModelTokenizer); nothing is compiled. Output is plain text
// on stdout, one record per line, tab-separated, comment lines starting with
// '#'; pictures are drawn by tfm_plot.py (matplotlib) from the numbers this
// tool computes. Exit codes: 0 success, 1 a file could not be read or drawn,
// 2 bad usage (unknown command, token or flag).
//
//===----------------------------------------------------------------------===//

#include "tfm/Formats/Checkpoint.h"
#include "tfm/Formats/Npy.h"
#include "tfm/Formats/TokenizerFiles.h"
#include "tfm/Frontend/Description.h"
#include "tfm/Frontend/Importers.h"
#include "tfm/Frontend/ModelTokenizer.h"
#include "tfm/Frontend/Weights.h"
#include "tfm/runtime/AlibiSlope.h"
#include "tfm/runtime/Tokenizer.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

namespace cl = llvm::cl;

namespace {

cl::OptionCategory category("tfm-inspect options");

cl::list<std::string> positional(cl::Positional,
                                 cl::desc("[MODEL] COMMAND ARGS..."),
                                 cl::cat(category));
cl::opt<unsigned> top("top", cl::desc("How many results (default 10)"),
                      cl::init(10), cl::cat(category));
cl::opt<bool> mean("mean",
                   cl::desc("A word of several tokens stands for the mean of "
                            "their embeddings (default: an error)"),
                   cl::cat(category));
cl::opt<bool> printIds("ids", cl::desc("Print token ids instead of pieces"),
                       cl::cat(category));
cl::opt<std::string>
    tokenizerPath("tokenizer",
                  cl::desc("Tokenizer file for a checkpoint (as tfmc)"),
                  cl::value_desc("file"), cl::cat(category));
cl::opt<std::string> svgPath("svg", cl::desc("Draw the result as SVG"),
                             cl::value_desc("file"), cl::cat(category));
cl::opt<std::string> pngPath("png", cl::desc("Draw the result as PNG"),
                             cl::value_desc("file"), cl::cat(category));
cl::opt<std::string> size("size",
                          cl::desc("Picture size in pixels (default 800x600)"),
                          cl::init("800x600"), cl::value_desc("WxH"),
                          cl::cat(category));
cl::opt<int64_t> numPositions(
    "positions",
    cl::desc("positions: how many positions (default: the context, at "
             "most 128)"),
    cl::init(0), cl::value_desc("N"), cl::cat(category));
cl::opt<std::string>
    tokenLabels("tokens",
                cl::desc("attention: the T token labels, separated by spaces"),
                cl::value_desc("labels"), cl::cat(category));
cl::opt<std::string> promptLabels(
    "prompt",
    cl::desc("attention with a MODEL: the prompt the executable ran, whose "
             "tokens (BOS as the executable adds it) label the axes"),
    cl::value_desc("text"), cl::cat(category));
cl::opt<int64_t> layerOpt("layer",
                          cl::desc("attention: only this layer (default all)"),
                          cl::init(-1), cl::cat(category));
cl::opt<int64_t> headOpt("head",
                         cl::desc("attention: only this head (default all)"),
                         cl::init(-1), cl::cat(category));
cl::opt<int64_t> row("row",
                     cl::desc("probs: the logits row (default: the last)"),
                     cl::init(-1), cl::cat(category));
cl::list<double> temps("temps",
                       cl::desc("probs: temperatures (default 0.5,1,2)"),
                       cl::CommaSeparated, cl::cat(category));

const char *const kOverview =
    "tfm-inspect: look inside a model tfmc reads, without compiling it\n\n"
    "  tfm-inspect MODEL neighbors TOKEN [--top K]\n"
    "      nearest tokens by cosine similarity of embedding rows\n"
    "  tfm-inspect MODEL analogy A B C [--top K] [--mean]\n"
    "      nearest tokens to e(A) - e(B) + e(C), without A, B and C\n"
    "  tfm-inspect MODEL positions [--positions N] [--svg F|--png F]\n"
    "      the positional encodings (sinusoidal or learned: position x\n"
    "      dimension; rope: angle per position and pair; alibi: slopes)\n"
    "  tfm-inspect MODEL embedding-map TOKEN... [--svg F|--png F]\n"
    "      2-D PCA projection of the tokens' embeddings\n"
    "  tfm-inspect [MODEL] attention FILE.npy [--tokens \"A B ...\" |\n"
    "              --prompt TEXT (with MODEL)]\n"
    "              [--layer L] [--head H] [--svg F|--png F]\n"
    "      attention probabilities written by an executable's\n"
    "      --attention-out (tfmc --probes=attention)\n"
    "  tfm-inspect MODEL probs LOGITS [--row R] [--temps 0.5,1,2] [--top K]\n"
    "      next-token probabilities at several temperatures, from an\n"
    "      executable's --logits-out\n\n"
    "  MODEL: .tfm, llama2.c .bin, .gguf or a Hugging Face directory.\n"
    "  TOKEN: text for the model's tokenizer (a vocabulary piece as\n"
    "  written, or text that encodes to one token), or a token id for a\n"
    "  model without a tokenizer.\n";

[[noreturn]] void exitWithError(const llvm::Twine &message, int status) {
  llvm::WithColor::error(llvm::errs(), "tfm-inspect") << message << "\n";
  std::exit(status);
}
[[noreturn]] void fail(const llvm::Twine &message) {
  exitWithError(message, 1);
}
[[noreturn]] void usageError(const llvm::Twine &message) {
  exitWithError(message + " (tfm-inspect --help shows the usage)", 2);
}

template <typename T> T check(llvm::Expected<T> value) {
  if (!value)
    fail(llvm::toString(value.takeError()));
  return std::move(*value);
}

//===----------------------------------------------------------------------===//
// The model: spec, checkpoint, tokenizer, embedding table.
//===----------------------------------------------------------------------===//

struct Model {
  tfm::ModelSpec spec;
  std::unique_ptr<tfm::formats::Checkpoint> checkpoint;
  std::unique_ptr<tfm::rt::Tokenizer> tokenizer; ///< Null: token ids.

  /// The weight `name` of expectedWeights, as canonical f32.
  std::vector<float> weight(llvm::StringRef name,
                            std::vector<int64_t> *shape = nullptr) const {
    for (const tfm::WeightDecl &decl : tfm::expectedWeights(spec)) {
      if (decl.name != name)
        continue;
      int64_t count = 1;
      for (int64_t d : decl.shape)
        count *= d;
      std::vector<float> values(size_t(count), 0.0f);
      if (llvm::Error err =
              tfm::readWeight(spec, checkpoint.get(), decl, values))
        fail(llvm::toString(std::move(err)));
      if (shape)
        *shape = decl.shape;
      return values;
    }
    fail("model '" + spec.name + "' has no weight " + name);
  }

  /// What a token is called in the output.
  std::string label(int32_t id) const {
    if (printIds || !tokenizer)
      return std::to_string(id);
    return tfm::formats::escapePiece(tokenizer->piece(id));
  }
};

/// Reads MODEL as tfmc does: a description through loadDescription (its
/// checkpoint checked against it, the tokenizer loaded), a checkpoint
/// through importModel.
Model loadModel(llvm::StringRef path) {
  Model model;
  if (path.ends_with(".tfm")) {
    if (!tokenizerPath.empty())
      usageError("--tokenizer is for checkpoints; a .tfm names its tokenizer");
    llvm::SourceMgr sm;
    bool located = false;
    sm.setDiagHandler(
        [](const llvm::SMDiagnostic &diag, void *located) {
          *static_cast<bool *>(located) = true;
          diag.print(nullptr, llvm::errs());
        },
        &located);
    auto imported = tfm::loadDescription(path, sm, /*checkTokenizer=*/true);
    if (!imported) {
      if (!located)
        fail(llvm::toString(imported.takeError()));
      llvm::consumeError(imported.takeError());
      std::exit(1);
    }
    model.spec = std::move(imported->spec);
    model.checkpoint = std::move(imported->checkpoint);
  } else {
    tfm::ImportOptions options;
    options.tokenizerPath = tokenizerPath;
    tfm::ImportedModel imported = check(tfm::importModel(path, options));
    model.spec = std::move(imported.spec);
    model.checkpoint = std::move(imported.checkpoint);
  }
  if (model.spec.weights.format == tfm::CheckpointFormat::None)
    fail("model '" + model.spec.name +
         "' has weights = none: tfm-inspect needs weight values");
  if (!model.checkpoint &&
      model.spec.weights.format != tfm::CheckpointFormat::Random)
    model.checkpoint = check(tfm::openWeights(model.spec));
  model.tokenizer =
      check(tfm::loadModelTokenizer(model.spec, model.checkpoint.get()));
  return model;
}

/// The ids TOKEN stands for: a vocabulary piece as written, else the text's
/// encoding (without BOS); for a model without a tokenizer, a token id.
std::vector<int32_t> tokenIds(const Model &model, llvm::StringRef text) {
  const tfm::rt::Tokenizer *tok = model.tokenizer.get();
  if (!tok) {
    int64_t id;
    if (text.getAsInteger(10, id))
      usageError("model '" + model.spec.name + "' has no tokenizer: '" + text +
                 "' is not a token id");
    if (id < 0 || id >= model.spec.vocabSize)
      usageError("token id " + llvm::Twine(id) + " is out of range [0, " +
                 llvm::Twine(model.spec.vocabSize) + ")");
    return {int32_t(id)};
  }
  if (text.empty())
    usageError("an empty token");
  if (int32_t id = tok->pieceToId(text); id >= 0)
    return {id};
  return tok->encode(text.str(), /*addBos=*/false);
}

/// The one id of TOKEN; a word of several tokens is an error that shows
/// them (or, with `allowMean`, the caller averages them).
int32_t singleToken(const Model &model, llvm::StringRef text) {
  std::vector<int32_t> ids = tokenIds(model, text);
  if (ids.size() == 1)
    return ids[0];
  if (ids.empty())
    usageError("'" + text + "' encodes to no token");
  std::string pieces;
  for (int32_t id : ids)
    pieces += (pieces.empty() ? "" : " ") + ("'" + model.label(id) + "'");
  usageError("'" + text + "' is " + llvm::Twine(ids.size()) +
             " tokens: " + pieces + " (--mean averages them)");
}

/// The embedding table, [vocab, dim] row-major.
struct Embeddings {
  int64_t vocab = 0, dim = 0;
  std::vector<float> table;
  llvm::ArrayRef<float> row(int32_t id) const {
    return llvm::ArrayRef<float>(table).slice(size_t(id) * size_t(dim),
                                              size_t(dim));
  }
};

Embeddings readEmbeddings(const Model &model) {
  Embeddings e;
  std::vector<int64_t> shape;
  e.table = model.weight("tok_embeddings.weight", &shape);
  e.vocab = shape[0];
  e.dim = shape[1];
  return e;
}

/// The embedding TOKEN stands for (the mean of its tokens with --mean), and
/// the ids it used.
std::vector<double> embeddingOf(const Model &model, const Embeddings &e,
                                llvm::StringRef text,
                                std::vector<int32_t> &used) {
  std::vector<int32_t> ids =
      mean ? tokenIds(model, text)
           : std::vector<int32_t>{singleToken(model, text)};
  if (ids.empty())
    usageError("'" + text + "' encodes to no token");
  std::vector<double> v(size_t(e.dim), 0.0);
  for (int32_t id : ids) {
    llvm::ArrayRef<float> r = e.row(id);
    for (int64_t d = 0; d < e.dim; ++d)
      v[size_t(d)] += double(r[size_t(d)]) / double(ids.size());
    used.push_back(id);
  }
  return v;
}

/// Token ids by cosine similarity to `query`, best first (ties: lower id),
/// without `excluded`; at most `count`.
std::vector<std::pair<int32_t, double>>
nearest(const Embeddings &e, llvm::ArrayRef<double> query,
        llvm::ArrayRef<int32_t> excluded, unsigned count) {
  double qNorm = 0;
  for (double q : query)
    qNorm += q * q;
  qNorm = std::sqrt(qNorm);
  std::vector<std::pair<int32_t, double>> scored;
  for (int32_t id = 0; id < e.vocab; ++id) {
    if (llvm::is_contained(excluded, id))
      continue;
    llvm::ArrayRef<float> r = e.row(id);
    double dot = 0, norm = 0;
    for (int64_t d = 0; d < e.dim; ++d) {
      dot += query[size_t(d)] * double(r[size_t(d)]);
      norm += double(r[size_t(d)]) * double(r[size_t(d)]);
    }
    double denom = qNorm * std::sqrt(norm);
    scored.push_back({id, denom > 0 ? dot / denom : 0.0});
  }
  size_t k = std::min<size_t>(count, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + k, scored.end(),
                    [](const auto &a, const auto &b) {
                      return a.second != b.second ? a.second > b.second
                                                  : a.first < b.first;
                    });
  scored.resize(k);
  return scored;
}

void printNearest(const Model &model,
                  llvm::ArrayRef<std::pair<int32_t, double>> results) {
  for (const auto &[id, cosine] : results)
    llvm::outs() << model.label(id) << "\t" << llvm::format("%.6f", cosine)
                 << "\n";
}

//===----------------------------------------------------------------------===//
// Pictures: a JSON description drawn by tfm_plot.py (matplotlib).
//===----------------------------------------------------------------------===//

/// A matrix with its labels, one panel of a heatmap picture.
struct Panel {
  std::string title;
  int64_t rows = 0, cols = 0;
  std::vector<double> values;                    ///< rows x cols, row-major.
  std::vector<std::string> rowLabels, colLabels; ///< Empty: numbered.
  std::string rowAxis, colAxis;
};

bool wantsPicture() { return !svgPath.empty() || !pngPath.empty(); }

std::pair<int64_t, int64_t> pictureSize() {
  llvm::StringRef w, h;
  std::tie(w, h) = llvm::StringRef(size).split('x');
  int64_t width, height;
  if (w.getAsInteger(10, width) || h.getAsInteger(10, height) || width < 50 ||
      height < 50 || width > 20000 || height > 20000)
    usageError("--size " + size + " is not WIDTHxHEIGHT in [50, 20000] pixels");
  return {width, height};
}

/// The plotting script: TFM_PLOT, else share/tfm/tfm_plot.py beside the
/// bin/ this tool runs from (the build tree and an installation alike).
std::string plotScript(const char *argv0) {
  if (const char *env = std::getenv("TFM_PLOT"); env && *env)
    return env;
  std::string exe = llvm::sys::fs::getMainExecutable(
      argv0, reinterpret_cast<void *>(&plotScript));
  llvm::SmallString<256> path(
      llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe)));
  llvm::sys::path::append(path, "share", "tfm", "tfm_plot.py");
  return path.str().str();
}

const char *gArgv0 = "tfm-inspect";

/// Writes `describe`'s JSON to a temporary file and runs the plotting
/// script on it for --svg and --png.
void draw(llvm::function_ref<void(llvm::json::OStream &)> describe) {
  auto [width, height] = pictureSize();
  llvm::SmallString<128> specPath;
  int fd;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
          "tfm-inspect", "json", fd, specPath))
    fail("cannot create a temporary file: " + ec.message());
  auto remove = llvm::make_scope_exit([&] { llvm::sys::fs::remove(specPath); });
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    llvm::json::OStream j(os);
    j.object([&] {
      j.attributeArray("size", [&] {
        j.value(width);
        j.value(height);
      });
      describe(j);
    });
  }
  std::string python = "/usr/bin/python3";
  if (const char *env = std::getenv("TFM_PYTHON"); env && *env)
    python = env;
  std::string script = plotScript(gArgv0);
  if (!llvm::sys::fs::exists(script))
    fail("cannot find the plotting script " + script +
         " (set TFM_PLOT to its path)");
  std::pair<std::string, const char *> outputs[] = {
      {svgPath.getValue(), "svg"}, {pngPath.getValue(), "png"}};
  for (const auto &[out, format] : outputs) {
    if (out.empty())
      continue;
    llvm::StringRef args[] = {python, script, specPath, out, format};
    std::string message;
    int rc = llvm::sys::ExecuteAndWait(python, args, std::nullopt, {}, 0, 0,
                                       &message);
    if (rc != 0)
      fail("drawing " + out + " failed" +
           (message.empty() ? "" : ": " + message) + " (" + python + " " +
           script + ", exit " + llvm::Twine(rc) + ")");
  }
}

void writePanels(llvm::json::OStream &j, llvm::ArrayRef<Panel> panels) {
  j.attribute("kind", "heatmap");
  j.attributeArray("panels", [&] {
    for (const Panel &p : panels)
      j.object([&] {
        j.attribute("title", p.title);
        j.attribute("rows", p.rows);
        j.attribute("cols", p.cols);
        j.attribute("row_axis", p.rowAxis);
        j.attribute("col_axis", p.colAxis);
        j.attributeArray("values", [&] {
          for (double v : p.values)
            j.value(v);
        });
        j.attributeArray("row_labels", [&] {
          for (const std::string &l : p.rowLabels)
            j.value(l);
        });
        j.attributeArray("col_labels", [&] {
          for (const std::string &l : p.colLabels)
            j.value(l);
        });
      });
  });
}

//===----------------------------------------------------------------------===//
// Commands.
//===----------------------------------------------------------------------===//

/// Prints the nearest tokens to sum(signs[i] * e(tokens[i])), excluding the
/// tokens themselves.
void printNearestTo(const Model &model, llvm::ArrayRef<std::string> tokens,
                    llvm::ArrayRef<double> signs) {
  Embeddings e = readEmbeddings(model);
  std::vector<int32_t> used;
  std::vector<double> query;
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::vector<double> v = embeddingOf(model, e, tokens[i], used);
    query.resize(v.size(), 0.0);
    for (size_t d = 0; d < v.size(); ++d)
      query[d] += signs[i] * v[d];
  }
  printNearest(model, nearest(e, query, used, top));
}

void neighbors(const Model &model, llvm::ArrayRef<std::string> args) {
  if (args.size() != 1)
    usageError("neighbors takes one TOKEN");
  printNearestTo(model, args, {1.0});
}

void analogy(const Model &model, llvm::ArrayRef<std::string> args) {
  if (args.size() != 3)
    usageError("analogy takes three tokens: A B C (A - B + C)");
  printNearestTo(model, args, {1.0, -1.0, 1.0});
}

/// The positional encodings: sinusoidal and learned as [positions, dim];
/// rope as the angle of each [position, pair]; alibi as [head, slope].
/// Sinusoidal and rope follow the formulas of tfm-to-linalg's lowering
/// (DataMovement.cpp), in float as it computes them.
void positions(const Model &model, llvm::ArrayRef<std::string> args) {
  if (!args.empty())
    usageError("positions takes no arguments");
  const tfm::ModelSpec &spec = model.spec;
  int64_t n = numPositions ? numPositions.getValue()
                           : std::min<int64_t>(spec.contextLength, 128);
  if (n < 1 || n > spec.contextLength)
    usageError("--positions must be in [1, " + llvm::Twine(spec.contextLength) +
               "] (the context length)");
  Panel p;
  p.rowAxis = "position";
  switch (spec.positional) {
  case tfm::PositionEncoding::None:
    fail("model '" + spec.name + "' has no positional encoding");
  case tfm::PositionEncoding::Sinusoidal: {
    p.title = "sinusoidal positional encoding";
    p.colAxis = "dimension";
    p.rows = n;
    p.cols = spec.dim;
    for (int64_t pos = 0; pos < n; ++pos)
      for (int64_t d = 0; d < spec.dim; ++d) {
        float expo = float(d - d % 2) / float(spec.dim);
        float angle = float(pos) / std::pow(10000.0f, expo);
        p.values.push_back(d % 2 ? std::cos(angle) : std::sin(angle));
      }
    break;
  }
  case tfm::PositionEncoding::Learned: {
    std::vector<int64_t> shape;
    std::vector<float> table = model.weight("pos_embeddings.weight", &shape);
    p.title = "learned positional embeddings";
    p.colAxis = "dimension";
    p.rows = n;
    p.cols = shape[1];
    p.values.assign(table.begin(), table.begin() + n * shape[1]);
    break;
  }
  case tfm::PositionEncoding::Rope: {
    int64_t hd = spec.block.attention.headDim;
    float theta = spec.ropeTheta;
    p.title = "rotary embedding: angle (radians) per position and pair";
    p.colAxis = "pair";
    p.rows = n;
    p.cols = hd / 2;
    for (int64_t pos = 0; pos < n; ++pos)
      for (int64_t j = 0; j < hd / 2; ++j) {
        float freq = 1.0f / std::pow(theta, float(2 * j) / float(hd));
        p.values.push_back(float(pos) * freq);
      }
    break;
  }
  case tfm::PositionEncoding::Alibi: {
    // The bias -slope_h * (i - j) added to the scores of head h at distance
    // i - j: the slopes of tfm::rt::alibiSlope, the runtime's own.
    int64_t heads = spec.block.attention.heads;
    p.title = "ALiBi: bias per head and distance (slope x -distance)";
    p.rowAxis = "head";
    p.colAxis = "distance";
    p.rows = heads;
    p.cols = n;
    llvm::outs() << "# alibi slopes: head\tslope\n";
    for (int64_t h = 0; h < heads; ++h) {
      float slope = tfm::rt::alibiSlope(h, heads);
      llvm::outs() << "# " << h << "\t" << llvm::format("%.9g", slope) << "\n";
      for (int64_t d = 0; d < n; ++d)
        p.values.push_back(-double(slope) * double(d));
    }
    break;
  }
  }
  llvm::outs() << "# " << p.title << ": " << p.rows << " " << p.rowAxis
               << "s x " << p.cols << " " << p.colAxis << "s\n";
  for (int64_t r = 0; r < p.rows; ++r) {
    for (int64_t c = 0; c < p.cols; ++c)
      llvm::outs() << (c ? "\t" : "")
                   << llvm::format("%.9g", p.values[size_t(r * p.cols + c)]);
    llvm::outs() << "\n";
  }
  if (wantsPicture())
    draw([&](llvm::json::OStream &j) { writePanels(j, p); });
}

/// Eigenvalues and eigenvectors (columns of `vectors`) of the symmetric
/// n x n matrix `a` by cyclic Jacobi rotations; `a` is destroyed.
void symmetricEigen(std::vector<double> &a, int64_t n,
                    std::vector<double> &values, std::vector<double> &vectors) {
  vectors.assign(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    vectors[size_t(i * n + i)] = 1.0;
  auto at = [&](int64_t i, int64_t j) -> double & {
    return a[size_t(i * n + j)];
  };
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, total = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        (i == j ? total : off) += at(i, j) * at(i, j);
    if (off <= 1e-30 * (total + off) || off == 0)
      break;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        if (at(p, q) == 0)
          continue;
        double theta = (at(q, q) - at(p, p)) / (2 * at(p, q));
        double t = (theta >= 0 ? 1 : -1) /
                   (std::fabs(theta) + std::sqrt(theta * theta + 1));
        double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t k = 0; k < n; ++k) { // columns p, q
          double akp = at(k, p), akq = at(k, q);
          at(k, p) = c * akp - s * akq;
          at(k, q) = s * akp + c * akq;
        }
        for (int64_t k = 0; k < n; ++k) { // rows p, q
          double apk = at(p, k), aqk = at(q, k);
          at(p, k) = c * apk - s * aqk;
          at(q, k) = s * apk + c * aqk;
        }
        for (int64_t k = 0; k < n; ++k) {
          double vkp = vectors[size_t(k * n + p)],
                 vkq = vectors[size_t(k * n + q)];
          vectors[size_t(k * n + p)] = c * vkp - s * vkq;
          vectors[size_t(k * n + q)] = s * vkp + c * vkq;
        }
      }
  }
  values.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i)
    values[size_t(i)] = at(i, i);
}

/// Principal components of the tokens' embeddings: the rows, centred, are
/// projected on the two leading right singular vectors, computed from the
/// eigenvectors of their Gram matrix (x_i = u_i * sqrt(lambda)). Signs:
/// each component's coordinate of largest magnitude is positive.
void embeddingMap(const Model &model, llvm::ArrayRef<std::string> args) {
  if (args.size() < 2)
    usageError("embedding-map takes at least two tokens");
  if (args.size() > 1000)
    usageError("embedding-map takes at most 1000 tokens");
  Embeddings e = readEmbeddings(model);
  int64_t n = int64_t(args.size()), dim = e.dim;
  std::vector<std::vector<double>> rows;
  std::vector<std::string> labels;
  for (const std::string &text : args) {
    std::vector<int32_t> used;
    rows.push_back(embeddingOf(model, e, text, used));
    labels.push_back(used.size() == 1 ? model.label(used[0]) : text);
  }
  std::vector<double> centre(size_t(dim), 0.0);
  for (const auto &r : rows)
    for (int64_t d = 0; d < dim; ++d)
      centre[size_t(d)] += r[size_t(d)] / double(n);
  for (auto &r : rows)
    for (int64_t d = 0; d < dim; ++d)
      r[size_t(d)] -= centre[size_t(d)];
  std::vector<double> gram(size_t(n * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      gram[size_t(i * n + j)] =
          std::inner_product(rows[size_t(i)].begin(), rows[size_t(i)].end(),
                             rows[size_t(j)].begin(), 0.0);
  double totalVariance = 0;
  for (int64_t i = 0; i < n; ++i)
    totalVariance += gram[size_t(i * n + i)];
  std::vector<double> values, vectors;
  symmetricEigen(gram, n, values, vectors);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  llvm::sort(order, [&](int64_t a, int64_t b) {
    return values[size_t(a)] > values[size_t(b)];
  });
  std::vector<std::array<double, 2>> coords(static_cast<size_t>(n));
  double explained[2];
  for (int k = 0; k < 2; ++k) {
    int64_t c = order[size_t(k)];
    double lambda = std::max(0.0, values[size_t(c)]);
    explained[k] = totalVariance > 0 ? lambda / totalVariance : 0;
    double largest = 0;
    for (int64_t i = 0; i < n; ++i) {
      double x = vectors[size_t(i * n + c)] * std::sqrt(lambda);
      coords[size_t(i)][size_t(k)] = x;
      if (std::fabs(x) > std::fabs(largest))
        largest = x;
    }
    if (largest < 0)
      for (auto &xy : coords)
        xy[size_t(k)] = -xy[size_t(k)];
  }
  llvm::outs() << "# PCA of " << n << " embeddings (dim " << dim
               << "): explained variance "
               << llvm::format("%.4f %.4f", explained[0], explained[1]) << "\n";
  for (int64_t i = 0; i < n; ++i)
    llvm::outs() << labels[size_t(i)] << "\t"
                 << llvm::format("%.6f\t%.6f", coords[size_t(i)][0],
                                 coords[size_t(i)][1])
                 << "\n";
  if (wantsPicture())
    draw([&](llvm::json::OStream &j) {
      j.attribute("kind", "scatter");
      j.attribute("title", "embeddings of " + model.spec.name + ", 2-D PCA (" +
                               llvm::formatv("{0:P1} of the variance",
                                             explained[0] + explained[1])
                                   .str() +
                               ")");
      j.attribute("x_axis", "PC1");
      j.attribute("y_axis", "PC2");
      j.attributeArray("points", [&] {
        for (const auto &xy : coords)
          j.array([&] {
            j.value(xy[0]);
            j.value(xy[1]);
          });
      });
      j.attributeArray("labels", [&] {
        for (const std::string &l : labels)
          j.value(l);
      });
    });
}

/// Heatmaps of attention probabilities [layers, heads, T, T] (an
/// executable's --attention-out), one panel per head.
void attention(const Model *model, llvm::ArrayRef<std::string> args) {
  if (args.size() != 1)
    usageError("attention takes one FILE.npy");
  tfm::formats::NpyArray probs = check(tfm::formats::readNpyF32(args[0]));
  if (probs.shape.size() != 4 || probs.shape[2] != probs.shape[3])
    fail(args[0] +
         ": attention probabilities have shape [layers, heads, T, "
         "T]; this array's is " +
         tfm::formats::shapeString(probs.shape));
  int64_t layers = probs.shape[0], heads = probs.shape[1], t = probs.shape[2];
  if (model && (layers != model->spec.numLayers ||
                heads != model->spec.block.attention.heads))
    fail(args[0] + ": " + llvm::Twine(layers) + " layers of " +
         llvm::Twine(heads) + " heads, but model '" + model->spec.name +
         "' has " + llvm::Twine(model->spec.numLayers) + " of " +
         llvm::Twine(model->spec.block.attention.heads));
  std::vector<std::string> labels;
  if (!promptLabels.empty()) {
    if (!model || !model->tokenizer)
      usageError("--prompt needs a MODEL with a tokenizer (or give --tokens)");
    std::vector<int32_t> ids = model->tokenizer->encode(
        promptLabels, model->tokenizer->getAddBosByDefault());
    if (int64_t(ids.size()) != t)
      usageError("--prompt has " + llvm::Twine(ids.size()) +
                 " tokens, but the attention is over " + llvm::Twine(t) +
                 " tokens");
    for (int32_t id : ids)
      labels.push_back(model->label(id));
  } else if (!tokenLabels.empty()) {
    llvm::SmallVector<llvm::StringRef> words;
    llvm::StringRef(tokenLabels).split(words, ' ', -1, /*KeepEmpty=*/false);
    if (int64_t(words.size()) != t)
      usageError("--tokens has " + llvm::Twine(words.size()) +
                 " labels, but the attention is over " + llvm::Twine(t) +
                 " tokens");
    for (llvm::StringRef w : words)
      labels.push_back(w.str());
  }
  if (layerOpt >= layers || headOpt >= heads || layerOpt < -1 || headOpt < -1)
    usageError("--layer/--head out of range: the array has " +
               llvm::Twine(layers) + " layers of " + llvm::Twine(heads) +
               " heads");
  std::vector<Panel> panels;
  llvm::outs() << "# attention probabilities: layer\thead\tquery\tkey "
                  "probabilities ("
               << t << " tokens)\n";
  for (int64_t l = 0; l < layers; ++l) {
    if (layerOpt >= 0 && l != layerOpt)
      continue;
    for (int64_t h = 0; h < heads; ++h) {
      if (headOpt >= 0 && h != headOpt)
        continue;
      Panel p;
      p.title = llvm::formatv("layer {0} head {1}", l, h).str();
      p.rows = p.cols = t;
      p.rowAxis = "query";
      p.colAxis = "key";
      p.rowLabels = p.colLabels = labels;
      const float *m = probs.data.data() + (l * heads + h) * t * t;
      p.values.assign(m, m + t * t);
      for (int64_t i = 0; i < t; ++i) {
        llvm::outs() << l << "\t" << h << "\t" << i;
        for (int64_t j = 0; j < t; ++j)
          llvm::outs() << "\t" << llvm::format("%.6g", m[i * t + j]);
        llvm::outs() << "\n";
      }
      panels.push_back(std::move(p));
    }
  }
  if (wantsPicture())
    draw([&](llvm::json::OStream &j) { writePanels(j, panels); });
}

/// The next-token distribution of one logits row (an executable's
/// --logits-out: float32 rows of vocab_size) at several temperatures: the
/// top K tokens by logit, softmax(logits / T) of each, in double.
void probs(const Model &model, llvm::ArrayRef<std::string> args) {
  if (args.size() != 1)
    usageError("probs takes one LOGITS file (an executable's --logits-out)");
  auto buffer = llvm::MemoryBuffer::getFile(args[0], /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    fail("cannot read " + args[0] + ": " + buffer.getError().message());
  int64_t vocab = model.spec.vocabSize;
  uint64_t bytes = (*buffer)->getBufferSize(), rowBytes = uint64_t(vocab) * 4;
  if (bytes == 0 || bytes % rowBytes != 0)
    fail(args[0] + ": " + llvm::Twine(bytes) +
         " bytes is not a whole number of logits rows of " +
         llvm::Twine(vocab) + " float32 (model '" + model.spec.name + "')");
  int64_t rows = int64_t(bytes / rowBytes);
  int64_t r = row < 0 ? rows + row : row.getValue();
  if (r < 0 || r >= rows)
    usageError("--row " + llvm::Twine(row) + " is outside the file's " +
               llvm::Twine(rows) + " rows");
  std::vector<float> logits(static_cast<size_t>(vocab));
  std::memcpy(logits.data(), (*buffer)->getBufferStart() + r * rowBytes,
              rowBytes);
  std::vector<double> ts(temps.begin(), temps.end());
  if (ts.empty())
    ts = {0.5, 1.0, 2.0};
  for (double t : ts)
    if (!(t > 0) || !std::isfinite(t))
      usageError("temperatures must be positive");
  std::vector<int32_t> ids(static_cast<size_t>(vocab));
  std::iota(ids.begin(), ids.end(), 0);
  size_t k = std::min<size_t>(top, size_t(vocab));
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(),
                    [&](int32_t a, int32_t b) {
                      return logits[size_t(a)] != logits[size_t(b)]
                                 ? logits[size_t(a)] > logits[size_t(b)]
                                 : a < b;
                    });
  double maxLogit = logits[size_t(ids[0])];
  std::vector<std::vector<double>> table(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    double sum = 0;
    for (float l : logits)
      sum += std::exp((double(l) - maxLogit) / ts[i]);
    for (size_t j = 0; j < k; ++j)
      table[i].push_back(
          std::exp((double(logits[size_t(ids[j])]) - maxLogit) / ts[i]) / sum);
  }
  llvm::outs() << "# row " << r << " of " << rows << ": token";
  for (double t : ts)
    llvm::outs() << "\tT=" << llvm::format("%g", t);
  llvm::outs() << "\n";
  for (size_t j = 0; j < k; ++j) {
    llvm::outs() << model.label(ids[j]);
    for (size_t i = 0; i < ts.size(); ++i)
      llvm::outs() << "\t" << llvm::format("%.6g", table[i][j]);
    llvm::outs() << "\n";
  }
  if (wantsPicture())
    draw([&](llvm::json::OStream &j) {
      j.attribute("kind", "bars");
      j.attribute("title", "next-token probabilities of " + model.spec.name +
                               " at several temperatures");
      j.attribute("x_axis", "token");
      j.attribute("y_axis", "probability");
      j.attributeArray("labels", [&] {
        for (size_t i = 0; i < k; ++i)
          j.value(model.label(ids[i]));
      });
      j.attributeArray("series", [&] {
        for (size_t i = 0; i < ts.size(); ++i)
          j.object([&] {
            std::string label;
            llvm::raw_string_ostream(label)
                << "T = " << llvm::format("%g", ts[i]);
            j.attribute("label", label);
            j.attributeArray("values", [&] {
              for (double v : table[i])
                j.value(v);
            });
          });
      });
    });
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  gArgv0 = argv[0];
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, kOverview);
  std::vector<std::string> args(positional.begin(), positional.end());
  if (args.empty())
    usageError("no MODEL and COMMAND given");
  if (!svgPath.empty() || !pngPath.empty())
    (void)pictureSize(); // a bad --size fails before any work

  // `attention` needs no model; with one, its shape is checked against it.
  if (args[0] == "attention")
    return attention(nullptr, llvm::ArrayRef<std::string>(args).drop_front()),
           0;
  if (args.size() < 2)
    usageError("no COMMAND given after MODEL '" + args[0] + "'");
  llvm::StringRef command = args[1];
  static const char *const commands[] = {"neighbors", "analogy",
                                         "positions", "embedding-map",
                                         "attention", "probs"};
  if (!llvm::is_contained(commands, command))
    usageError("unknown command '" + command +
               "' (neighbors, analogy, positions, embedding-map, attention, "
               "probs)");
  Model model = loadModel(args[0]);
  llvm::ArrayRef<std::string> rest =
      llvm::ArrayRef<std::string>(args).drop_front(2);
  if (command == "neighbors")
    neighbors(model, rest);
  else if (command == "analogy")
    analogy(model, rest);
  else if (command == "positions")
    positions(model, rest);
  else if (command == "embedding-map")
    embeddingMap(model, rest);
  else if (command == "attention")
    attention(&model, rest);
  else
    probs(model, rest);
  llvm::outs().flush();
  if (llvm::outs().has_error())
    fail("cannot write the output");
  return 0;
}
