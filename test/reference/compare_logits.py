#!/usr/bin/python3
"""Compare two raw float32 logits files ([rows, vocab], little-endian, row-major).

    compare_logits.py A.bin B.bin --vocab V [--tol 1e-4] [--quiet]

Prints rows, max abs error, max |logit| (over both files), relative error
(max abs err / max |logit|) and argmax agreement per row.  Exit status:
0 = within tolerance, 1 = relative error > tol or non-finite values,
2 = shape mismatch (size not a multiple of vocab, or row counts differ).
Argmax disagreements are reported but only fail with --require-argmax (near
ties can legitimately flip within tolerance).
"""

import argparse
import sys

import numpy as np


def load(path, vocab):
    a = np.fromfile(path, dtype="<f4")
    if a.size % vocab:
        raise ValueError("%s: %d floats is not a multiple of vocab %d" % (path, a.size, vocab))
    return a.reshape(-1, vocab).astype(np.float64)


def main(argv=None):
    ap = argparse.ArgumentParser(description="compare two float32 logits files")
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--vocab", type=int, required=True)
    ap.add_argument("--tol", type=float, default=1e-4, help="max allowed relative error")
    ap.add_argument("--require-argmax", action="store_true", help="fail when any row's argmax differs")
    ap.add_argument("--quiet", action="store_true", help="no per-row lines")
    args = ap.parse_args(argv)
    if args.vocab <= 0:
        ap.error("--vocab must be positive")
    try:
        a, b = load(args.a, args.vocab), load(args.b, args.vocab)
    except (ValueError, OSError) as e:
        print("compare_logits: %s" % e)
        return 2
    if a.shape != b.shape:
        print("compare_logits: row counts differ: %d vs %d" % (a.shape[0], b.shape[0]))
        return 2
    if a.shape[0] == 0:
        print("compare_logits: no rows")
        return 2
    finite = np.isfinite(a).all() and np.isfinite(b).all()
    diff = np.abs(a - b)
    max_err = float(diff.max())
    scale = float(max(np.abs(a).max(), np.abs(b).max()))
    rel = max_err / scale if scale > 0 else (0.0 if max_err == 0 else float("inf"))
    am_a, am_b = a.argmax(1), b.argmax(1)
    agree = am_a == am_b
    if not args.quiet:
        for r in range(a.shape[0]):
            print("row %d: max abs err %.3e argmax %d %d %s" % (
                r, diff[r].max(), am_a[r], am_b[r], "ok" if agree[r] else "DIFFER"))
    print("rows %d vocab %d" % a.shape)
    print("max abs error %.6e" % max_err)
    print("max |logit| %.6e" % scale)
    print("relative error %.6e (tol %.1e)" % (rel, args.tol))
    print("argmax agreement %d/%d" % (int(agree.sum()), a.shape[0]))
    if not finite:
        print("FAIL: non-finite logits")
        return 1
    if rel > args.tol:
        print("FAIL: relative error above tolerance")
        return 1
    if args.require_argmax and not agree.all():
        print("FAIL: argmax differs")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
