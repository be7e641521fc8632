#!/usr/bin/python3
"""llama2c_v1.py LEGACY.bin OUT.bin [--version N] [--unshared]

Rewrites a legacy llama2.c checkpoint (7 x int32 header, fp32 arrays) in the
layout of llama2.c's export.py `version1_export`: u32 magic 0x616b3432
("ak42"), i32 version, the 7 int32 (vocab_size positive), u8
shared_classifier, zero padding to byte 256, then attention norms, ffn
norms, final norm, token embeddings, wq, wk, wv, wo, w1, w2, w3 (per layer)
and the classifier when not shared. Written from that description, with
its own reader of the legacy layout (run.c's memory_map_weights).
--version 2 writes only the header (the int8 format tfmc refuses);
--unshared writes the classifier explicitly (a copy of the embeddings) with
shared_classifier 0.
"""
import struct
import sys

import numpy as np

args = [a for a in sys.argv[1:] if not a.startswith("--")]
version = int(sys.argv[sys.argv.index("--version") + 1]) if "--version" in sys.argv else 1
if "--version" in sys.argv:
    args.remove(str(version))
unshared = "--unshared" in sys.argv
src, dst = args
raw = open(src, "rb").read()
dim, hidden, layers, heads, kv_heads, vocab, seq = struct.unpack("<7i", raw[:28])
shared = vocab > 0
vocab = abs(vocab)
head = dim // heads
w = np.frombuffer(raw[28:], dtype="<f4")
pos = 0


def take(*shape):
    global pos
    n = int(np.prod(shape))
    a = w[pos:pos + n].reshape(shape)
    pos += n
    return a


emb = take(vocab, dim)
att_norm = take(layers, dim)
wq = take(layers, dim, dim)
wk = take(layers, kv_heads * head, dim)
wv = take(layers, kv_heads * head, dim)
wo = take(layers, dim, dim)
ffn_norm = take(layers, dim)
w1 = take(layers, hidden, dim)
w2 = take(layers, dim, hidden)
w3 = take(layers, hidden, dim)
final_norm = take(dim)
take(seq, head // 2)
take(seq, head // 2)
cls = emb if shared else take(vocab, dim)
assert pos == w.size, "legacy file size does not match its header"

header = struct.pack("<Ii7iB", 0x616B3432, version, dim, hidden, layers, heads,
                     kv_heads, vocab, seq, int(shared and not unshared))
with open(dst, "wb") as out:
    out.write(header + b"\0" * (256 - len(header)))
    if version != 1:
        sys.exit(0)
    for a in (att_norm, ffn_norm, final_norm, emb, wq, wk, wv, wo, w1, w2, w3):
        out.write(np.ascontiguousarray(a, dtype="<f4").tobytes())
    if unshared or not shared:
        out.write(np.ascontiguousarray(cls, dtype="<f4").tobytes())
