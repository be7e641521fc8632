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
  bool ok;
  Options opts;
  std::string error;
};

Parsed parse(std::vector<std::string> args) {
  std::vector<const char *> argv = {"model"};
  for (const std::string &a : args)
    argv.push_back(a.c_str());
  Parsed p;
  p.ok = parseArgs(int(argv.size()), argv.data(), p.opts, p.error);
  return p;
}

/// Parsing fails and the message contains every fragment.
void expectError(std::vector<std::string> args,
                 std::vector<std::string> fragments) {
  Parsed p = parse(args);
  std::string joined;
  for (const std::string &a : args)
    joined += a + " ";
  ASSERT_FALSE(p.ok) << "accepted: " << joined;
  for (const std::string &f : fragments)
    EXPECT_NE(p.error.find(f), std::string::npos)
        << "error '" << p.error << "' lacks '" << f << "' for " << joined;
}

TEST(Args, Defaults) {
  Parsed p = parse({});
  ASSERT_TRUE(p.ok);
  const Options &o = p.opts;
  EXPECT_FALSE(o.havePrompt);
  EXPECT_EQ(o.nPredict, 128);
  EXPECT_FLOAT_EQ(o.sampling.temperature, 0.8f);
  EXPECT_EQ(o.sampling.topK, 40);
  EXPECT_FLOAT_EQ(o.sampling.topP, 0.95f);
  EXPECT_FLOAT_EQ(o.sampling.minP, 0.05f);
  EXPECT_FLOAT_EQ(o.sampling.repeatPenalty, 1.0f);
  EXPECT_EQ(o.sampling.repeatLastN, 64);
  EXPECT_FALSE(o.haveSeed);
  EXPECT_EQ(o.threads, 0);
  EXPECT_EQ(o.addBos, -1); // the tokenizer's convention
  EXPECT_TRUE(o.displayPrompt);
  EXPECT_FALSE(o.tokenizeOnly);
  EXPECT_EQ(o.ctxSize, 0);
  EXPECT_TRUE(o.reversePrompts.empty());
  EXPECT_FALSE(o.ignoreEos);
  EXPECT_FALSE(o.escape);
  EXPECT_EQ(o.nProbs, 0);
  EXPECT_FALSE(o.interactive);
  EXPECT_TRUE(o.logitsOut.empty());
  EXPECT_TRUE(o.timing);
  EXPECT_FALSE(o.warmup);
  EXPECT_FALSE(o.help);
  EXPECT_FALSE(o.version);
}

TEST(Args, EveryFlag) {
  Parsed p = parse({"-p",
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
                    "--no-timing",
                    "--warmup"});
  ASSERT_TRUE(p.ok) << p.error;
  const Options &o = p.opts;
  EXPECT_TRUE(o.warmup);
  EXPECT_EQ(o.prompt, "Once upon");
  EXPECT_TRUE(o.havePrompt);
  EXPECT_EQ(o.nPredict, -1);
  EXPECT_EQ(o.sampling.temperature, 0.0f);
  EXPECT_EQ(o.sampling.topK, 5);
  EXPECT_FLOAT_EQ(o.sampling.topP, 0.5f);
  EXPECT_FLOAT_EQ(o.sampling.minP, 0.1f);
  EXPECT_FLOAT_EQ(o.sampling.repeatPenalty, 1.1f);
  EXPECT_EQ(o.sampling.repeatLastN, -1);
  EXPECT_TRUE(o.haveSeed);
  EXPECT_EQ(o.sampling.seed, UINT64_MAX);
  EXPECT_EQ(o.threads, 2);
  EXPECT_EQ(o.addBos, 0);
  EXPECT_FALSE(o.displayPrompt);
  EXPECT_TRUE(o.tokenizeOnly);
  EXPECT_EQ(o.logitsOut, "l.bin");
  EXPECT_EQ(o.attentionOut, "a.npy");
  EXPECT_FALSE(o.timing);
}

// The llama.cpp staples of issue 14: -c, -r, --ignore-eos, -e, --n-probs,
// -i, --bos.
TEST(Args, LlamaCppStaples) {
  Parsed p = parse({"-c", "64", "-r", "User:", "--reverse-prompt=\n\n",
                    "--ignore-eos", "-e", "--n-probs", "5", "-i", "--bos"});
  ASSERT_TRUE(p.ok) << p.error;
  const Options &o = p.opts;
  EXPECT_EQ(o.ctxSize, 64);
  EXPECT_EQ(o.reversePrompts, (std::vector<std::string>{"User:", "\n\n"}));
  EXPECT_TRUE(o.ignoreEos);
  EXPECT_TRUE(o.escape);
  EXPECT_EQ(o.nProbs, 5);
  EXPECT_TRUE(o.interactive);
  EXPECT_EQ(o.addBos, 1);
  p = parse({"--ctx-size=0", "--interactive", "--escape"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.opts.ctxSize, 0);
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
  Parsed p = parse({"--prompt=a=b", "--n-predict=7", "--seed", "0",
                    "--threads=1", "--file", "x.txt"});
  // -p and -f together are refused, but first check the long spellings work.
  EXPECT_FALSE(p.ok);
  p = parse({"--prompt=a=b", "--n-predict=7", "--seed", "0", "--threads=1",
             "--temp=1.5"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.opts.prompt, "a=b");
  EXPECT_EQ(p.opts.nPredict, 7);
  EXPECT_TRUE(p.opts.haveSeed);
  EXPECT_EQ(p.opts.sampling.seed, 0u);
  EXPECT_EQ(p.opts.threads, 1);
  EXPECT_FLOAT_EQ(p.opts.sampling.temperature, 1.5f);
  p = parse({"-f", "x.txt"});
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.opts.promptFile, "x.txt");
  p = parse({"-s", "-1"});
  ASSERT_TRUE(p.ok);
  EXPECT_FALSE(p.opts.haveSeed);
  p = parse({"-p", ""});
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(p.opts.havePrompt);
  EXPECT_EQ(p.opts.prompt, "");
  p = parse({"-p", "-n"}); // a value may start with '-'
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.opts.prompt, "-n");
}

