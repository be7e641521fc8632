#!/usr/bin/python3
"""Quantized GGUF weights end to end: tfmc's executable vs the oracle.

  check_quantized.py --tfmc PATH --workdir DIR [--kernels MODE]

Writes GGUF files whose 2-D weights are q8_0 tensors of random blocks (a
random f16 scale and 32 random int8 values each, -128 included), compiles
each with tfmc and compares its logits with test/reference/reference.py,
which dequantizes the same blocks with its own NumPy code and runs the f32
oracle (check_checkpoint.py: relative error <= 1e-4, equal greedy tokens).

Cases: `q8_0` (every 2-D weight q8_0, output.weight too: an unpacked q8_0
embedding table), `q8_0-tied` (no output.weight: the q8_0 embedding table is
the LM head's packed tiles), `mixed` (q8_0 in layer 1 only, f16 and f32 in
layer 0: each layer keeps its own storage, two block functions). With
generated kernels, every q8_0 tensor stays q8_0: the executable's --info
counts them, and --emit=tfm shows the mixed model's two block functions per
kind of call. The vocabulary (44) and widths (64, 96) leave tail tiles for
8- and 16-float vectors. Then broken files: a NaN q8_0 scale and an unknown
tensor type id, each a clear error (exit 1) naming its byte offset.
"""

import os
import re
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "test", "fixtures"))
from e2e_args import arg_parser, parse_args  # noqa: E402
from write_checkpoint import (Q8_0, gguf_metadata, random_weights,  # noqa: E402
                              write_gguf)

CFG = dict(arch="llama", dim=64, hidden_dim=96, n_layers=2, n_heads=4,
           n_kv_heads=2, vocab_size=44, seq_len=32, norm_eps=1e-5,
           rope_theta=10000.0, shared_classifier=False)
PROMPT = "abc cab bad"


class RandomQ8_0(Q8_0):
    """q8_0 blocks drawn at random: scale ~ |N(0, 1/(127 sqrt(K)))| as f16,
    values uniform in [-128, 127]. The oracle reads the bytes back itself."""

    def __init__(self, shape, rng):
        blocks = int(np.prod(shape)) // 32
        scale = 1.0 / (127.0 * np.sqrt(shape[-1]))
        self.d = (np.abs(rng.standard_normal(blocks)) * scale).astype(np.float16)
        self.q = rng.integers(-128, 128, size=(blocks, 32)).astype(np.int8)
        self.array = np.zeros(shape, np.float32)  # the shape, for the writer


def metadata():
    """A character vocabulary the executable can tokenize PROMPT with."""
    m = gguf_metadata(CFG, "llama")
    toks = ["<unk>", "<s>", "</s>", "\u2581"] + [chr(ord("a") + k) for k in range(26)]
    toks += ["<pad%d>" % k for k in range(CFG["vocab_size"] - len(toks))]
    m["tokenizer.ggml.tokens"] = toks
    m["tokenizer.ggml.token_type"] = [2, 3, 3] + [1] * (len(toks) - 3)
    m["tokenizer.ggml.eos_token_id"] = 2
    return m


def write_case(case, path):
    rng = np.random.default_rng(12)
    w = random_weights(dict(CFG, shared_classifier=case != "q8_0"), 7, "gguf")
    stored = {}
    for name, t in w.items():
        q8 = t.ndim == 2 and (case != "mixed" or name.startswith("blk.1."))
        if q8:
            stored[name] = RandomQ8_0(t.shape, rng)
        elif case == "mixed" and t.ndim == 2 and name.startswith("blk.0.attn"):
            stored[name] = t.astype(np.float16)
        else:
            stored[name] = t
    write_gguf(path, "llama", metadata(), stored)
    return sum(isinstance(t, RandomQ8_0) for t in stored.values())


