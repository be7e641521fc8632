#!/usr/bin/python3
"""tfmc --quantize=q8_0 (or --types q4_0,f16,bf16) against llama.cpp's
llama-quantize, bit for bit. For q4_0, llama-quantize stores the output
layer (the embedding table when the head is tied) as q8_0 when its rows are
not whole 256-value super-blocks (here: 64 columns), and so does tfmc.

  check_quantize.py --tfmc PATH --workdir DIR [--llama-quantize PATH]
                    [--model GGUF]

For each case, quantizes the same f32/f16 GGUF twice: with tfmc
(`tfmc IN --quantize=q8_0`) and with the peer tool (`llama-quantize IN OUT
q8_0`, then `tfmc OUT`, which copies q8_0 blocks as they are). Both compile
with --weights=mmap; the two sidecar blobs must be identical byte for byte
(every q8_0 scale and value, every f32 weight), and --info must show q8_0
weights. Cases: `f32` (a random llama, one block row crafted so that x / d
hits halves: 2.5, -3.5, 0.5, ... with d = 1, where round-half-away and
round-half-even differ, and an all-zero block: d = 0), `f16` (the same
weights stored as f16), and `stories260K` (the real --model, whose
ffn_down has 172 columns: llama-quantize is told to keep it f32, as tfmc
does). Also: --quantize with --kernels=loops is a usage error (exit 2).

Prints SKIPPED: (and exits 0) without llama-quantize; the real case is
skipped without --model.
"""

import os
import re
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "test", "fixtures"))
from e2e_args import arg_parser, parse_args  # noqa: E402
from check_quantized import CFG, metadata  # noqa: E402
from write_checkpoint import random_weights, write_gguf  # noqa: E402


def write_case(case, path):
    w = random_weights(dict(CFG, shared_classifier=False), 7, "gguf")
    q = w["blk.0.attn_q.weight"]
    # Row 0, block 0: max |x| 127 so d = 1 exactly; halves round away from 0.
    q[0, :32] = np.array([127, 2.5, -3.5, 0.5, -0.5, 1.5, -1.5, 126.5] + [-2.5] * 24,
                         np.float32)
    q[1, :32] = 0  # d = 0: every q is 0
    if case == "f16":
        w = {k: (v.astype(np.float16) if v.ndim == 2 else v) for k, v in w.items()}
    write_gguf(path, "llama", metadata(), w)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)


def compare(args, label, src, extra_lq, qtype="q8_0"):
    label = label if qtype == "q8_0" else label + "-" + qtype
    d = os.path.join(args.workdir, label)
    os.makedirs(d, exist_ok=True)
    peer = os.path.join(d, "peer-%s.gguf" % qtype)
    r = run([args.llama_quantize] + extra_lq + [src, peer, qtype.upper()])
    if r.returncode != 0:
        print("%s: llama-quantize failed (%d):\n%s" % (label, r.returncode, r.stdout[-2000:]))
        return False
    ours, theirs = os.path.join(d, "tfmc"), os.path.join(d, "peer")
    for cmd in ([args.tfmc, src, "--quantize=" + qtype, "--weights=mmap", "-o", ours],
                [args.tfmc, peer, "--weights=mmap", "-o", theirs]):
        r = run(cmd)
        if r.returncode != 0:
            print("%s: %s failed:\n%s" % (label, " ".join(cmd), r.stderr))
            return False
    a = open(ours + ".weights", "rb").read()
    b = open(theirs + ".weights", "rb").read()
    info = run([ours, "--info"]).stdout.splitlines()
    storage = info[0] if info else ""
    if a != b:
        diff = next(k for k in range(min(len(a), len(b))) if a[k] != b[k]) \
            if len(a) == len(b) else "size %d vs %d" % (len(a), len(b))
        print("%s: blobs differ (first at byte %s)" % (label, diff))
        return False
    if not storage.startswith("weight storage:") or \
            not re.search(r"\d+ %s\b" % qtype, storage):
        print("%s: no %s weights: %r" % (label, qtype, storage))
        return False
    print("%s: identical %d-byte blobs (%s)" % (label, len(a), storage))
    return True


def main():
    ap = arg_parser()
    ap.add_argument("--llama-quantize", default="/tmp/peer-bin/llama-quantize")
    ap.add_argument("--model", help="stories260K's f32 GGUF")
    ap.add_argument("--types", default="q8_0",
                    help="comma list of q8_0, q4_0, f16, bf16 (llama-quantize's "
                         "names, lower case)")
    args = parse_args(ap)
    ok = True
    src = os.path.join(args.workdir, "f32.gguf")
    write_case("f32", src)
    r = run([args.tfmc, src, "--quantize=q8_0", "--kernels=loops", "-o",
             os.path.join(args.workdir, "loops")])
    if r.returncode != 2 or "--quantize needs --kernels=generated" not in r.stderr:
        print("--kernels=loops: want exit 2, got %d %r" % (r.returncode, r.stderr))
        ok = False
    if not (os.path.isfile(args.llama_quantize) and os.access(args.llama_quantize, os.X_OK)):
        print("SKIPPED: no llama-quantize at %s" % args.llama_quantize)
        return 0 if ok else 1
    src16 = os.path.join(args.workdir, "f16.gguf")
    write_case("f16", src16)
    for qtype in args.types.split(","):
        ok &= compare(args, "f32", src, [], qtype)
        ok &= compare(args, "f16", src16, [], qtype)
        if args.model and os.path.isfile(args.model):
            ok &= compare(args, "stories260K", args.model,
                          ["--tensor-type", "ffn_down=f32"], qtype)
        else:
            print("stories260K: skipped (no --model)")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
