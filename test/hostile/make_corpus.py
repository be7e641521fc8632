#!/usr/bin/python3
"""Writes the hostile-input corpus of issue 13 and the cases that run it.

Usage: make_corpus.py OUTDIR

One case (at least) per class of the issue's findings: names that would
choose where tfmc writes, sizes past the documented limits, JSON nested to
overflow a stack, a header that was quadratic to parse, overlapping GGUF
tensors, paths that are not regular files, non-finite configs and weights,
an oversized description, and the generated executable's own inputs (-f, -t,
a full stdout). Everything is generated: descriptions from examples/alibi.tfm,
checkpoints through test/fixtures/write_checkpoint.py, and the broken
checkpoints that test/Frontend/checkpoints/make_broken.py already writes are
gathered from it (by case name, with its expected fragments) rather than
built again.

OUTDIR/cases.json lists the cases in order; run_corpus.py runs them. A case:
  name, finding (the issue's finding number), argv (with {tfmc}, {dir} and
  {exe} for the tfmc binary, OUTDIR and the executable the "build" case
  makes), optional cwd and stdout (a path), rc (the exit status: tfmc 1 for
  a bad model and 2 for a bad command line; the executable 2 for a bad
  command line and 1 for a failure while running), expect (fragments of
  stderr), creates / absent (paths that must / must not exist afterwards),
  seconds and megabytes (limits on the wall time and the peak RSS).
Exercised elsewhere, and only referenced here: the C API's threads and
sessions (test/runtime/SessionTest.cpp), the long-context executable
(test/e2e/long-context.tfm), truncated and scribbled checkpoints
(make_broken.py's whole corpus, test/Frontend/ImportTest.cpp), temporary
files after a failed link (test/tfmc/temp-files.test).
"""

import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "test", "fixtures"))
sys.path.insert(0, os.path.join(ROOT, "test", "Frontend", "checkpoints"))
import write_checkpoint as wc  # noqa: E402
import make_broken  # noqa: E402

CASES = []


def case(name, finding, argv, rc, expect=(), **kw):
    c = {"name": name, "finding": finding, "argv": argv, "rc": rc,
         "expect": list(expect)}
    c.update(kw)
    CASES.append(c)


