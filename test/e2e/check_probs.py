#!/usr/bin/python3
"""check_probs.py STDERR ORACLE_LOGITS VOCAB PROMPT_TOKENS K

The executable's --n-probs K lines ("probs: ID PROB ...", one per generated
token, in STDERR) must equal the top K of softmax(logits) at temperature 1
of the oracle's rows for the same positions: rows PROMPT_TOKENS - 1 onwards
of ORACLE_LOGITS (the reference.py --logits-out of prompt + greedy steps).
Ids must agree (ties within 1e-6 may swap) and probabilities within 1e-5.
"""
import sys

import numpy as np

stderr_path, logits_path, vocab, prompt, k = sys.argv[1:6]
vocab, prompt, k = int(vocab), int(prompt), int(k)
lines = [l.split()[1:] for l in open(stderr_path) if l.startswith("probs: ")]
rows = np.fromfile(logits_path, dtype="<f4").astype(np.float64).reshape(-1, vocab)
if not lines:
    sys.exit("no probs: lines")
if len(lines) > rows.shape[0] - prompt + 1:
    sys.exit(f"{len(lines)} probs lines but the oracle has rows for "
             f"{rows.shape[0] - prompt + 1} generated tokens")
worst = 0.0
for i, fields in enumerate(lines):
    if len(fields) != 2 * k:
        sys.exit(f"line {i}: {len(fields)} fields, expected {2 * k}")
    row = rows[prompt - 1 + i]
    p = np.exp(row - row.max())
    p /= p.sum()
    ids = [int(x) for x in fields[0::2]]
    probs = [float(x) for x in fields[1::2]]
    want = np.argsort(-p, kind="stable")[:k]
    for j, (got_id, got_p) in enumerate(zip(ids, probs)):
        if got_id != want[j] and abs(p[got_id] - p[want[j]]) > 1e-6:
            sys.exit(f"token {i} rank {j}: id {got_id}, oracle {want[j]}")
        err = abs(got_p - p[got_id])
        worst = max(worst, err)
        if err > 1e-5:
            sys.exit(f"token {i} id {got_id}: p {got_p}, oracle {p[got_id]:.8f}")
print(f"{len(lines)} tokens x top {k}: max |p - p_oracle| {worst:.1e} <= 1e-5")
