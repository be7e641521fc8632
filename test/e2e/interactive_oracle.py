#!/usr/bin/python3
"""interactive_oracle.py EXE MODEL REFERENCE_PY PROMPT N LINE...

Runs EXE -i greedily (-n N per turn) with PROMPT and the LINEs piped on
standard input, and checks every logits row it evaluated (--logits-out)
against the PyTorch oracle run on the whole conversation as one sequence:
the prompt's ids, each turn's N greedy tokens (argmax of the rows), the
user's ids (EXE --tokenize --no-bos). With the KV cache kept across turns
the rows agree; a cache reset or a lost pending token changes them.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

exe, model, reference, prompt, n = sys.argv[1:6]
lines, n = sys.argv[6:], int(n)
tmp = tempfile.mkdtemp()
out_logits = os.path.join(tmp, "exe.f32")
run = subprocess.run([exe, "-i", "-p", prompt, "-n", str(n), "--temp", "0",
                      "--no-timing", "--logits-out", out_logits],
                     input="".join(l + "\n" for l in lines).encode(),
                     capture_output=True, check=True)


def ids(*args):
    text = subprocess.run([exe, "--tokenize", *args], capture_output=True,
                          check=True).stdout.decode()
    return [int(x) for x in text.split()]


vocab = int(subprocess.run([exe, "--version"], capture_output=True, check=True)
            .stdout.decode().split("vocab ")[1].split(",")[0])
rows = np.fromfile(out_logits, dtype="<f4").reshape(-1, vocab)
seq, r = ids("-p", prompt), 0
inputs = [seq] + [ids("--no-bos", "-p", l) for l in lines]
pending = None
for turn, inp in enumerate(inputs):
    fed = ([pending] if pending is not None else []) + inp
    if turn:
        seq += fed
    r += len(fed)  # one row per evaluated input token
    for step in range(n):
        tok = int(rows[r - 1].argmax())
        if step + 1 < n:
            seq.append(tok)
            r += 1
        else:
            pending = tok
if r != rows.shape[0]:
    sys.exit(f"expected {r} rows from the turns, the executable wrote {rows.shape[0]}")
ref_logits = os.path.join(tmp, "ref.f32")
subprocess.run([sys.executable, reference, model, "--tokens",
                ",".join(map(str, seq)), "--steps", "0", "--logits-out",
                ref_logits], check=True, stdout=subprocess.DEVNULL)
ref = np.fromfile(ref_logits, dtype="<f4").reshape(-1, vocab)
if ref.shape != rows.shape:
    sys.exit(f"oracle rows {ref.shape[0]}, executable rows {rows.shape[0]}")
err = np.abs(ref.astype(np.float64) - rows).max() / np.abs(ref).max()
if err > 1e-4:
    sys.exit(f"relative error {err:.2e} > 1e-4")
turns = run.stdout.decode().count("\n")
print(f"{len(inputs)} turns, {turns} output lines, {rows.shape[0]} rows agree "
      f"with the oracle (relative error <= 1e-4)")
