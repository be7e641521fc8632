#!/usr/bin/python3
"""tfmc --quantize=q8_0 (or --types q4_0,f16,bf16,q4_K) against llama.cpp's
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
does). Also: --quantize with --no-kernels is a usage error (exit 2).

Prints SKIPPED: (and exits 0) without llama-quantize; the real case is
skipped without --model.

q4_K (`--types q4_K`): the same comparison on GGUFs whose rows are whole
super-blocks (dim 256, hidden 512), quantized by `llama-quantize --pure`
(every 2-D tensor q4_K) with the LM head's type given as tfmc's: q6_K
(llama-quantize's default for Q4_K: output.weight, or token_embd.weight
when tied; cases `f32`, `f32-tied`), or q4_K (tfmc --quantize-output=q4_K;
`f16-pure`). tfmc stores the q4_K and q6_K blocks (repacked, Quants.h), so
the two blobs hold tfmc's and llama-quantize's blocks: they must be
identical, and the peer's file must hold q4_K tensors. Super-blocks crafted for the
quantizer's corners: all zero (scale 0), all equal and positive (min
clamped to 0), one outlier among small values, and a sub-block of zeros
next to large values (a sub-block scale that rounds to 0). Then
llama-quantize's own Q4_K_M file of the f32 case (q4_K with q6_K layers and
head): tfmc's logits against the oracle's on it (check_checkpoint.py; f32
arithmetic, then --int-dot=on and auto against the oracle emulating them in
float64), and its greedy text against llama-completion's on the same file.
"""

import os
import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "test", "fixtures"))
from e2e_args import arg_parser, parse_args  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "test", "reference"))
from check_quantized import CFG, column_tile, metadata  # noqa: E402
from check_kquants import CFG as CFG_K  # noqa: E402
from reference import gguf_tensor_types  # noqa: E402
from write_checkpoint import random_weights, write_gguf  # noqa: E402

GGML_Q4_K, GGML_Q6_K = 12, 14


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


def write_case_k(case, path, tied):
    """A random llama of whole q4_K super-blocks, with crafted corners."""
    cfg = dict(CFG_K, shared_classifier=tied)
    w = random_weights(cfg, 7, "gguf")
    q = w["blk.0.attn_q.weight"]
    q[0, :256] = 0  # max == min: scale and min 0
    q[1, :256] = 0.25  # all equal, positive: min clamped to 0
    q[2, :256] = 1e-3 * np.sign(q[2, :256])
    q[2, 77] = 40.0  # one outlier
    q[3, :32] = 0  # a zero sub-block next to large ones
    q[3, 32:256] *= 100
    if case == "f16":
        w = {k: (v.astype(np.float16) if v.ndim == 2 else v) for k, v in w.items()}
    write_gguf(path, "llama", metadata(cfg), w)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)