def put(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb" if isinstance(data, bytes) else "w") as fh:
        fh.write(data)


def description(**changes):
    """examples/alibi.tfm (random weights, no tokenizer) with some lines
    replaced: key -> new line."""
    text = open(os.path.join(ROOT, "examples", "alibi.tfm")).read()
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def descriptions(out):
    # Finding 1: the model's name never chooses a path.
    put(os.path.join(out, "names", "relative.tfm"),
        description(**{'model "alibi"': 'model "../../escaped/pwned"'}))
    put(os.path.join(out, "names", "absolute.tfm"),
        description(**{'model "alibi"': 'model "%s/names/absolute/pwned"' % out}))
    os.makedirs(os.path.join(out, "names", "work", "sub"), exist_ok=True)
    case("relative-model-name", 1, ["{tfmc}", "../../relative.tfm", "--emit=obj", "--quiet"],
         0, cwd="{dir}/names/work/sub", creates=["{dir}/names/work/sub/relative.o"],
         absent=["{dir}/names/escaped"])
    case("absolute-model-name", 1, ["{tfmc}", "../../absolute.tfm", "--emit=obj", "--quiet"],
         0, cwd="{dir}/names/work/sub", creates=["{dir}/names/work/sub/absolute.o"],
         absent=["{dir}/names/absolute"])

    # Finding 4: a size past its limit (the products of sizes within their
    # limits: test/Frontend/description/limit-*.tfm).
    put(os.path.join(out, "huge-context.tfm"),
        description(**{"context = 128": "context = 16777217"}))
    case("description-context-2^24+1", 4,
         ["{tfmc}", "{dir}/huge-context.tfm", "--emit=spec"], 1,
         ["huge-context.tfm:9:", "16777217", "16777216"])
    # Nesting that would recurse without bound.
    put(os.path.join(out, "deep.tfm"),
        'model "m" {\n' + "block x 1 {\n" * 2000 + "}\n" * 2001)
    case("description-nested-2000", 5, ["{tfmc}", "{dir}/deep.tfm", "--emit=spec"], 1,
         ["deep.tfm:", "nested too deeply"])

    # Finding 10: 50 MB of ';' took 4.2 GB and 33 s.
    put(os.path.join(out, "semicolons.tfm"), 'model "m" {' + ";" * (50 << 20) + "}")
    case("description-50MB", 10, ["{tfmc}", "{dir}/semicolons.tfm", "--emit=spec"], 1,
         ["semicolons.tfm:1:1: error: the description is %d bytes, above the limit of 1048576"
          % (len('model "m" {') + (50 << 20) + 1)],
         seconds=5, megabytes=100)

    # Finding 8: not regular files.
    fifo = os.path.join(out, "fifo.tfm")
    os.mkfifo(fifo)
    case("description-fifo", 8, ["{tfmc}", "{dir}/fifo.tfm", "--emit=spec"], 1,
         ["fifo.tfm: not a regular file (a FIFO)"], seconds=20)
    os.symlink("/dev/zero", os.path.join(out, "zero.tfm"))
    case("description-dev-zero", 8, ["{tfmc}", "{dir}/zero.tfm", "--emit=spec"], 1,
         ["zero.tfm: not a regular file (a character device)"], seconds=20)
    os.makedirs(os.path.join(out, "directory.tfm"))
    case("description-directory", 8, ["{tfmc}", "{dir}/directory.tfm", "--emit=spec"], 1,
         ["directory.tfm: not a regular file (a directory)"])


def checkpoints(out):
    cfg = dict(wc.LLAMA_CFG)
    config = wc.hf_config(cfg)

    # Finding 5: JSON nested 35,000 deep (70 KB) overflowed llvm::json.
    deep = 35000
    d = os.path.join(out, "deep-config")
    put(os.path.join(d, "config.json"), "[" * deep + "]" * deep)
    wc.write_safetensors(os.path.join(d, "model.safetensors"), {"x": wc.np.zeros(1, wc.np.float32)})
    case("config-nested-35000", 5, ["{tfmc}", "{dir}/deep-config", "--emit=spec"], 1,
         ["config.json", "nested deeper than"])
    d = os.path.join(out, "deep-header")
    put(os.path.join(d, "config.json"), json.dumps(config))
    header = b'{"a":' + b"[" * deep + b"]" * deep + b"}"
    put(os.path.join(d, "model.safetensors"), struct.pack("<Q", len(header)) + header)
    case("safetensors-header-nested-35000", 5, ["{tfmc}", "{dir}/deep-header", "--emit=spec"], 1,
         ["model.safetensors", "nested deeper than"])

    # Finding 6: 100,000 tensors took 5 min 38 s (a search of the whole
    # header per tensor). None is the model's, which is the error.
    d = os.path.join(out, "many-tensors")
    put(os.path.join(d, "config.json"), json.dumps(config))
    n = 100000
    header = "{" + ",".join('"t%d":{"dtype":"F32","shape":[1],"data_offsets":[%d,%d]}'
                            % (k, 4 * k, 4 * k + 4) for k in range(n)) + "}"
    header = header.encode()
    put(os.path.join(d, "model.safetensors"),
        struct.pack("<Q", len(header)) + header + b"\0" * (4 * n))
    case("safetensors-100k-tensors", 6, ["{tfmc}", "{dir}/many-tensors", "--emit=spec"], 1,
         ["not found"], seconds=60)

    # Finding 9: weights that are not finite (write_checkpoint's POISONED).
    wc.write_fixture("llama2c-nan", os.path.join(out, "poisoned"))
    wc.write_fixture("gguf-inf", os.path.join(out, "poisoned"))
    case("llama2c-nan-weight", 9,
         ["{tfmc}", "{dir}/poisoned/llama2c-nan.bin", "-o", "{dir}/nan", "--quiet"], 1,
         ["weight 'layers.1.wq.weight': tensor 'wq.1' [32, 32] has NaN at element 37 [1, 5]"],
         absent=["{dir}/nan"])
    case("gguf-f16-infinity", 9,
         ["{tfmc}", "{dir}/poisoned/gguf-inf.gguf", "-o", "{dir}/inf", "--quiet"], 1,
         ["tensor 'blk.0.attn_q.weight' [32, 32] has -infinity at element 70 [2, 6]"],
         absent=["{dir}/inf"])
    case("build-nan-executable", 9,
         ["{tfmc}", "{dir}/poisoned/llama2c-nan.bin", "-o", "{dir}/nan-allowed",
          "--allow-nonfinite", "--quiet"], 0, creates=["{dir}/nan-allowed"])
    case("executable-nan-logits", 9, ["{dir}/nan-allowed", "-p", "1 2 3", "-n", "4"], 1,
         ["logits at position 2 are not finite"])

    # Gathered from make_broken.py: its files and its expected fragments.
    broken = os.path.join(out, "broken")
    make_broken.main(["make_broken.py", broken])
    manifest = {c["name"]: c for c in json.load(open(os.path.join(broken, "manifest.json")))}
    for name, finding in (("gguf-all-at-zero", 7), ("gguf-huge-context", 4),
                          ("st-huge-n-embd", 4), ("gguf-tensor-count", 4),
                          ("st-negative-eps", 9), ("st-negative-theta", 9),
                          ("l2c-truncated", 4), ("st-overlap", 7)):
        c = manifest[name]
        case("broken/" + name, finding, ["{tfmc}", "{dir}/broken/" + c["path"], "--emit=spec"],
             1, c["expect"])


def executable(out):
    """The generated executable's own inputs, on a small random model."""
    put(os.path.join(out, "exe", "model.tfm"), description())
    case("build-executable", 0,
         ["{tfmc}", "{dir}/exe/model.tfm", "-o", "{exe}", "--quiet"], 0, creates=["{exe}"])
    case("executable-runs", 0, ["{exe}", "-p", "1 2 3", "-n", "2", "--temp", "0"], 0)
    # Finding 8: -f with a device ran out of memory, with a directory read
    # an empty prompt.
    case("prompt-file-dev-zero", 8, ["{exe}", "-f", "/dev/zero", "-n", "1"], 2,
         ["/dev/zero", "not a regular file"], seconds=20, megabytes=400)
    case("prompt-file-directory", 8, ["{exe}", "-f", "{dir}/exe", "-n", "1"], 2,
         ["exe", "is a directory"])
    # Sparse: the size is refused before a byte is read.
    with open(os.path.join(out, "exe", "big-prompt.txt"), "wb") as fh:
        fh.truncate((256 << 20) + 1)
    case("prompt-file-over-256MiB", 8, ["{exe}", "-f", "{dir}/exe/big-prompt.txt", "-n", "1"], 2,
         ["big-prompt.txt", "above the limit"], seconds=20, megabytes=400)
    # Finding 3 (command-line half): a thread count the system cannot give.
    case("threads-100000", 3, ["{exe}", "-t", "100000", "-p", "1", "-n", "1"], 2,
         ["100000"])
    case("context-past-compiled", 2, ["{exe}", "-c", "1000000", "-p", "1", "-n", "1"], 2,
         ["exceeds the compiled context length 128"])
    # Finding 10: a full stdout is a failed run.
    case("stdout-dev-full", 10, ["{exe}", "-p", "1 2 3", "-n", "4", "--temp", "0"], 1,
         ["cannot write the output"], stdout="/dev/full")


def main(argv):
    if len(argv) != 2:
        print(__doc__)
        return 2
    wc.write_corpus(os.path.abspath(argv[1]), (descriptions, checkpoints, executable), CASES,
                    "cases.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
