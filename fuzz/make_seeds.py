#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets, one directory per target.

Usage: make_seeds.py OUTDIR

Everything is generated from what the repository already has, so no binary
seed is committed:
  * checkpoints: test/fixtures/write_checkpoint.py (its named fixtures plus
    a few tiny configurations written through its API) and the broken
    checkpoints of test/Frontend/checkpoints/make_broken.py;
  * descriptions: examples/*.tfm and test/Frontend/description/*.tfm;
  * tokenizers: small files written here from the formats documented in
    runtime/include/tfm/runtime/Tokenizer.h, plus the shared models'
    tokenizer.bin when present (they are a few KB).
Input layouts that the harnesses split (see each fuzz_*.cpp):
  safetensors: config.json NUL model.safetensors
  config: config.json alone (the harness writes a valid model.safetensors)
  tokenizer_gpt2: vocab.json NUL merges.txt
  tokenizer_encode: mode byte, then text or 2-byte token ids
"""

import glob
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "fixtures"))
import write_checkpoint as wc  # noqa: E402

SHARED = os.environ.get("TFM_TEST_DATA", os.path.join(ROOT, "..", "shared"))
# Seeds above this size slow every mutation down; the big fixtures still
# enter the corpora, the shared real models do not.
MAX_SEED = 128 * 1024

TINY = [
    dict(wc.LLAMA_CFG, dim=8, hidden_dim=16, n_layers=1, n_heads=2,
         n_kv_heads=1, vocab_size=6, seq_len=4),
    dict(wc.LLAMA_CFG, dim=4, hidden_dim=4, n_layers=2, n_heads=1,
         n_kv_heads=1, vocab_size=3, seq_len=2, shared_classifier=False),
    dict(wc.GPT2_CFG, dim=4, hidden_dim=8, n_layers=1, n_heads=2,
         n_kv_heads=2, vocab_size=5, seq_len=3),
]


def put(outdir, target, name, data):
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    if len(data) <= MAX_SEED:
        with open(os.path.join(d, name), "wb") as fh:
            fh.write(data)


def read(path):
    with open(path, "rb") as fh:
        return fh.read()


def safetensors_input(dirpath):
    cfg = os.path.join(dirpath, "config.json")
    head = read(cfg) if os.path.exists(cfg) else b"{}"
    return head + b"\0" + read(os.path.join(dirpath, "model.safetensors"))


# --- tokenizers -------------------------------------------------------------

def gpt2_byte_chars():
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs, n = {}, 0
    for b in range(256):
        if b in bs:
            cs[b] = chr(b)
        else:
            cs[b] = chr(256 + n)
            n += 1
    return [cs[b] for b in range(256)]


def spm_vocab():
    pieces = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    types = [2, 3, 3] + [6] * 256
    for p in ["\u2581", "a", "b", "\u2581a", "ab", "\u2581ab", "\u4e2d", "e", "\u2581the"]:
        pieces.append(p)
        types.append(1)
    scores = [0.0] * 3 + [0.0] * 256 + [-float(i) for i in range(len(pieces) - 259)]
    return pieces, scores, types


def llama2c_tokenizer(pieces, scores):
    out = struct.pack("<i", max(len(p.encode()) for p in pieces))
    for p, s in zip(pieces, scores):
        b = p.encode()
        out += struct.pack("<fi", s, len(b)) + b
    return out


def serialized_tokenizer(kind, pieces, scores, types, bos, eos, merges, flags):
    out = b"TFMTOK\0\0" + struct.pack("<IIIiiII", 1, kind, len(pieces), bos, eos,
                                      len(merges), flags)
    for p, s, t in zip(pieces, scores, types):
        b = p.encode()
        out += struct.pack("<I", len(b)) + b + struct.pack("<fB", s, t)
    for l, r in merges:
        out += struct.pack("<ii", l, r)
    return out


def gpt2_vocab():
    toks = gpt2_byte_chars()
    merges = []
    for l, r in [("\u0120", "t"), ("h", "e"), ("\u0120t", "he"), ("l", "l"), ("ll", "o")]:
        merges.append((toks.index(l), toks.index(r)))
        toks.append(l + r)
    toks.append("<|endoftext|>")
    return toks, merges


def tokenizer_seeds(outdir):
    pieces, scores, types = spm_vocab()
    put(outdir, "tokenizer_llama2c", "tiny.bin", llama2c_tokenizer(pieces, scores))
    put(outdir, "tokenizer_llama2c", "three.bin",
        llama2c_tokenizer(["<unk>", "<s>", "</s>"], [0.0, 0.0, 0.0]))
    for m in ("stories260K", "aidreams260K"):
        p = os.path.join(SHARED, "models", m, "tokenizer.bin")
        if os.path.exists(p):
            put(outdir, "tokenizer_llama2c", m + ".bin", read(p))
    put(outdir, "tokenizer_deserialize", "spm.tok",
        serialized_tokenizer(1, pieces, scores, types, 1, 2, [], 1))
    toks, merges = gpt2_vocab()
    gtypes = [1] * (len(toks) - 1) + [3]
    eot = len(toks) - 1
    put(outdir, "tokenizer_deserialize", "gpt2.tok",
        serialized_tokenizer(2, toks, [0.0] * len(toks), gtypes, eot, eot, merges, 0))
    vocab = json.dumps({t: i for i, t in enumerate(toks)}, ensure_ascii=False)
    mtxt = "#version: 0.2\n" + "".join("%s %s\n" % (toks[l], toks[r]) for l, r in merges)
    put(outdir, "tokenizer_gpt2", "tiny", vocab.encode() + b"\0" + mtxt.encode())
    put(outdir, "tokenizer_gpt2", "escapes",
        b'{"\\u0120t": 0, "a\\"b": 1, "\\ud83d\\ude00": 2}\0a b\n')
    put(outdir, "tokenizer_gpt2", "no-merges", vocab.encode())
    # tokenizer_encode: mode byte (bit 0 GPT-2, bit 1 decode ids, bit 2 BOS).
    texts = ["Once upon a time, there was a little girl.",
             " leading space and  two", "caf\u00e9 \u4e2d\u6587 \U0001f600",
             "it's 2024 -- numbers 123, 4567!\n\n\tend", ""]
    for i, t in enumerate(texts):
        for mode in (0, 1, 4, 5):
            put(outdir, "tokenizer_encode", "text%d-m%d" % (i, mode),
                bytes([mode]) + t.encode())
    put(outdir, "tokenizer_encode", "invalid-utf8", b"\x04ab\xff\xe4\xb8 \xc3")
    for mode in (2, 3):
        ids = [1, 400, 1000, 3, 259, 0x1E4 + 3, 0xB8 + 3, 0xAD + 3, 13, 29871, 31999]
        put(outdir, "tokenizer_encode", "ids-m%d" % mode,
            bytes([mode]) + b"".join(struct.pack("<H", i) for i in ids))
    return pieces, scores, types, toks, merges


# --- checkpoints ------------------------------------------------------------

def checkpoint_seeds(outdir, tok):
    pieces, scores, types, gtoks, gmerges = tok
    tmp = tempfile.mkdtemp(prefix="tfm-seeds-")
    try:
        fx = os.path.join(tmp, "fixtures")
        subprocess.run([sys.executable, os.path.join(ROOT, "test", "fixtures",
                                                     "write_checkpoint.py"), fx],
                       check=True, stdout=subprocess.DEVNULL)
        broken = os.path.join(tmp, "broken")
        subprocess.run([sys.executable, os.path.join(ROOT, "test", "Frontend", "checkpoints",
                                                     "make_broken.py"), broken],
                       check=True, stdout=subprocess.DEVNULL)
        for d in (fx, broken):
            for p in glob.glob(os.path.join(d, "*.bin")):
                put(outdir, "llama2c", os.path.basename(p), read(p))
            for p in glob.glob(os.path.join(d, "*.gguf")):
                put(outdir, "gguf_import", os.path.basename(p), read(p))
                put(outdir, "gguf", os.path.basename(p), read(p))
            for p in glob.glob(os.path.join(d, "*", "model.safetensors")):
                dirpath = os.path.dirname(p)
                put(outdir, "safetensors", os.path.basename(dirpath),
                    safetensors_input(dirpath))
                cfg_path = os.path.join(dirpath, "config.json")
                if os.path.exists(cfg_path):
                    put(outdir, "config", os.path.basename(dirpath), read(cfg_path))
        for i, cfg in enumerate(TINY):
            base = os.path.join(tmp, "tiny%d" % i)
            if cfg["arch"] == "llama":
                wc.write_llama2c(base + ".bin", cfg, wc.random_weights(cfg, i, "llama2c"))
                put(outdir, "llama2c", "tiny%d.bin" % i, read(base + ".bin"))
            w = wc.random_weights(cfg, i, "gguf")
            wc.write_gguf(base + ".gguf", cfg["arch"], wc.gguf_metadata(
                cfg, "llama" if cfg["arch"] == "llama" else "gpt2"), w)
            put(outdir, "gguf_import", "tiny%d.gguf" % i, read(base + ".gguf"))
            put(outdir, "gguf", "tiny%d.gguf" % i, read(base + ".gguf"))
            os.makedirs(base, exist_ok=True)
            wc.write_safetensors(os.path.join(base, "model.safetensors"),
                                 wc.random_weights(cfg, i, "safetensors"),
                                 metadata={"format": "pt"})
            with open(os.path.join(base, "config.json"), "w") as fh:
                json.dump(wc.hf_config(cfg), fh)
            put(outdir, "safetensors", "tiny%d" % i, safetensors_input(base))
            put(outdir, "config", "tiny%d" % i, read(os.path.join(base, "config.json")))
        # GGUF files whose tokenizers load (real byte tokens / GPT-2 bytes).
        cfg = TINY[0]
        meta = wc.gguf_metadata(dict(cfg, vocab_size=len(pieces)), "llama")
        meta.update({"tokenizer.ggml.tokens": pieces, "tokenizer.ggml.scores": scores,
                     "tokenizer.ggml.token_type": types,
                     "tokenizer.ggml.eos_token_id": 2,
                     "tokenizer.ggml.add_bos_token": True})
        p = os.path.join(tmp, "spm.gguf")
        wc.write_gguf(p, "llama", meta, {})
        put(outdir, "gguf", "tokenizer-spm.gguf", read(p))
        meta = wc.gguf_metadata(dict(TINY[2], vocab_size=len(gtoks)), "gpt2")
        meta.update({"tokenizer.ggml.tokens": gtoks,
                     "tokenizer.ggml.token_type": [1] * (len(gtoks) - 1) + [3],
                     "tokenizer.ggml.merges": ["%s %s" % (gtoks[l], gtoks[r])
                                               for l, r in gmerges],
                     "tokenizer.ggml.eos_token_id": len(gtoks) - 1})
        del meta["tokenizer.ggml.scores"]
        p = os.path.join(tmp, "gpt2.gguf")
        wc.write_gguf(p, "gpt2", meta, {})
        put(outdir, "gguf", "tokenizer-gpt2.gguf", read(p))
    finally:
        shutil.rmtree(tmp)


def hostile_seeds(outdir):
    """Seeds a mutation rarely reaches: deep nesting and huge counts."""
    deep = 35000  # 70 KB of brackets overflowed llvm::json's recursive parser.
    for t in ("config", "safetensors"):
        nest = b"[" * deep + b"]" * deep
        obj = b'{"a":' * (deep // 2) + b"1" + b"}" * (deep // 2)
        cfg = json.dumps(wc.hf_config(TINY[0])).encode()
        for name, head in (("deep-array", nest), ("deep-object", obj), ("config", cfg)):
            # safetensors: the hostile JSON as the tensor header, a plain config.
            data = head if t == "config" else cfg + b"\0" + struct.pack("<Q", len(head)) + head
            put(outdir, t, "hostile-" + name, data)
    for key, value in (("hidden_size", 1 << 58), ("num_hidden_layers", 1 << 40),
                       ("max_position_embeddings", (1 << 58) + 1), ("vocab_size", -1),
                       ("rms_norm_eps", -1), ("rope_theta", -5), ("num_attention_heads", 0),
                       ("intermediate_size", 1 << 62), ("head_dim", 1 << 31)):
        cfg = dict(wc.hf_config(TINY[0]), **{key: value})
        put(outdir, "config", "hostile-" + key, json.dumps(cfg))
    # GGUF headers with counts far beyond the file: tensors, key-values, and
    # an array whose element count would need exabytes.
    magic = b"GGUF" + struct.pack("<I", 3)
    put(outdir, "gguf", "hostile-tensor-count", magic + struct.pack("<QQ", 1 << 62, 0))
    put(outdir, "gguf", "hostile-kv-count", magic + struct.pack("<QQ", 0, 1 << 62))
    key = b"tokenizer.ggml.tokens"
    arr = struct.pack("<Q", len(key)) + key + struct.pack("<II", 9, 8) + struct.pack("<Q", 1 << 60)
    put(outdir, "gguf", "hostile-array-count", magic + struct.pack("<QQ", 0, 1) + arr)
    # A llama2.c header with every dimension at the int32 limit.
    put(outdir, "llama2c", "hostile-dims", struct.pack("<7i", *([0x7fffffff] * 7)))
    # A description nested and repeated far beyond any real model.
    put(outdir, "description", "hostile-deep",
        'model "m" {\n' + "block x 1 {\n" * 2000 + "}\n" * 2001)
    put(outdir, "description", "hostile-semicolons", ";" * 100000)


def description_seeds(outdir):
    for p in sorted(glob.glob(os.path.join(ROOT, "examples", "*.tfm")) +
                    glob.glob(os.path.join(ROOT, "test", "Frontend", "description", "*.tfm"))):
        put(outdir, "description", os.path.basename(p), read(p))


def npy_seeds(outdir):
    """.npy files as numpy writes them (float32 attention arrays), and
    hostile headers."""
    import io
    import numpy as np
    for name, shape in [("att", (2, 3, 4, 4)), ("empty", (0,)), ("scalar", ())]:
        buf = io.BytesIO()
        np.save(buf, np.arange(int(np.prod(shape)), dtype="<f4").reshape(shape))
        put(outdir, "npy", name + ".npy", buf.getvalue())
    def v1(header, data=b""):
        header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data
    put(outdir, "npy", "huge-shape", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }"))
    put(outdir, "npy", "f8", v1("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8))
    put(outdir, "npy", "unterminated", v1("{'descr': '<f4"))
    put(outdir, "npy", "v2-long-header", b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFFF))


def main(argv):
    if len(argv) != 2:
        print(__doc__)
        return 2
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)
    description_seeds(outdir)
    hostile_seeds(outdir)
    checkpoint_seeds(outdir, tokenizer_seeds(outdir))
    npy_seeds(outdir)
    for d in sorted(os.listdir(outdir)):
        print("%-22s %3d seeds" % (d, len(os.listdir(os.path.join(outdir, d)))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
