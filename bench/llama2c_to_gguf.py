#!/usr/bin/env python3
"""Writes a llama.cpp f32 GGUF of a llama2.c checkpoint, streaming.

    llama2c_to_gguf.py MODEL.bin TOKENIZER.bin OUT.gguf [--context N]

For bench/peers.sh's TinyLlama-1.1B shape: the peers' own converter
(llama-convert-llama2c-to-ggml, which make-models.sh uses for s15 and s110)
builds the whole model in one 2 GiB ggml context and aborts on a 4 GB
checkpoint ("not enough space in the context's memory pool"). This writes
the same kind of file -- GGUF v3 (ggml docs/gguf.md), architecture llama,
every tensor f32, the llama2.c vocabulary of TOKENIZER.bin -- one tensor at a
time from a memory map, so it needs no memory of the model's size. It is for
speed measurements (random weights): the weights are copied as llama2.c
stores them, without the q/k row permutation of Hugging Face conversions.
A shared classifier is written once (token_embd.weight; llama.cpp uses it
for the output when output.weight is absent).
"""
import argparse
import struct
import sys

import numpy as np

GGUF_UINT32, GGUF_INT32, GGUF_FLOAT32, GGUF_STRING, GGUF_ARRAY = 4, 5, 6, 8, 9
ALIGNMENT = 32


def gguf_string(s):
    b = s if isinstance(s, bytes) else s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def kv(key, gtype, value):
    out = gguf_string(key) + struct.pack("<I", gtype)
    if gtype == GGUF_STRING:
        return out + gguf_string(value)
    if gtype == GGUF_ARRAY:
        etype, items = value
        out += struct.pack("<IQ", etype, len(items))
        if etype == GGUF_STRING:
            return out + b"".join(gguf_string(x) for x in items)
        fmt = {GGUF_FLOAT32: "<f", GGUF_INT32: "<i"}[etype]
        return out + b"".join(struct.pack(fmt, x) for x in items)
    fmt = {GGUF_UINT32: "<I", GGUF_FLOAT32: "<f"}[gtype]
    return out + struct.pack(fmt, value)


