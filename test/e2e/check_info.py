#!/usr/bin/python3
"""The generated executable's --info against sizes computed from the GGUF.

  check_info.py --tfmc PATH --workdir DIR

Writes three GGUF files of the same llama shape: every 2-D weight q8_0
(random blocks, check_quantized.py's `q8_0` case), all f32, and `every`,
whose 2-D weights are f16, bf16, q8_0, q4_0, q4_1, q5_0 and q5_1 by turns.
Compiles each with tfmc, runs `EXE --info` and `EXE --info -c 16`, and
compares every number with what this script computes itself: the tensor
table is read back from the written file (its own GGUF parser, not
tfmc's), and each tensor's data bytes are GGUF's (ggml's block sizes and
bytes per type id, e.g. q8_0 34 bytes per block of 32 values, f32 4 per
value), summed per type: the summary line, then one line per type with its
weights, values, bytes and bits per weight; the KV cache is n_layers * 2 *
n_kv_heads * context * head_dim f32s from the file's metadata. Also checks
that --info generates nothing, and that a -c above the compiled context is a
usage error (exit 2).
"""

import os
import re
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from e2e_args import arg_parser, parse_args  # noqa: E402
from check_quantized import write_case, stored_as  # noqa: E402
from check_quantized import metadata as q_metadata  # noqa: E402
from check_quantized import CFG  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "test", "fixtures"))
from write_checkpoint import random_weights, write_gguf  # noqa: E402

import numpy as np  # noqa: E402

# ggml's types: id -> (name, values per block, bytes per block), in the
# order --info lists them (f32 first, then tfmc's encodings table).
GGML_TYPES = {0: ("f32", 1, 4), 1: ("f16", 1, 2), 30: ("bf16", 1, 2),
              8: ("q8_0", 32, 34), 2: ("q4_0", 32, 18), 3: ("q4_1", 32, 20),
              6: ("q5_0", 32, 22), 7: ("q5_1", 32, 24)}
EVERY = ["f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1"]
SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
          10: "<Q", 11: "<q", 12: "<d"}


def read_gguf(path):
    """(metadata dict, [(name, dims, type)]) of a GGUF file."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return v[0]

    def string():
        nonlocal pos
        n = take("<Q")
        s = data[pos:pos + n].decode()
        pos += n
        return s

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("<I"), take("<Q")
            return [value(et) for _ in range(n)]
        return take(SCALAR[t])

    assert data[:4] == b"GGUF", path
    pos = 4
    take("<I")
    n_tensors, n_kv = take("<Q"), take("<Q")
    meta = {}
    for _ in range(n_kv):
        k = string()
        meta[k] = value(take("<I"))
    tensors = []
    for _ in range(n_tensors):
        name = string()
        dims = [take("<Q") for _ in range(take("<I"))]
        t = take("<I")
        take("<Q")
        tensors.append((name, dims, t))
    return meta, tensors


def expected(path, ctx):
    """The --info lines for the GGUF at `path` (and -c ctx when not 0)."""
    meta, tensors = read_gguf(path)
    per_type = {}  # id -> [weights, values, bytes]
    values = data = mvalues = mdata = 0
    for name, dims, t in tensors:
        n = 1
        for x in dims:
            n *= x
        _, block, block_bytes = GGML_TYPES[t]
        nbytes = n // block * block_bytes
        row = per_type.setdefault(t, [0, 0, 0])
        row[0] += 1
        row[1] += n
        row[2] += nbytes
        values += n
        data += nbytes
        if len(dims) == 2:
            mvalues += n
            mdata += nbytes
    layers = meta["llama.block_count"]
    kv_heads = meta["llama.attention.head_count_kv"]
    head_dim = meta["llama.embedding_length"] // meta["llama.attention.head_count"]
    context = meta["llama.context_length"]
    per_pos = layers * 2 * kv_heads * head_dim * 4
    order = [t for t in GGML_TYPES if t in per_type]
    lines = ["weight storage: " + ", ".join(
        "%d %s" % (per_type[t][0], GGML_TYPES[t][0]) for t in order)]
    lines += ["  %s: %d weights, %d values, %d bytes, %.3f bits per weight"
              % (GGML_TYPES[t][0], *per_type[t], 8 * per_type[t][2] / per_type[t][1])
              for t in order]
    lines += [
        "weight bytes: %d (blob BLOB with alignment padding)" % data,
        "weight values: %d (matrices %d)" % (values, mvalues),
        "bits per weight: %.3f matrices, %.3f overall" % (8 * mdata / mvalues, 8 * data / values),
        "kv cache bytes: %d at the compiled context %d" % (per_pos * context, context),
    ]
    if ctx:
        lines.append("kv cache bytes: %d at -c %d" % (per_pos * ctx, ctx))
    return lines, data


def check(exe, path, label):
    ok = True
    for ctx in (0, 16):
        cmd = [exe, "--info"] + (["-c", str(ctx)] if ctx else [])
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        want, data = expected(path, ctx)
        got = r.stdout.splitlines()
        at = next((i for i, line in enumerate(want) if "BLOB" in line), 0)
        m = re.match(r"weight bytes: \d+ \(blob (\d+) ", got[at]) if len(got) > at else None
        if m:
            blob = int(m.group(1))
            want[at] = want[at].replace("BLOB", str(blob))
            if blob < data:
                print("%s: blob %d smaller than the data %d" % (label, blob, data))
                ok = False
        if r.returncode != 0 or got != want or r.stderr:
            print("%s %s: exit %d\n got: %s\nwant: %s\nstderr: %s"
                  % (label, cmd[1:], r.returncode, got, want, r.stderr))
            ok = False
        else:
            print("%s %s: ok\n  %s" % (label, " ".join(cmd[1:]), "\n  ".join(got)))
    r = subprocess.run([exe, "--info", "-c", "64"], capture_output=True, text=True, timeout=120)
    if r.returncode != 2 or "exceeds the compiled context length" not in r.stderr or r.stdout:
        print("%s --info -c 64: want exit 2 and an error, got %d %r %r"
              % (label, r.returncode, r.stdout, r.stderr))
        ok = False
    return ok


def main():
    ap = arg_parser()
    args = parse_args(ap)
    q8 = os.path.join(args.workdir, "q8_0.gguf")
    write_case("q8_0", q8)
    f32 = os.path.join(args.workdir, "f32.gguf")
    write_gguf(f32, "llama", q_metadata(),
               random_weights(dict(CFG, shared_classifier=False), 7, "gguf"))
    every = os.path.join(args.workdir, "every.gguf")
    rng = np.random.default_rng(5)
    weights, turn = {}, 0
    for name, t in random_weights(dict(CFG, shared_classifier=False), 7, "gguf").items():
        if t.ndim == 2:
            t = stored_as(EVERY[turn % len(EVERY)], t, rng)
            turn += 1
        weights[name] = t
    write_gguf(every, "llama", q_metadata(), weights)
    ok = True
    for label, path in (("q8_0", q8), ("f32", f32), ("every", every)):
        exe = os.path.join(args.workdir, label)
        r = subprocess.run([args.tfmc, path, "-o", exe], capture_output=True, text=True)
        if r.returncode != 0:
            print("%s: tfmc failed: %s" % (label, r.stderr))
            ok = False
            continue
        ok &= check(exe, path, label)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
