#!/usr/bin/python3
"""End-to-end check of a real checkpoint: tfmc's executable vs the PyTorch oracle.

  check_checkpoint.py MODEL --tfmc PATH --workdir DIR --prompt TEXT [--steps N]
                      [--kernels MODE] [--ignore-eos]

Compiles MODEL (a .bin, .gguf or Hugging Face directory) with tfmc, lets the
executable tokenize TEXT (--tokenize), generates N greedy steps with
--logits-out, runs test/reference/reference.py on the same file and token ids,
and compares every logits row (relative error <= 1e-4) and the greedy tokens.
Prints SKIPPED when MODEL is absent (the shared data is not checked out).
"""

import argparse
import os
import sys

import numpy as np

from check_example import ROOT, TOLERANCE, run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--tfmc", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--prompt", required=True)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--kernels", help="tfmc --kernels (default: tfmc's)")
    ap.add_argument("--ignore-eos", action="store_true",
                    help="generate all steps even past an end-of-sequence token")
    args = ap.parse_args()
    if not os.path.exists(args.model):
        print(f"SKIPPED: {args.model} is absent")
        return
    os.makedirs(args.workdir, exist_ok=True)
    exe = os.path.join(args.workdir, "model")
    flags = [f"--kernels={args.kernels}"] if args.kernels else []
    run([args.tfmc, args.model, "-o", exe] + flags)
    ids = [int(t) for t in run([exe, "-p", args.prompt, "--tokenize"]).split()]
    exe_logits = os.path.join(args.workdir, "exe.f32")
    out = run([exe, "-p", args.prompt, "-n", str(args.steps), "--temp", "0", "--no-timing",
               "--logits-out", exe_logits] + (["--ignore-eos"] if args.ignore_eos else []))
    ref_logits = os.path.join(args.workdir, "ref.f32")
    ref = run(["/usr/bin/python3", os.path.join(ROOT, "test", "reference", "reference.py"),
               args.model, "--tokens", ",".join(map(str, ids)), "--steps", str(args.steps - 1),
               "--logits-out", ref_logits])
    ref_tokens = [int(t) for t in ref.strip().split(",")][:args.steps]

    a = np.fromfile(exe_logits, dtype="<f4")
    b = np.fromfile(ref_logits, dtype="<f4")
    rows = len(ids) + args.steps - 1
    if a.size != b.size or a.size % rows:
        sys.exit(f"FAIL: logits sizes differ: exe {a.size}, reference {b.size}, {rows} rows")
    vocab = a.size // rows
    exe_tokens = [int(r.argmax()) for r in a.reshape(rows, vocab)[len(ids) - 1:]]
    err = float(np.max(np.abs(a - b)))
    scale = float(np.max(np.abs(b)))
    rel = err / scale if scale else err
    print(f"{os.path.basename(os.path.normpath(args.model))}: {rows} rows of {vocab}, max abs error "
          f"{err:.3g}, max |logit| {scale:.3g}, relative {rel:.3g}; greedy "
          f"{'equal' if exe_tokens == ref_tokens else 'DIFFERENT'} ({len(exe_tokens)} tokens)")
    if rel > TOLERANCE or exe_tokens != ref_tokens:
        print(f"FAIL: exe tokens {exe_tokens}\n      ref tokens {ref_tokens}\n{out}")
        sys.exit(1)


if __name__ == "__main__":
    main()
