#!/usr/bin/python3
"""Checks tfm-inspect's numbers against NumPy on the same tensors.

The embedding tables, positional tables and logits are read by the PyTorch
oracle's own readers (test/reference/reference.py), which share no code with
tfmc; the expected numbers are computed here with NumPy.

  check_inspect.py TOOL MODEL nearest VOCAB QUERY... [--analogy A B C]
  check_inspect.py TOOL MODEL positions N
  check_inspect.py TOOL MODEL embedding-map VOCAB TOKEN...
  check_inspect.py TOOL MODEL probs LOGITS ROW
  check_inspect.py svg FILE PANELS ROWS COLS [LABEL...]
  check_inspect.py png FILE WIDTH HEIGHT

VOCAB is spm:tokenizer.bin (llama2.c) or gpt2:vocab.json: how the test finds
the id of a piece without tfmc. Each mode prints one summary line.
"""

import json
import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "test", "reference"))
import reference  # noqa: E402
from ref_tokenizer import Llama2cTokenizer  # noqa: E402

TOP = 10


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        fail("%s exited %d\n%s" % (" ".join(cmd), r.returncode, r.stderr))
    return r.stdout


def records(text):
    return [l.split("\t") for l in text.splitlines() if l and not l.startswith("#")]


def vocab_ids(spec):
    kind, path = spec.split(":", 1)
    if kind == "spm":
        tok = Llama2cTokenizer.from_bin(path)
        return {p.decode("utf-8", "surrogateescape").replace(" ", "\u2581"): i
                for i, p in reversed(list(enumerate(tok.pieces)))}
    with open(path) as fh:
        return json.load(fh)


def expected_nearest(table, query, excluded):
    t = table.astype(np.float64)
    norms = np.linalg.norm(t, axis=1) * np.linalg.norm(query)
    cos = np.divide(t @ query, norms, out=np.zeros(len(t)), where=norms > 0)
    order = sorted((i for i in range(len(t)) if i not in excluded), key=lambda i: (-cos[i], i))
    return [(i, cos[i]) for i in order[:TOP]]


def compare_nearest(what, got, want):
    if len(got) != len(want):
        fail("%s: %d results, expected %d" % (what, len(got), len(want)))
    for k, ((gid, gcos), (wid, wcos)) in enumerate(zip(got, want)):
        if abs(gcos - wcos) > 2e-6:
            fail("%s: result %d has cosine %.6f, NumPy %.6f" % (what, k, gcos, wcos))
        # Ids must agree unless two cosines are too close to order reliably.
        near_tie = any(abs(c - wcos) < 1e-9 for j, (_, c) in enumerate(want) if j != k)
        if gid != wid and not near_tie:
            fail("%s: result %d is token %d, NumPy's is %d" % (what, k, gid, wid))
    return max(abs(g[1] - w[1]) for g, w in zip(got, want))


def nearest(tool, model, args):
    ids = vocab_ids(args[0])
    queries, analogies = args[1:], []
    if "--analogy" in queries:
        k = queries.index("--analogy")
        queries, analogies = queries[:k], queries[k + 1:]
    table = reference.load(model)[1]["tok_embeddings.weight"]
    err, checked = 0.0, 0
    for q in queries:
        out = run([tool, model, "neighbors", q, "--top", str(TOP), "--ids"])
        got = [(int(r[0]), float(r[1])) for r in records(out)]
        want = expected_nearest(table, table[ids[q]].astype(np.float64), {ids[q]})
        err = max(err, compare_nearest("neighbors " + q, got, want))
        checked += 1
    for a, b, c in zip(analogies[0::3], analogies[1::3], analogies[2::3]):
        out = run([tool, model, "analogy", a, b, c, "--top", str(TOP), "--ids"])
        got = [(int(r[0]), float(r[1])) for r in records(out)]
        e = lambda w: table[ids[w]].astype(np.float64)  # noqa: E731
        want = expected_nearest(table, e(a) - e(b) + e(c), {ids[a], ids[b], ids[c]})
        err = max(err, compare_nearest("analogy %s %s %s" % (a, b, c), got, want))
        checked += 1
    print("nearest: %d queries x top %d agree with NumPy (max cosine error %.2g)"
          % (checked, TOP, err))


