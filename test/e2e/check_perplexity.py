#!/usr/bin/python3
"""The executable's --perplexity against the PyTorch oracle.

  check_perplexity.py EXE MODEL TEXT_FILE CONTEXT

Runs EXE --perplexity TEXT_FILE -c CONTEXT, takes the file's token ids from
EXE --tokenize, has test/reference/reference.py compute the logits of each
window of CONTEXT tokens, and compares exp(mean -ln p) of every token but
each window's first (relative error 1e-4).
"""

import os
import re
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(os.path.dirname(HERE), "reference", "reference.py")


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("FAIL: %s exited %d\n%s" % (" ".join(cmd), r.returncode, r.stderr))
    return r.stdout


def main():
    exe, model, text, ctx = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    out = run([exe, "--perplexity", text, "-c", str(ctx)])
    m = re.match(r"perplexity: ([0-9.]+) \((\d+) tokens scored", out)
    if not m:
        sys.exit("FAIL: unexpected output %r" % out)
    got, scored = float(m.group(1)), int(m.group(2))
    ids = [int(t) for t in run([exe, "-f", text, "--tokenize"]).split()]
    nll, count = 0.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for start in range(0, len(ids) - 1, ctx):
            window = ids[start:start + ctx]
            path = os.path.join(tmp, "w.f32")
            run(["/usr/bin/python3", REFERENCE, model, "--tokens", ",".join(map(str, window)),
                 "--logits-out", path])
            logits = np.fromfile(path, dtype="<f4").reshape(len(window), -1).astype(np.float64)
            for i in range(len(window) - 1):
                row = logits[i] - logits[i].max()
                nll -= row[window[i + 1]] - np.log(np.exp(row).sum())
                count += 1
    want = float(np.exp(nll / count))
    rel = abs(got - want) / want
    print("perplexity: %d tokens in windows of %d, %.4f vs oracle %.4f (relative error %.2g)"
          % (scored, ctx, got, want, rel))
    if scored != count or rel > 1e-4:
        sys.exit("FAIL")


if __name__ == "__main__":
    main()
