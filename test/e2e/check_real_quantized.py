#!/usr/bin/python3
"""stories260K quantized by llama-quantize: tfmc next to llama.cpp.

  check_real_quantized.py --tfmc PATH --workdir DIR --model GGUF
                          [--peers DIR] [--steps N]

Quantizes the f32 GGUF (--model) with the peer llama-quantize to q8_0, q4_0
and Q4_K_M, lists the tensor types each file really holds (stories260K's
rows of 64 and 172 are not multiples of 256, so Q4_K_M falls back to q5_0,
q8_0 and f16; ffn_down's 172 columns are no multiple of 32 either, so q8_0
and q4_0 need `--tensor-type ffn_down=f16`, which is what Q4_K_M falls back
to by itself), then compiles each with tfmc and compares the greedy text of
the executable with llama-completion's on the same file (--temp 0, a fixed
seed, --ignore-eos, N tokens): they must be equal. llama-completion's
output (stdout or --log-file, written by its logger's thread) loses a
varying tail at exit, so it generates 32 tokens more, tfmc's text must be a
prefix of its text, and a text that came out shorter is asked for again. The f32 file itself is
the first case. Also prints the executable's --perplexity on a short text
(llama.cpp's llama-perplexity is not among the peer tools).

A case whose file has a type tfmc cannot read yet is skipped, saying which;
without the peer tools or the model, prints SKIPPED: and exits 0.
"""

import collections
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
from e2e_args import arg_parser, parse_args  # noqa: E402
from reference import gguf_tensor_types  # noqa: E402

PROMPT = "Once upon a time"
TEXT = ("Once upon a time, there was a little girl named Lily. She loved to play "
        "outside in the park with her friend Tim. One day, they saw a big dog. "
        "The dog was very friendly and wanted to play with them.\n")
# The file types and llama-quantize's extra arguments.
CASES = [("f32", None), ("q8_0", ["--tensor-type", "ffn_down=f16"]),
         ("q4_0", ["--tensor-type", "ffn_down=f16"]), ("Q4_K_M", [])]
# ggml's type ids (ggml.h, enum ggml_type).
GGML_TYPES = {0: "f32", 1: "f16", 2: "q4_0", 3: "q4_1", 6: "q5_0", 7: "q5_1",
              8: "q8_0", 9: "q8_1", 10: "q2_K", 11: "q3_K", 12: "q4_K",
              13: "q5_K", 14: "q6_K", 15: "q8_K", 30: "bf16"}


def tensor_types(path):
    """name -> ggml type name of every tensor of a GGUF file."""
    return {name: GGML_TYPES.get(t, "unknown") for name, t in gguf_tensor_types(path).items()}


def describe(types):
    """The types' census and, when layers differ, each layer's attn_v and
    ffn_down."""
    census = ", ".join("%d %s" % (n, t) for t, n in
                       sorted(collections.Counter(types.values()).items()))
    per_layer = {}
    for name, t in types.items():
        m = re.match(r"blk\.(\d+)\.(attn_v|ffn_down)\.weight$", name)
        if m:
            per_layer.setdefault(m.group(2), {})[int(m.group(1))] = t
    mixed = ["%s %s" % (w, " ".join(v[k] for k in sorted(v)))
             for w, v in sorted(per_layer.items()) if len(set(v.values())) > 1]
    return census + ("; by layer: " + "; ".join(mixed) if mixed else "")


def completion_text(log):
    """The text llama-completion generated, from its --log-file: from the
    prompt to the first timestamped log line after it."""
    with open(log, encoding="utf-8", errors="replace") as fh:
        data = fh.read()
    start = data.find(PROMPT)
    end = re.compile(r"\n\d+\.\d+\.\d+\.\d+ [A-Z] ").search(data, max(start, 0))
    return data[start:end.start() if end else len(data)] if start >= 0 else ""


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)


def main():
    ap = arg_parser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--peers", default="/work/shared/peers/bin/x86-64-v3")
    ap.add_argument("--steps", type=int, default=48)
    args = parse_args(ap)
    quantize = os.path.join(args.peers, "llama-quantize")
    completion = os.path.join(args.peers, "llama-completion")
    for tool in (quantize, completion):
        if not os.access(tool, os.X_OK):
            print("SKIPPED: no %s" % tool)
            return 0
    if not os.path.isfile(args.model):
        print("SKIPPED: no model %s" % args.model)
        return 0
    text = os.path.join(args.workdir, "text.txt")
    with open(text, "w") as fh:
        fh.write(TEXT)
    ok, checked = True, 0
    for case, extra in CASES:
        path = args.model
        if extra is not None:
            path = os.path.join(args.workdir, "stories260K-%s.gguf" % case)
            r = run([quantize] + extra + [args.model, path, case])
            if r.returncode != 0:
                print("%s: FAIL: llama-quantize exited %d\n%s" % (case, r.returncode, r.stdout[-2000:]))
                ok = False
                continue
        print("%s: %s" % (case, describe(tensor_types(path))))
        exe = os.path.join(args.workdir, "tfmc-" + case)
        r = run([args.tfmc, path, "-o", exe, "--quiet"])
        if r.returncode != 0:
            unreadable = re.search(r"has type (\w+), which tfmc cannot read", r.stderr)
            if unreadable:
                print("%s: skipped: tfmc cannot read %s yet" % (case, unreadable.group(1)))
                continue
            print("%s: FAIL: tfmc exited %d\n%s" % (case, r.returncode, r.stderr))
            ok = False
            continue
        ours = run([exe, "-p", PROMPT, "-n", str(args.steps), "--temp", "0", "--ignore-eos",
                    "--no-timing"])
        log = os.path.join(args.workdir, "llama-completion-%s.log" % case)
        a = ours.stdout.strip()
        for _ in range(5):
            if os.path.exists(log):
                os.remove(log)
            theirs = run([completion, "-m", path, "-p", PROMPT, "-n", str(args.steps + 32),
                          "--temp", "0", "-s", "1", "-t", "1", "--ignore-eos", "-no-cnv",
                          "--no-warmup", "--simple-io", "--log-file", log])
            b = completion_text(log).strip()
            if theirs.returncode or len(b) > len(a) or not a.startswith(b):
                break
        ppl = run([exe, "--perplexity", text])
        if ours.returncode or theirs.returncode or ppl.returncode:
            print("%s: FAIL: exits %d (tfmc), %d (llama-completion), %d (--perplexity)\n%s%s%s"
                  % (case, ours.returncode, theirs.returncode, ppl.returncode,
                     ours.stderr, theirs.stderr[-2000:], ppl.stderr))
            ok = False
            continue
        same = b.startswith(a) and len(b) > len(a)
        print("%s: tfmc:      %r" % (case, a))
        print("%s: llama.cpp: %r%s" % (case, b[:len(a)] if same else b,
                                       " and %d characters more" % (len(b) - len(a)) if same else ""))
        verdict = ("equal" if same else "FAIL: llama.cpp's came out shorter 5 times"
                   if a.startswith(b) else "FAIL: differs")
        print("%s: greedy text %s; tfmc %s" % (case, verdict, ppl.stdout.strip()))
        ok &= same
        checked += 1
    print("%s (%d of %d files compared)" % ("PASS" if ok else "FAIL", checked, len(CASES)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