TEST(Args, HelpAndVersion) {
  Parsed p = parse({"--help", "--bogus"});
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(p.opts.help);
  p = parse({"-h"});
  EXPECT_TRUE(p.ok && p.opts.help);
  p = parse({"--version"});
  EXPECT_TRUE(p.ok && p.opts.version);
  std::string u = tfm::rt::usageText("prog");
  for (const char *flag : {"-p, --prompt",
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
    EXPECT_NE(u.find(flag), std::string::npos) << flag;
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
  for (const char *flag :
       {"-p", "--prompt", "-f", "--file", "-n", "--n-predict", "--temp",
        "--top-k", "--top-p", "--min-p", "--repeat-penalty", "--repeat-last-n",
        "-s", "--seed", "-t", "--threads", "--logits-out", "--attention-out",
        "--perplexity"})
    expectError({flag}, {"missing value for", flag});
  expectError({"-f", ""}, {"empty file name", "-f"});
  expectError({"--logits-out="}, {"empty file name", "--logits-out"});
  expectError({"--attention-out="}, {"empty file name", "--attention-out"});
  expectError({"--perplexity="}, {"empty file name", "--perplexity"});
}

TEST(Args, NonNumbers) {
  for (const char *flag : {"-n", "--top-k", "--repeat-last-n", "-t"}) {
    expectError({flag, "abc"}, {flag, "'abc'", "integer"});
    expectError({flag, "1.5"}, {flag, "integer"});
    expectError({flag, "12x"}, {flag});
    expectError({flag, ""}, {flag});
    expectError({flag, "99999999999999999999999"}, {flag});
  }
  for (const char *flag :
       {"--temp", "--top-p", "--min-p", "--repeat-penalty"}) {
    expectError({flag, "abc"}, {flag, "'abc'", "number"});
    expectError({flag, "nan"}, {flag});
    expectError({flag, "inf"}, {flag});
    expectError({flag, "0.5x"}, {flag});
    expectError({flag, " 1"}, {flag});
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
                  .ok);
}

TEST(Args, PromptAndFileExclusive) {
  expectError({"-p", "a", "-f", "b"}, {"-p/--prompt", "-f/--file"});
}

TEST(Args, LoadPromptFile) {
  std::string path = ::testing::TempDir() + "tfm_args_prompt.txt";
  {
    std::ofstream f(path, std::ios::binary);
    f << "Once upon a time\n\nthere was\n";
  }
  Parsed p = parse({"-f", path});
  ASSERT_TRUE(p.ok);
  std::string error;
  ASSERT_TRUE(tfm::rt::loadPromptFile(p.opts, error)) << error;
  EXPECT_EQ(p.opts.prompt, "Once upon a time\n\nthere was");
  EXPECT_TRUE(p.opts.havePrompt);
  std::remove(path.c_str());

  p = parse({"-f", path}); // now missing
  ASSERT_TRUE(p.ok);
  EXPECT_FALSE(tfm::rt::loadPromptFile(p.opts, error));
  EXPECT_NE(error.find(path), std::string::npos) << error;
}

TEST(Args, PromptFileTypeAndSizeComeFirst) {
  // Issue 13, finding 8: -f /dev/zero aborted with bad_alloc, -f DIRECTORY
  // read as an empty prompt.
  std::string error;
  Parsed p = parse({"-f", "/dev/zero"});
  ASSERT_TRUE(p.ok);
  EXPECT_FALSE(tfm::rt::loadPromptFile(p.opts, error));
  EXPECT_EQ(error, "cannot read the prompt from '/dev/zero': not a regular "
                   "file (a character device)");
  EXPECT_FALSE(p.opts.havePrompt);
  std::string dir = ::testing::TempDir();
  p = parse({"-f", dir});
  EXPECT_FALSE(tfm::rt::loadPromptFile(p.opts, error));
  EXPECT_EQ(error,
            "cannot read the prompt from '" + dir + "': it is a directory");
  // A file one byte above the limit, sparse: refused by its size unread.
  std::string big = ::testing::TempDir() + "tfm_args_big_prompt.txt";
  {
    std::ofstream f(big, std::ios::binary);
    f.seekp(std::streamoff(tfm::rt::kMaxPromptBytes));
    f.put('x');
  }
  p = parse({"-f", big});
  EXPECT_FALSE(tfm::rt::loadPromptFile(p.opts, error));
  EXPECT_EQ(error, "the prompt in '" + big +
                       "' is 268435457 bytes, above the limit of 268435456 "
                       "(256 MiB)");
  EXPECT_TRUE(p.opts.prompt.empty());
  std::remove(big.c_str());
}

} // namespace