def compare(args, label, src, extra_lq, qtype="q8_0", extra_tfmc=()):
    label = label if qtype in ("q8_0", "q4_K") else label + "-" + qtype
    d = os.path.join(args.workdir, label)
    os.makedirs(d, exist_ok=True)
    peer = os.path.join(d, "peer-%s.gguf" % qtype)
    r = run([args.llama_quantize] + extra_lq + [src, peer, qtype.upper()])
    if r.returncode != 0:
        print("%s: llama-quantize failed (%d):\n%s" % (label, r.returncode, r.stdout[-2000:]))
        return False
    ours, theirs = os.path.join(d, "tfmc"), os.path.join(d, "peer")
    for cmd in ([args.tfmc, src, "--quantize=" + qtype, "--weights=mmap", "-o", ours]
                + list(extra_tfmc),
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
    if qtype == "q4_K":
        types = gguf_tensor_types(peer)
        k = [sum(t == g for t in types.values()) for g in (GGML_Q4_K, GGML_Q6_K)]
        if k[0] < 7 * CFG_K["n_layers"] or sum(k) < 1 + 7 * CFG_K["n_layers"]:
            print("%s: the peer wrote only %d q4_K and %d q6_K tensors" % (label, k[0], k[1]))
            return False
        storage = "the peer's file: %d q4_K, %d q6_K tensors" % tuple(k)
    print("%s: identical %d-byte blobs (%s)" % (label, len(a), storage))
    return True


def main():
    ap = arg_parser()
    ap.add_argument("--llama-quantize", required=True,
                    help="the peers' llama-quantize (a missing file skips the comparison)")
    ap.add_argument("--model", help="stories260K's f32 GGUF")
    ap.add_argument("--types", default="q8_0",
                    help="comma list of q8_0, q4_0, f16, bf16, q4_K (llama-quantize's "
                         "names, lower case)")
    args = parse_args(ap)
    types = args.types.split(",")
    if "q4_K" in types:
        if types != ["q4_K"]:
            ap.error("q4_K has its own cases: --types q4_K alone")
        return main_k(args)
    ok = True
    src = os.path.join(args.workdir, "f32.gguf")
    write_case("f32", src)
    r = run([args.tfmc, src, "--quantize=q8_0", "--no-kernels", "-o",
             os.path.join(args.workdir, "loops")])
    if r.returncode != 2 or "--quantize contradicts --no-kernels" not in r.stderr:
        print("--no-kernels: want exit 2, got %d %r" % (r.returncode, r.stderr))
        ok = False
    if not (os.path.isfile(args.llama_quantize) and os.access(args.llama_quantize, os.X_OK)):
        print("SKIPPED: no llama-quantize at %s" % args.llama_quantize)
        return 0 if ok else 1
    src16 = os.path.join(args.workdir, "f16.gguf")
    write_case("f16", src16)
    for qtype in types:
        ok &= compare(args, "f32", src, [], qtype)
        ok &= compare(args, "f16", src16, [], qtype)
        if args.model and os.path.isfile(args.model):
            ok &= compare(args, "stories260K", args.model,
                          ["--tensor-type", "ffn_down=f32"], qtype)
        else:
            print("stories260K: skipped (no --model)")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main_k(args):
    if not (os.path.isfile(args.llama_quantize) and os.access(args.llama_quantize, os.X_OK)):
        print("SKIPPED: no llama-quantize at %s" % args.llama_quantize)
        return 0
    ok = True
    # (label, source, tied, tfmc flags, llama-quantize flags): tfmc's
    # default LM head q6_K is llama-quantize's default for Q4_K (here with
    # --pure and the head's type given, so that the other layers stay q4_K).
    for label, case, tied, tfmc, lq in (
            ("f32", "f32", False, [], ["--tensor-type", r"^output\.weight=q6_K"]),
            ("f16-pure", "f16", False, ["--quantize-output=q4_K"], []),
            ("f32-tied", "f32", True, [], ["--tensor-type", r"^token_embd\.weight=q6_K"])):
        src = os.path.join(args.workdir, "k-%s.gguf" % label)
        write_case_k(case, src, tied)
        ok &= compare(args, "q4_K-" + label, src, ["--pure"] + lq, "q4_K", tfmc)
    ok &= check_peer_q4_k_m(args)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def check_peer_q4_k_m(args):
    """llama-quantize's own Q4_K_M file (q4_K with q6_K layers and head, as
    llama.cpp mixes them): tfmc's logits against the oracle's on it."""
    src = os.path.join(args.workdir, "k-f32.gguf")
    d = os.path.join(args.workdir, "Q4_K_M")
    os.makedirs(d, exist_ok=True)
    peer = os.path.join(d, "peer-Q4_K_M.gguf")
    r = run([args.llama_quantize, src, peer, "Q4_K_M"])
    if r.returncode != 0:
        print("Q4_K_M: llama-quantize failed (%d):\n%s" % (r.returncode, r.stdout[-2000:]))
        return False
    types = list(gguf_tensor_types(peer).values())
    mix = [types.count(g) for g in (GGML_Q4_K, GGML_Q6_K)]
    if min(mix) < 1:
        print("Q4_K_M: the peer's file is not a mix: %d q4_K, %d q6_K" % tuple(mix))
        return False
    # The values at f32 tolerance: f32 arithmetic (integer dot products are
    # e2e.quantized.kquants' subject).
    r = run(["/usr/bin/python3", os.path.join(HERE, "check_checkpoint.py"), peer,
             "--tfmc", args.tfmc, "--workdir", d, "--prompt", "abc cab bad", "--steps", "6",
             "--ignore-eos", "--int-dot=off"])
    sys.stdout.write("Q4_K_M (%d q4_K, %d q6_K tensors): " % tuple(mix) + r.stdout)
    sys.stderr.write(r.stderr)
    ok = r.returncode == 0
    # Integer dot products (on: the LM head's activations int8; auto: int16)
    # against the oracle emulating them in float64: in float32 the oracle
    # itself rounds one of prompt row 12's activations the other way (0.0035
    # of the logit scale there; tfmc agrees with the float64 emulation to
    # 3e-7), so the f32 emulation is no test on this file.
    host_tile = column_tile(SimpleNamespace(target=None, target_cpu=None))
    for mode, bits in (("on", "8"), ("auto", "16")):
        r = run(["/usr/bin/python3", os.path.join(HERE, "check_checkpoint.py"), peer,
                 "--tfmc", args.tfmc, "--workdir", os.path.join(d, mode), "--prompt",
                 "abc cab bad", "--steps", "6", "--ignore-eos", "--int-dot=" + mode,
                 "--int8-tile", str(host_tile), "--head-bits", bits, "--fp64"])
        sys.stdout.write("Q4_K_M --int-dot=%s: " % mode + r.stdout)
        sys.stderr.write(r.stderr)
        ok &= r.returncode == 0
    # Greedy text next to llama.cpp's on the same file (its q8_K dot
    # products round differently; the tokens must still agree here).
    completion = os.path.join(os.path.dirname(args.llama_quantize), "llama-completion")
    if not os.access(completion, os.X_OK):
        print("Q4_K_M text: skipped (no %s)" % completion)
        return ok
    # llama-completion's output loses a varying tail at exit (its logger
    # thread, see check_real_quantized.py): it generates 32 tokens more, ours
    # must be a prefix of its text, and a text that came out too short is
    # asked for again.
    gen = ["-p", "abc cab bad", "--temp", "0", "--ignore-eos"]
    ours = run([os.path.join(d, "model"), "--no-timing", "-n", "6"] + gen)
    for _ in range(3):
        theirs = run([completion, "-m", peer, "-no-cnv", "-t", "1", "-n", "38"] + gen)
        if len(theirs.stdout.strip()) > len(ours.stdout.strip()):
            break
    same = theirs.returncode == 0 and ours.returncode == 0 and \
        theirs.stdout.strip().startswith(ours.stdout.strip())
    print("Q4_K_M text: tfmc %r, llama.cpp %r: %s" % (ours.stdout.strip(), theirs.stdout.strip(),
                                                      "a prefix" if same else "FAIL: differ"))
    return ok and same


if __name__ == "__main__":
    sys.exit(main())