def positions(tool, model, args):
    n = int(args[0])
    if model.endswith(".tfm"):  # the architecture alone (random weights)
        import tfm_to_arch
        arch, w = reference.complete_arch(tfm_to_arch.translate(model)["arch"]), {}
    else:
        arch, w = reference.load(model)
    out = run([tool, model, "positions", "--positions", str(n)])
    got = np.loadtxt(out.splitlines(), ndmin=2)
    kind = arch["position"]
    if kind == "sinusoidal":
        want = reference.sinusoidal_table(n, arch["dim"], arch["sinusoidal_base"],
                                          reference.torch.float64).numpy()
        tol = 1e-4  # float32 angles up to n radians
    elif kind == "learned":
        want = np.asarray(w["pos_embeddings.weight"][:n], dtype=np.float64)
        tol = 1e-9  # the printed %.9g of each float32
    elif kind == "rope":
        hd = arch["head_dim"]
        j = np.arange(hd // 2)
        want = np.arange(n)[:, None] * arch["rope_theta"] ** (-2.0 * j / hd)[None, :]
        tol = 1e-4
    elif kind == "alibi":
        slopes = np.array(reference.alibi_slopes(arch["n_heads"]), dtype=np.float64)
        comments = [l[2:].split("\t") for l in out.splitlines() if l.startswith("# ") and "\t" in l[2:]]
        got_slopes = np.array([float(s) for h, s in comments if h.isdigit()])
        if got_slopes.shape != slopes.shape or np.max(np.abs(got_slopes - slopes) / slopes) > 1e-6:
            fail("alibi slopes %s, reference %s" % (got_slopes, slopes))
        want = -slopes[:, None] * np.arange(n)[None, :]
        tol = 1e-5 * n
    else:
        fail("no positions to check for %s" % kind)
    if got.shape != want.shape:
        fail("positions: shape %s, expected %s" % (got.shape, want.shape))
    err = float(np.max(np.abs(got - want)))
    if err > tol:
        fail("positions (%s): max abs error %.3g > %.3g" % (kind, err, tol))
    print("positions (%s): %d x %d agree with NumPy (max abs error %.2g)"
          % (kind, got.shape[0], got.shape[1], err))


def embedding_map(tool, model, args):
    ids = vocab_ids(args[0])
    tokens = args[1:]
    table = reference.load(model)[1]["tok_embeddings.weight"]
    out = run([tool, model, "embedding-map"] + tokens)
    got = np.array([[float(r[1]), float(r[2])] for r in records(out)])
    x = np.array([table[ids[t]] for t in tokens], dtype=np.float64)
    x -= x.mean(axis=0)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    want = u[:, :2] * s[:2]
    for k in range(2):  # the tool's sign: largest |coordinate| positive
        if want[np.argmax(np.abs(want[:, k])), k] < 0:
            want[:, k] *= -1
    err = float(np.max(np.abs(got - want)))
    if got.shape != want.shape or err > 1e-4:
        fail("embedding-map: got\n%s\nNumPy\n%s" % (got, want))
    print("embedding-map: %d tokens agree with NumPy's SVD (max abs error %.2g)" % (len(tokens), err))


def probs(tool, model, args):
    logits_path, row = args[0], int(args[1])
    vocab = reference.load(model)[0]["vocab_size"]
    logits = np.fromfile(logits_path, dtype="<f4").reshape(-1, vocab)[row].astype(np.float64)
    out = run([tool, model, "probs", logits_path, "--row", str(row), "--top", str(TOP),
               "--temps", "0.5,1,2", "--ids"])
    rows = records(out)
    order = sorted(range(vocab), key=lambda i: (-logits[i], i))[:TOP]
    err = 0.0
    for t_index, t in enumerate([0.5, 1.0, 2.0]):
        p = np.exp((logits - logits.max()) / t)
        p /= p.sum()
        for k, i in enumerate(order):
            if int(rows[k][0]) != i:
                fail("probs: rank %d is token %s, NumPy's %d" % (k, rows[k][0], i))
            err = max(err, abs(float(rows[k][1 + t_index]) - p[i]))
    if err > 1e-6:
        fail("probs: max abs error %.3g" % err)
    print("probs: top %d at 3 temperatures agree with NumPy (max abs error %.2g)" % (TOP, err))


def svg(args):
    path, panels, rows, cols = args[0], int(args[1]), int(args[2]), int(args[3])
    labels = args[4:]
    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    groups = {g.get("id"): g for g in root.iter(ns + "g") if g.get("id")}
    for k in range(panels):
        g = groups.get("cells-%d" % k)
        if g is None:
            fail("%s: no group cells-%d" % (path, k))
        n = len(list(g.iter(ns + "path")))
        if n != rows * cols:
            fail("%s: panel %d has %d cells, expected %d x %d" % (path, k, n, rows, cols))
    if "cells-%d" % panels in groups:
        fail("%s: more than %d panels" % (path, panels))
    texts = ["".join(t.itertext()).strip() for t in root.iter(ns + "text")]
    for label in labels:
        if label not in texts:
            fail("%s: no text '%s' (texts: %s)" % (path, label, texts[:40]))
    print("svg: valid XML, %d panel(s) of %d x %d cells, %d labels found"
          % (panels, rows, cols, len(labels)))


def png(args):
    path, width, height = args[0], int(args[1]), int(args[2])
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        fail("%s is not a PNG" % path)
    w, h = struct.unpack(">II", data[16:24])
    if (w, h) != (width, height):
        fail("%s is %d x %d, expected %d x %d" % (path, w, h, width, height))
    print("png: %d x %d" % (w, h))


def main():
    if sys.argv[1] == "svg":
        return svg(sys.argv[2:])
    if sys.argv[1] == "png":
        return png(sys.argv[2:])
    tool, model, mode, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    {"nearest": nearest, "positions": positions, "embedding-map": embedding_map,
     "probs": probs}[mode](tool, model, args)


if __name__ == "__main__":
    main()
