//===- ArgsTest.cpp - Command line parsing --------------------------------===//

#include "tfm/runtime/Args.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

using tfm::rt::Options;
using tfm::rt::parseArgs;

namespace {

struct Parsed {
  bool Ok;
  Options Opts;
  std::string Error;
};

Parsed parse(std::vector<std::string> Args) {
  std::vector<const char *> Argv = {"model"};
  for (const std::string &A : Args)
    Argv.push_back(A.c_str());
  Parsed P;
  P.Ok = parseArgs(int(Argv.size()), Argv.data(), P.Opts, P.Error);
  return P;
}

/// Parsing fails and the message contains every fragment.
void expectError(std::vector<std::string> Args,
                 std::vector<std::string> Fragments) {
  Parsed P = parse(Args);
  std::string Joined;
  for (const std::string &A : Args)
    Joined += A + " ";
  ASSERT_FALSE(P.Ok) << "accepted: " << Joined;
  for (const std::string &F : Fragments)
    EXPECT_NE(P.Error.find(F), std::string::npos)
        << "error '" << P.Error << "' lacks '" << F << "' for " << Joined;
}

TEST(Args, Defaults) {
  Parsed P = parse({});
  ASSERT_TRUE(P.Ok);
  const Options &O = P.Opts;
  EXPECT_FALSE(O.havePrompt);
  EXPECT_EQ(O.nPredict, 128);
  EXPECT_FLOAT_EQ(O.sampling.temperature, 0.8f);
  EXPECT_EQ(O.sampling.topK, 40);
  EXPECT_FLOAT_EQ(O.sampling.topP, 0.95f);
  EXPECT_FLOAT_EQ(O.sampling.minP, 0.05f);
  EXPECT_FLOAT_EQ(O.sampling.repeatPenalty, 1.0f);
  EXPECT_EQ(O.sampling.repeatLastN, 64);
  EXPECT_FALSE(O.haveSeed);
  EXPECT_EQ(O.threads, 0);
  EXPECT_EQ(O.addBos, -1); // the tokenizer's convention
  EXPECT_TRUE(O.displayPrompt);
  EXPECT_FALSE(O.tokenizeOnly);
  EXPECT_EQ(O.ctxSize, 0);
  EXPECT_TRUE(O.reversePrompts.empty());
  EXPECT_FALSE(O.ignoreEos);
  EXPECT_FALSE(O.escape);
  EXPECT_EQ(O.nProbs, 0);
  EXPECT_FALSE(O.interactive);
  EXPECT_TRUE(O.logitsOut.empty());
  EXPECT_TRUE(O.timing);
  EXPECT_FALSE(O.help);
  EXPECT_FALSE(O.version);
}

TEST(Args, EveryFlag) {
  Parsed P = parse({"-p",
                    "Once upon",
                    "-n",
                    "-1",
                    "--temp",
                    "0",
                    "--top-k",
                    "5",
                    "--top-p",
                    "0.5",
                    "--min-p",
                    "0.1",
                    "--repeat-penalty",
                    "1.1",
                    "--repeat-last-n",
                    "-1",
                    "-s",
                    "18446744073709551615",
                    "-t",
                    "2",
                    "--no-bos",
                    "--no-display-prompt",
                    "--tokenize",
                    "--logits-out",
                    "l.bin",
                    "--attention-out=a.npy",
                    "--no-timing"});
  ASSERT_TRUE(P.Ok) << P.Error;
  const Options &O = P.Opts;
  EXPECT_EQ(O.prompt, "Once upon");
  EXPECT_TRUE(O.havePrompt);
  EXPECT_EQ(O.nPredict, -1);
  EXPECT_EQ(O.sampling.temperature, 0.0f);
  EXPECT_EQ(O.sampling.topK, 5);
  EXPECT_FLOAT_EQ(O.sampling.topP, 0.5f);
  EXPECT_FLOAT_EQ(O.sampling.minP, 0.1f);
  EXPECT_FLOAT_EQ(O.sampling.repeatPenalty, 1.1f);
  EXPECT_EQ(O.sampling.repeatLastN, -1);
  EXPECT_TRUE(O.haveSeed);
  EXPECT_EQ(O.sampling.seed, UINT64_MAX);
  EXPECT_EQ(O.threads, 2);
  EXPECT_EQ(O.addBos, 0);
  EXPECT_FALSE(O.displayPrompt);
  EXPECT_TRUE(O.tokenizeOnly);
  EXPECT_EQ(O.logitsOut, "l.bin");
  EXPECT_EQ(O.attentionOut, "a.npy");
  EXPECT_FALSE(O.timing);
}

// The llama.cpp staples of issue 14: -c, -r, --ignore-eos, -e, --n-probs,
// -i, --bos.
TEST(Args, LlamaCppStaples) {
  Parsed P = parse({"-c", "64", "-r", "User:", "--reverse-prompt=\n\n",
                    "--ignore-eos", "-e", "--n-probs", "5", "-i", "--bos"});
  ASSERT_TRUE(P.Ok) << P.Error;
  const Options &O = P.Opts;
  EXPECT_EQ(O.ctxSize, 64);
  EXPECT_EQ(O.reversePrompts, (std::vector<std::string>{"User:", "\n\n"}));
  EXPECT_TRUE(O.ignoreEos);
  EXPECT_TRUE(O.escape);
  EXPECT_EQ(O.nProbs, 5);
  EXPECT_TRUE(O.interactive);
  EXPECT_EQ(O.addBos, 1);
  P = parse({"--ctx-size=0", "--interactive", "--escape"});
  ASSERT_TRUE(P.Ok) << P.Error;
  EXPECT_EQ(P.Opts.ctxSize, 0);
  expectError({"-c", "-1"}, {"-c", "out of range"});
  expectError({"-c", "x"}, {"-c", "integer"});
  expectError({"--n-probs", "-2"}, {"--n-probs", "out of range"});
  expectError({"-r", ""}, {"empty text", "-r"});
  expectError({"-r"}, {"missing value for -r"});
  expectError({"-i", "-f", "-"}, {"-f -", "-i"});
  expectError({"--ignore-eos=1"}, {"--ignore-eos takes no value"});
}

TEST(Args, Escapes) {
  using tfm::rt::processEscapes;
  EXPECT_EQ(processEscapes("a\\nb\\tc\\\\d\\\"e\\'f\\rg"),
            "a\nb\tc\\d\"e'f\rg");
  // Not escapes: kept as written, including a trailing backslash.
  EXPECT_EQ(processEscapes("\\q\\x41\\"), "\\q\\x41\\");
  EXPECT_EQ(processEscapes(""), "");
}

TEST(Args, LongFormsAndEquals) {
  Parsed P = parse({"--prompt=a=b", "--n-predict=7", "--seed", "0",
                    "--threads=1", "--file", "x.txt"});
  // -p and -f together are refused, but first check the long spellings work.
  EXPECT_FALSE(P.Ok);
  P = parse({"--prompt=a=b", "--n-predict=7", "--seed", "0", "--threads=1",
             "--temp=1.5"});
  ASSERT_TRUE(P.Ok) << P.Error;
  EXPECT_EQ(P.Opts.prompt, "a=b");
  EXPECT_EQ(P.Opts.nPredict, 7);
  EXPECT_TRUE(P.Opts.haveSeed);
  EXPECT_EQ(P.Opts.sampling.seed, 0u);
  EXPECT_EQ(P.Opts.threads, 1);
  EXPECT_FLOAT_EQ(P.Opts.sampling.temperature, 1.5f);
  P = parse({"-f", "x.txt"});
  ASSERT_TRUE(P.Ok);
  EXPECT_EQ(P.Opts.promptFile, "x.txt");
  P = parse({"-s", "-1"});
  ASSERT_TRUE(P.Ok);
  EXPECT_FALSE(P.Opts.haveSeed);
  P = parse({"-p", ""});
  ASSERT_TRUE(P.Ok);
  EXPECT_TRUE(P.Opts.havePrompt);
  EXPECT_EQ(P.Opts.prompt, "");
  P = parse({"-p", "-n"}); // a value may start with '-'
  ASSERT_TRUE(P.Ok);
  EXPECT_EQ(P.Opts.prompt, "-n");
}

TEST(Args, HelpAndVersion) {
  Parsed P = parse({"--help", "--bogus"});
  ASSERT_TRUE(P.Ok);
  EXPECT_TRUE(P.Opts.help);
  P = parse({"-h"});
  EXPECT_TRUE(P.Ok && P.Opts.help);
  P = parse({"--version"});
  EXPECT_TRUE(P.Ok && P.Opts.version);
  std::string U = tfm::rt::usageText("prog");
  for (const char *Flag : {"-p, --prompt",
                           "-f, --file",
                           "-n, --n-predict",
                           "--temp",
                           "--top-k",
                           "--top-p",
                           "--min-p",
                           "--repeat-penalty",
                           "--repeat-last-n",
                           "-s, --seed",
                           "-t, --threads",
                           "--no-bos",
                           "--tokenize",
                           "--logits-out",
                           "--no-timing",
                           "--help",
                           "--version",
                           "--no-display-prompt",
                           "-c, --ctx-size",
                           "-r, --reverse-prompt",
                           "--ignore-eos",
                           "-e, --escape",
                           "--n-probs",
                           "-i, --interactive",
                           "--bos"})
    EXPECT_NE(U.find(Flag), std::string::npos) << Flag;
}

TEST(Args, UnknownAndPositional) {
  expectError({"--bogus"}, {"unknown flag --bogus"});
  expectError({"-x"}, {"unknown flag -x"});
  expectError({"--bogus=3"}, {"unknown flag --bogus"});
  expectError({"hello"}, {"unexpected argument 'hello'"});
  expectError({"--no-bos=1"}, {"--no-bos takes no value"});
  expectError({"--help=x"}, {"--help takes no value"});
}

TEST(Args, MissingValues) {
  for (const char *Flag :
       {"-p", "--prompt", "-f", "--file", "-n", "--n-predict", "--temp",
        "--top-k", "--top-p", "--min-p", "--repeat-penalty", "--repeat-last-n",
        "-s", "--seed", "-t", "--threads", "--logits-out", "--attention-out",
        "--perplexity"})
    expectError({Flag}, {"missing value for", Flag});
  expectError({"-f", ""}, {"empty file name", "-f"});
  expectError({"--logits-out="}, {"empty file name", "--logits-out"});
  expectError({"--attention-out="}, {"empty file name", "--attention-out"});
  expectError({"--perplexity="}, {"empty file name", "--perplexity"});
}

TEST(Args, NonNumbers) {
  for (const char *Flag : {"-n", "--top-k", "--repeat-last-n", "-t"}) {
    expectError({Flag, "abc"}, {Flag, "'abc'", "integer"});
    expectError({Flag, "1.5"}, {Flag, "integer"});
    expectError({Flag, "12x"}, {Flag});
    expectError({Flag, ""}, {Flag});
    expectError({Flag, "99999999999999999999999"}, {Flag});
  }
  for (const char *Flag :
       {"--temp", "--top-p", "--min-p", "--repeat-penalty"}) {
    expectError({Flag, "abc"}, {Flag, "'abc'", "number"});
    expectError({Flag, "nan"}, {Flag});
    expectError({Flag, "inf"}, {Flag});
    expectError({Flag, "0.5x"}, {Flag});
    expectError({Flag, " 1"}, {Flag});
  }
  expectError({"-s", "abc"}, {"-s", "'abc'"});
  expectError({"-s", "-2"}, {"-s"});
  expectError({"-s", "18446744073709551616"}, {"-s"});
  expectError({"--seed", "+5"}, {"--seed"});
}

TEST(Args, OutOfRange) {
  expectError({"-n", "-2"}, {"-n", "out of range"});
  expectError({"--temp", "-0.1"}, {"--temp", "out of range"});
  expectError({"--top-k", "-1"}, {"--top-k", "out of range"});
  expectError({"--top-p", "1.01"}, {"--top-p", "out of range"});
  expectError({"--top-p", "-0.5"}, {"--top-p", "out of range"});
  expectError({"--min-p", "2"}, {"--min-p", "out of range"});
  expectError({"--repeat-penalty", "0"}, {"--repeat-penalty", "out of range"});
  expectError({"--repeat-penalty", "-1"}, {"--repeat-penalty"});
  expectError({"--repeat-last-n", "-2"}, {"--repeat-last-n", "out of range"});
  expectError({"-t", "0"}, {"-t", "out of range"});
  expectError({"--threads", "5000"}, {"--threads", "out of range"});
  // Boundaries are accepted.
  EXPECT_TRUE(parse({"--top-p", "1", "--min-p", "0", "--temp", "0", "-n", "0",
                     "--top-k", "0", "--repeat-last-n", "0", "-t", "4096"})
                  .Ok);
}

TEST(Args, PromptAndFileExclusive) {
  expectError({"-p", "a", "-f", "b"}, {"-p/--prompt", "-f/--file"});
}

TEST(Args, LoadPromptFile) {
  std::string Path = ::testing::TempDir() + "tfm_args_prompt.txt";
  {
    std::ofstream F(Path, std::ios::binary);
    F << "Once upon a time\n\nthere was\n";
  }
  Parsed P = parse({"-f", Path});
  ASSERT_TRUE(P.Ok);
  std::string Error;
  ASSERT_TRUE(tfm::rt::loadPromptFile(P.Opts, Error)) << Error;
  EXPECT_EQ(P.Opts.prompt, "Once upon a time\n\nthere was");
  EXPECT_TRUE(P.Opts.havePrompt);
  std::remove(Path.c_str());

  P = parse({"-f", Path}); // now missing
  ASSERT_TRUE(P.Ok);
  EXPECT_FALSE(tfm::rt::loadPromptFile(P.Opts, Error));
  EXPECT_NE(Error.find(Path), std::string::npos) << Error;
}

} // namespace