def read_tokenizer(path, vocab):
    """llama2.c tokenizer.bin: max_token_length, then per token a float
    score, an int length and the bytes."""
    data = open(path, "rb").read()
    pos = 4
    tokens, scores, types = [], [], []
    for i in range(vocab):
        score, n = struct.unpack_from("<fi", data, pos)
        pos += 8
        # llama2.c's export wrote SentencePiece's U+2581 word marker as a
        # space; a GGUF vocabulary has the marker (as llama.cpp's converter
        # writes it), else " a" is 4 tokens instead of 1.
        piece = data[pos:pos + n].replace(b" ", "\u2581".encode())
        pos += n
        tokens.append(piece)
        scores.append(score)
        # llama.cpp token types: 1 normal, 2 unknown, 3 control, 6 byte
        # (as llama-convert-llama2c-to-ggml sets them).
        if i == 0:
            types.append(2)
        elif i in (1, 2):
            types.append(3)
        elif piece.startswith(b"<0x") and piece.endswith(b">") and len(piece) == 6:
            types.append(6)
        else:
            types.append(1)
    return tokens, scores, types


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("tokenizer")
    ap.add_argument("out")
    ap.add_argument("--context", type=int, help="llama.context_length (default: seq_len)")
    args = ap.parse_args()

    header = np.fromfile(args.model, dtype="<i4", count=7)
    dim, hidden, layers, heads, kv_heads, vocab, seq_len = (int(x) for x in header)
    shared = vocab > 0
    vocab = abs(vocab)
    hd = dim // heads
    kv_dim = kv_heads * hd
    w = np.memmap(args.model, dtype="<f4", mode="r", offset=28)

    # Tensors in llama2.c order: (canonical name, shape) per layer-major array.
    sizes = [("tok", (vocab, dim)), ("rms_att", (layers, dim)),
             ("wq", (layers, dim, dim)), ("wk", (layers, kv_dim, dim)),
             ("wv", (layers, kv_dim, dim)), ("wo", (layers, dim, dim)),
             ("rms_ffn", (layers, dim)), ("w1", (layers, hidden, dim)),
             ("w2", (layers, dim, hidden)), ("w3", (layers, hidden, dim)),
             ("rms_final", (dim,)), ("freq", (seq_len, hd)),  # real + imag
             ]
    arrays, pos = {}, 0
    for name, shape in sizes:
        n = int(np.prod(shape))
        arrays[name] = w[pos:pos + n].reshape(shape)
        pos += n
    if not shared:
        arrays["wcls"] = w[pos:pos + vocab * dim].reshape(vocab, dim)
        pos += vocab * dim
    if pos != w.size:
        sys.exit(f"llama2c_to_gguf: {args.model}: {w.size} floats after the header, "
                 f"the shape {tuple(header)} needs {pos}")

    tensors = [("token_embd.weight", arrays["tok"]),
               ("output_norm.weight", arrays["rms_final"])]
    if not shared:
        tensors.append(("output.weight", arrays["wcls"]))
    per_layer = [("attn_norm", "rms_att"), ("attn_q", "wq"), ("attn_k", "wk"),
                 ("attn_v", "wv"), ("attn_output", "wo"), ("ffn_norm", "rms_ffn"),
                 ("ffn_gate", "w1"), ("ffn_down", "w2"), ("ffn_up", "w3")]
    for l in range(layers):
        for gname, cname in per_layer:
            tensors.append((f"blk.{l}.{gname}.weight", arrays[cname][l]))

    tokens, scores, types = read_tokenizer(args.tokenizer, vocab)
    meta = [
        kv("general.architecture", GGUF_STRING, "llama"),
        kv("general.name", GGUF_STRING, "llama2c-random"),
        kv("llama.context_length", GGUF_UINT32, args.context or seq_len),
        kv("llama.embedding_length", GGUF_UINT32, dim),
        kv("llama.feed_forward_length", GGUF_UINT32, hidden),
        kv("llama.block_count", GGUF_UINT32, layers),
        kv("llama.attention.head_count", GGUF_UINT32, heads),
        kv("llama.attention.head_count_kv", GGUF_UINT32, kv_heads),
        kv("llama.attention.layer_norm_rms_epsilon", GGUF_FLOAT32, 1e-5),
        kv("llama.rope.dimension_count", GGUF_UINT32, hd),
        kv("tokenizer.ggml.model", GGUF_STRING, "llama"),
        kv("tokenizer.ggml.tokens", GGUF_ARRAY, (GGUF_STRING, tokens)),
        kv("tokenizer.ggml.scores", GGUF_ARRAY, (GGUF_FLOAT32, scores)),
        kv("tokenizer.ggml.token_type", GGUF_ARRAY, (GGUF_INT32, types)),
        kv("tokenizer.ggml.unknown_token_id", GGUF_UINT32, 0),
        kv("tokenizer.ggml.bos_token_id", GGUF_UINT32, 1),
        kv("tokenizer.ggml.eos_token_id", GGUF_UINT32, 2),
    ]
    head = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(meta)))
    for m in meta:
        head += m
    offset = 0
    for name, a in tensors:
        head += gguf_string(name) + struct.pack("<I", a.ndim)
        for d in reversed(a.shape):  # ggml: fastest-varying first
            head += struct.pack("<Q", d)
        head += struct.pack("<IQ", 0, offset)  # GGML_TYPE_F32
        offset += a.size * 4
        offset += (-offset) % ALIGNMENT
    head += b"\0" * ((-len(head)) % ALIGNMENT)
    with open(args.out, "wb") as fh:
        fh.write(head)
        for _, a in tensors:
            # One layer's matrix at a time (at most vocab x dim floats).
            fh.write(np.ascontiguousarray(a, dtype="<f4").tobytes())
            fh.write(b"\0" * ((-fh.tell()) % ALIGNMENT))


if __name__ == "__main__":
    main()