def check_storage(tfmc, workdir):
    """Every q8_0 tensor of each case's file stays q8_0 (--info); the mixed
    model has one block function per storage signature, layer 1's reading
    q8_0 (7 weights in each of prefill and decode). Returns True when they
    hold."""
    ok = True
    for case in ("q8_0", "q8_0-tied", "mixed"):
        path = os.path.join(workdir, case + ".gguf")
        q8 = write_case(case, path)
        exe = os.path.join(workdir, case + ".storage")
        r = subprocess.run([tfmc, path, "-o", exe, "--quiet"], capture_output=True, text=True)
        info = subprocess.run([exe, "--info"], capture_output=True, text=True).stdout \
            if r.returncode == 0 else r.stderr
        m = re.search(r"weight storage:.* (\d+) q8_0", info)
        good = bool(m) and int(m.group(1)) == q8
        print(f"{case}: --info q8_0 weights {m.group(1) if m else None}, file {q8}"
              + ("" if good else f": FAIL\n{info}"))
        ok &= good
    path = os.path.join(workdir, "mixed.gguf")
    tfm = subprocess.run([tfmc, path, "--emit=tfm", "--kernels=generated"],
                         capture_output=True, text=True).stdout
    blocks = re.findall(r"func\.func private @(tfm_block_\w+)\(", tfm)
    want = ["tfm_block_prefill", "tfm_block_prefill_1", "tfm_block_decode",
            "tfm_block_decode_1"]
    encoded = tfm.count("encoding q8_0")
    good = blocks == want and encoded == 2 * q8
    print(f"mixed: --emit=tfm block functions {blocks}, {encoded} q8_0 weights"
          + ("" if good else f": FAIL, expected {want} and {2 * q8}"))
    return ok and good


def check_broken(tfmc, workdir):
    """A NaN scale and a type id tfmc does not know: clear errors naming the
    byte offset, exit 1, no crash. Returns True when both hold."""
    rng = np.random.default_rng(3)
    w = random_weights(dict(CFG, shared_classifier=False), 7, "gguf")
    stored = {k: RandomQ8_0(t.shape, rng) if t.ndim == 2 else t for k, t in w.items()}
    bad = "blk.1.ffn_down.weight"  # [64, 96]: 3 blocks per row
    block = 5  # row 1, block 2
    stored[bad].d[block] = np.float16("nan")
    path = os.path.join(workdir, "nan-scale.gguf")
    layout = write_gguf(path, "llama", metadata(), stored)
    at = layout["tensor_data"][bad][0] + block * 34
    expected = [f"tensor '{bad}' [64, 96] has a NaN q8_0 scale in block {block} "
                f"(row 1, at byte {at})"]
    # An unknown ggml type id (99) in the first tensor's info.
    unknown = os.path.join(workdir, "unknown-type.gguf")
    with open(path, "rb") as fh:
        data = bytearray(fh.read())
    first = next(iter(layout["tensor_info"].values()))
    data[first["type"]:first["type"] + 4] = (99).to_bytes(4, "little")
    with open(unknown, "wb") as fh:
        fh.write(data)
    expected.append(f"has unknown ggml type 99 at byte {first['type']}")
    ok = True
    for model, want in ((path, expected[0]), (unknown, expected[1])):
        r = subprocess.run([tfmc, model, "-o", os.path.join(workdir, "broken")],
                           capture_output=True, text=True)
        good = r.returncode == 1 and want in r.stderr
        print(f"{os.path.basename(model)}: exit {r.returncode}, "
              f"{'error names' if good else 'FAIL: error lacks'} {want!r}"
              + ("" if good else f": {r.stderr.strip()}"))
        ok &= good
    return ok


def main():
    ap = arg_parser()
    ap.add_argument("--kernels", default="generated")
    args = parse_args(ap)
    failed = False
    for case in ("q8_0", "q8_0-tied", "mixed"):
        path = os.path.join(args.workdir, case + ".gguf")
        write_case(case, path)
        r = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "check_checkpoint.py"), path,
                            "--tfmc", args.tfmc, "--workdir", os.path.join(args.workdir, case),
                            "--prompt", PROMPT, "--steps", "6", "--kernels", args.kernels,
                            "--ignore-eos"],
                           capture_output=True, text=True)
        sys.stdout.write(case + ": " + r.stdout)
        sys.stderr.write(r.stderr)
        failed |= r.returncode != 0
    failed |= not check_broken(args.tfmc, args.workdir)
    if args.kernels == "generated":
        failed |= not check_storage(args.tfmc, args.workdir)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
