#!/usr/bin/python3
"""The executable's --perplexity against the PyTorch oracle.

  check_perplexity.py EXE MODEL TEXT_FILE CONTEXT

Runs EXE --perplexity TEXT_FILE -c CONTEXT, takes the file's token ids from
EXE --tokenize, has test/reference/reference.py compute the logits of each
window of CONTEXT tokens, and compares exp(mean -ln p) of every token but
each window's first (relative error 1e-4) and its uncertainty, llama.cpp's
perplexity times the standard error of the mean -ln p (1e-3).
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
    m = re.match(r"perplexity: ([0-9.]+) \+/- ([0-9.]+) \((\d+) tokens scored", out)
    if not m:
        sys.exit("FAIL: unexpected output %r" % out)
    got, got_err, scored = float(m.group(1)), float(m.group(2)), int(m.group(3))
    ids = [int(t) for t in run([exe, "-f", text, "--tokenize"]).split()]
    nlls = []
    with tempfile.TemporaryDirectory() as tmp:
        for start in range(0, len(ids) - 1, ctx):
            window = ids[start:start + ctx]
            path = os.path.join(tmp, "w.f32")
            run(["/usr/bin/python3", REFERENCE, model, "--tokens", ",".join(map(str, window)),
                 "--logits-out", path])
            logits = np.fromfile(path, dtype="<f4").reshape(len(window), -1).astype(np.float64)
            for i in range(len(window) - 1):
                row = logits[i] - logits[i].max()
                nlls.append(np.log(np.exp(row).sum()) - row[window[i + 1]])
    nlls = np.array(nlls)
    count = len(nlls)
    want = float(np.exp(nlls.mean()))
    # llama.cpp's uncertainty: the perplexity times the standard error of the
    # mean -ln p (the sample standard deviation over sqrt(count)).
    want_err = want * float(nlls.std(ddof=1)) / np.sqrt(count)
    rel = abs(got - want) / want
    rel_err = abs(got_err - want_err) / want_err
    print("perplexity: %d tokens in windows of %d, %.4f +/- %.4f vs oracle %.4f +/- %.4f "
          "(relative error %.2g, of the uncertainty %.2g)"
          % (scored, ctx, got, got_err, want, want_err, rel, rel_err))
    if scored != count or rel > 1e-4 or rel_err > 1e-3:
        sys.exit("FAIL")


if __name__ == "__main__":
    main()
