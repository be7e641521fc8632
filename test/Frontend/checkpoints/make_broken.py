#!/usr/bin/python3
"""Writes a corpus of broken checkpoints and a manifest of expected errors.

Usage: make_broken.py OUTDIR
Writes OUTDIR/<case>.{bin,gguf} or OUTDIR/<case>/ (safetensors directories)
and OUTDIR/manifest.json: [{"name", "path", "expect": [fragments]}]. Every
case must fail to import with a message containing each fragment. Byte
offsets in the fragments come from the writer's own layout (write_gguf's
returned offsets, the llama2.c order), not from tfmc.
"""

import copy
import json
import os
import shutil
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures"))
import write_checkpoint as wc  # noqa: E402

CASES = []


def case(name, path, *expect):
    CASES.append({"name": name, "path": os.path.basename(path.rstrip("/")), "expect": list(expect)})


def patch(data, offset, fmt, value):
    b = bytearray(data)
    struct.pack_into(fmt, b, offset, value)
    return bytes(b)


def put(path, data):
    with open(path, "wb") as fh:
        fh.write(data)


def llama2c_cases(out):
    cfg = dict(wc.LLAMA_CFG)
    w = wc.random_weights(cfg, 11, "llama2c")
    base = os.path.join(out, "_base.bin")
    wc.write_llama2c(base, cfg, w)
    data = open(base, "rb").read()
    os.remove(base)
    v, d = cfg["vocab_size"], cfg["dim"]
    emb_end = 28 + 4 * v * d

    p = os.path.join(out, "l2c-short-header.bin"); put(p, data[:20])
    case("l2c-short-header", p, "header needs 28 bytes")
    p = os.path.join(out, "l2c-truncated.bin"); put(p, data[:emb_end + 10])
    case("l2c-truncated", p, "file truncated", "rms_att_weight.0 [%d] starts at byte %d" % (d, emb_end))
    p = os.path.join(out, "l2c-trailing.bin"); put(p, data + b"\0" * 12)
    case("l2c-trailing", p, "12 unexpected bytes from byte %d" % len(data))
    p = os.path.join(out, "l2c-heads.bin"); put(p, patch(data, 12, "<i", 5))
    case("l2c-heads", p, "n_heads at byte 12")
    p = os.path.join(out, "l2c-kvheads.bin"); put(p, patch(data, 16, "<i", 3))
    case("l2c-kvheads", p, "n_kv_heads at byte 16")
    p = os.path.join(out, "l2c-zero-dim.bin"); put(p, patch(data, 0, "<i", 0))
    case("l2c-zero-dim", p, "dim at byte 0 is 0")
    p = os.path.join(out, "l2c-negative-layers.bin"); put(p, patch(data, 8, "<i", -2))
    case("l2c-negative-layers", p, "n_layers at byte 8 is -2")
    p = os.path.join(out, "l2c-huge-layers.bin"); put(p, patch(data, 8, "<i", 2**31 - 1))
    case("l2c-huge-layers", p, "file truncated")
    p = os.path.join(out, "l2c-untied-missing.bin"); put(p, patch(data, 20, "<i", -v))
    case("l2c-untied-missing", p, "file truncated: wcls")


def gguf_cases(out):
    cfg = dict(wc.LLAMA_CFG, shared_classifier=False)
    w = wc.random_weights(cfg, 12, "gguf")
    meta = wc.gguf_metadata(cfg, "llama")

    def write(name, metadata=meta, tensors=w, **kw):
        p = os.path.join(out, name + ".gguf")
        return p, wc.write_gguf(p, "llama", metadata, tensors, **kw)

    base, L = write("_base")
    data = open(base, "rb").read()
    os.remove(base)

    def corrupt(name, offset, fmt, value, *expect):
        p = os.path.join(out, name + ".gguf")
        put(p, patch(data, offset, fmt, value))
        case(name, p, *expect)

    p = os.path.join(out, "gguf-bad-magic.gguf"); put(p, b"GGUX" + data[4:])
    case("gguf-bad-magic", p, "bad magic", "at byte 0")
    corrupt("gguf-version1", 4, "<I", 1, "unsupported GGUF version 1", "at byte 4")
    corrupt("gguf-version4", 4, "<I", 4, "unsupported GGUF version 4")
    p = os.path.join(out, "gguf-short.gguf"); put(p, data[:12])
    case("gguf-short", p, "file truncated", "tensor count")
    corrupt("gguf-tensor-count", 8, "<Q", 2**40, "tensor count 1099511627776", "at byte 8")
    corrupt("gguf-kv-count", 16, "<Q", 2**62, "metadata count 4611686018427387904", "at byte 16")
    key0 = next(iter(L["kv"].values()))
    corrupt("gguf-key-length", key0[0], "<Q", 2**62,
            "metadata key length 4611686018427387904", "at byte %d" % key0[0])
    koff, toff, voff = L["kv"]["tokenizer.ggml.tokens"]
    corrupt("gguf-array-count", voff + 4, "<Q", 2**61,
            "array count 2305843009213693952", "at byte %d" % (voff + 4))
    corrupt("gguf-value-type", L["kv"]["llama.block_count"][1], "<I", 99,
            "unknown metadata value type 99", "at byte %d" % L["kv"]["llama.block_count"][1])
    # The 5th string of the token array: its length runs past the end.
    s = voff + 12
    for _ in range(4):
        s += 8 + struct.unpack_from("<Q", data, s)[0]
    corrupt("gguf-string-length", s, "<Q", 10**9, "array string length 1000000000", "at byte %d" % s)
    ti = L["tensor_info"]
    corrupt("gguf-ndims", ti["blk.0.attn_q.weight"]["n_dims"], "<I", 7,
            "tensor 'blk.0.attn_q.weight' has 7 dimensions", "at byte %d" % ti["blk.0.attn_q.weight"]["n_dims"])
    corrupt("gguf-zero-dim", ti["output_norm.weight"]["dims"], "<Q", 0,
            "tensor 'output_norm.weight' has a zero dimension")
    off_at = ti["blk.1.attn_k.weight"]["offset"]
    rel = struct.unpack_from("<Q", data, off_at)[0]
    corrupt("gguf-unaligned", off_at, "<Q", rel + 4,
            "not a multiple of the alignment 32", "at byte %d" % off_at)
    corrupt("gguf-offset-past-end", off_at, "<Q", 2**40,
            "tensor 'blk.1.attn_k.weight' data", "past the end", "at byte %d" % off_at)
    # Tensors whose data overlap (issue 13, finding 7): one tensor moved onto
    # another's data, and every tensor at offset 0.
    names = list(ti)
    q_at = ti["blk.1.attn_q.weight"]["offset"]
    corrupt("gguf-overlap", off_at, "<Q", struct.unpack_from("<Q", data, q_at)[0],
            "tensor 'blk.1.attn_k.weight' data", "overlaps tensor 'blk.1.attn_q.weight'",
            "at byte %d" % off_at)
    b = bytearray(data)
    for n in names:
        struct.pack_into("<Q", b, ti[n]["offset"], 0)
    p = os.path.join(out, "gguf-all-at-zero.gguf"); put(p, bytes(b))
    case("gguf-all-at-zero", p, "tensor '%s' data" % names[1], "overlaps tensor '%s'" % names[0],
         "at byte %d" % ti[names[1]]["offset"])
    corrupt("gguf-unknown-type", ti["output_norm.weight"]["type"], "<I", 99,
            "unknown ggml type 99", "at byte %d" % ti["output_norm.weight"]["type"])
    # q8_1: a type ggml names but only uses for activations, so no file
    # tfmc should read carries it.
    corrupt("gguf-q8_1-type", ti["output_norm.weight"]["type"], "<I", 9,
            "'output_norm.weight'", "type q8_1, which tfmc cannot read")
    # Cut the last tensor short.
    last = list(L["tensor_data"])[-1]
    p = os.path.join(out, "gguf-truncated-data.gguf"); put(p, data[:L["tensor_data"][last][0] + 8])
    case("gguf-truncated-data", p, "tensor '%s' data" % last, "past the end",
         "at byte %d" % ti[last]["offset"])
    # Metadata disagreeing with the tensors.
    m = dict(meta); m["llama.embedding_length"] = 48
    p, _ = write("gguf-dim-mismatch", m)
    case("gguf-dim-mismatch", p, "token_embd.weight", "expected [vocab, 48]")
    m = dict(meta); m["llama.block_count"] = 3
    p, _ = write("gguf-too-many-blocks", m)
    case("gguf-too-many-blocks", p, "tensor 'blk.2.attn_norm.weight' not found")
    m = dict(meta); m["llama.attention.head_count_kv"] = 4
    p, lay = write("gguf-kv-mismatch", m)
    case("gguf-kv-mismatch", p, "weight 'layers.0.wk.weight' [32, 32]",
         "tensor 'blk.0.attn_k.weight' (data at byte %d) has shape [16, 32]" % lay["tensor_data"]["blk.0.attn_k.weight"][0])
    m = dict(meta); m["llama.feed_forward_length"] = 48
    p, lay = write("gguf-ffn-mismatch", m)
    case("gguf-ffn-mismatch", p, "weight 'layers.0.w1.weight' [48, 32]", "has shape [64, 32]")
    m = dict(meta); del m["llama.block_count"]
    p, _ = write("gguf-missing-key", m)
    case("gguf-missing-key", p, "missing metadata key 'llama.block_count'")
    m = dict(meta); m["llama.block_count"] = "two"
    p, lay = write("gguf-key-type", m)
    case("gguf-key-type", p, "'llama.block_count' at byte %d has type string" % lay["kv"]["llama.block_count"][0])
    m = dict(meta); m["tokenizer.ggml.tokens"] = m["tokenizer.ggml.tokens"][:-1]
    p, _ = write("gguf-vocab-mismatch", m)
    case("gguf-vocab-mismatch", p, "has 39 tokens but token_embd.weight has 40 rows")
    m = dict(meta); m["general.alignment"] = ("uint32", 24)
    p, lay = write("gguf-alignment", m, alignment=32)
    case("gguf-alignment", p, "general.alignment 24 is not a power of two")
    m = dict(meta); m["general.alignment"] = ("uint64", 32)
    p, _ = write("gguf-alignment-type", m)
    case("gguf-alignment-type", p, "general.alignment must be uint32")
    m = dict(meta); m["general.architecture"] = "bert"
    p, _ = write("gguf-arch", m)
    case("gguf-arch", p, "general.architecture 'bert' is not supported")
    t = dict(w); t["output.weight"] = w["output.weight"][:, :16].copy()
    p, lay = write("gguf-head-shape", tensors=t)
    case("gguf-head-shape", p, "weight 'lm_head.weight' [40, 32]", "has shape [40, 16]")
    # Above the documented limit (docs/limits.md), below the reader's own.
    m = dict(meta); m["llama.context_length"] = 2**25
    p, _ = write("gguf-huge-context", m)
    case("gguf-huge-context", p, "context is 33554432, above the limit 16777216")


def st_cases(out):
    def make_dir(name, cfg, seed, tensors=None, config=None, raw=None):
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        w = tensors if tensors is not None else wc.random_weights(cfg, seed, "safetensors")
        if raw is not None:
            put(os.path.join(d, "model.safetensors"), raw)
        else:
            wc.write_safetensors(os.path.join(d, "model.safetensors"), w)
        if config is not False:
            with open(os.path.join(d, "config.json"), "w") as fh:
                json.dump(config if config is not None else wc.hf_config(cfg), fh)
        return d

    gcfg, lcfg = dict(wc.GPT2_CFG), dict(wc.LLAMA_CFG)
    gw = wc.random_weights(gcfg, 13, "safetensors")

    def raw_file(header, blob):
        text = json.dumps(header).encode()
        return struct.pack("<Q", len(text)) + text + blob

    # A valid header + data to corrupt.
    hdr, blob, pos = {}, b"", 0
    for n, a in gw.items():
        b = np.ascontiguousarray(a, "<f4").tobytes()
        hdr[n] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [pos, pos + len(b)]}
        blob += b
        pos += len(b)
    good = raw_file(hdr, blob)

    d = make_dir("st-short", gcfg, 0, raw=good[:5])
    case("st-short", d, "safetensors needs an 8-byte header length")
    d = make_dir("st-header-length", gcfg, 0, raw=struct.pack("<Q", len(good)) + good[8:])
    case("st-header-length", d, "header length %d at byte 0 exceeds" % len(good))
    text = json.dumps(hdr).encode()
    d = make_dir("st-bad-json", gcfg, 0, raw=struct.pack("<Q", len(text)) + text[:-1] + b"!" + blob)
    case("st-bad-json", d, "invalid JSON header")
    h = copy.deepcopy(hdr); h["transformer.ln_f.bias"]["data_offsets"][1] = pos + 1000
    d = make_dir("st-past-end", gcfg, 0, raw=raw_file(h, blob))
    case("st-past-end", d, "tensor 'transformer.ln_f.bias'", "past the end of the")
    h = copy.deepcopy(hdr); h["transformer.wte.weight"]["shape"] = [gcfg["vocab_size"], gcfg["dim"] + 1]
    d = make_dir("st-shape-bytes", gcfg, 0, raw=raw_file(h, blob))
    case("st-shape-bytes", d, "tensor 'transformer.wte.weight'", "needs %d bytes but data_offsets" % (4 * gcfg["vocab_size"] * (gcfg["dim"] + 1)))
    h = copy.deepcopy(hdr)
    h["transformer.wpe.weight"]["data_offsets"] = [x - 8 for x in h["transformer.wpe.weight"]["data_offsets"]]
    d = make_dir("st-overlap", gcfg, 0, raw=raw_file(h, blob))
    case("st-overlap", d, "'transformer.wte.weight'", "'transformer.wpe.weight'", "overlap")
    h = copy.deepcopy(hdr); h["transformer.ln_f.bias"]["dtype"] = "I64"
    h["transformer.ln_f.bias"]["shape"] = [gcfg["dim"] // 2]
    d = make_dir("st-dtype", gcfg, 0, raw=raw_file(h, blob))
    case("st-dtype", d, "dtype I64")
    d = make_dir("st-truncated", gcfg, 0, raw=good[:-40])
    case("st-truncated", d, "tensor 'transformer.ln_f.bias'", "past the end")
    c = wc.hf_config(gcfg); del c["n_embd"]
    d = make_dir("st-missing-n-embd", gcfg, 13, config=c)
    case("st-missing-n-embd", d, "config.json: missing key 'n_embd'")
    c = wc.hf_config(lcfg); del c["hidden_size"]
    d = make_dir("st-missing-hidden-size", lcfg, 14, config=c)
    case("st-missing-hidden-size", d, "config.json: missing key 'hidden_size'")
    c = wc.hf_config(lcfg); del c["architectures"]; del c["model_type"]
    d = make_dir("st-missing-arch", lcfg, 14, config=c)
    case("st-missing-arch", d, "missing key 'architectures'")
    c = wc.hf_config(lcfg); c["architectures"] = ["BertModel"]
    d = make_dir("st-arch", lcfg, 14, config=c)
    case("st-arch", d, "architecture 'BertModel' is not supported")
    c = wc.hf_config(lcfg); c["intermediate_size"] = 48
    d = make_dir("st-ffn-mismatch", lcfg, 14, config=c)
    case("st-ffn-mismatch", d, "weight 'layers.0.w1.weight' [48, 32]",
         "tensor 'model.layers.0.mlp.gate_proj.weight'", "has shape [64, 32]")
    c = wc.hf_config(gcfg); c["n_head"] = 3
    d = make_dir("st-heads", gcfg, 13, config=c)
    case("st-heads", d, "n_head (3) does not divide n_embd (16)")
    t = dict(gw); del t["transformer.h.1.mlp.c_fc.bias"]
    d = make_dir("st-missing-tensor", gcfg, 0, tensors=t)
    case("st-missing-tensor", d, "weight 'layers.1.w1.bias'", "tensor 'transformer.h.1.mlp.c_fc.bias' not found")
    t = dict(gw); t["transformer.h.0.attn.c_attn.weight"] = gw["transformer.h.0.attn.c_attn.weight"][:, :47].copy()
    d = make_dir("st-qkv-split", gcfg, 0, tensors=t)
    case("st-qkv-split", d, "tensor 'transformer.h.0.attn.c_attn.weight'", "does not split into 3 equal parts")
    d = make_dir("st-no-config", gcfg, 13, config=False)
    case("st-no-config", d, "config.json: cannot open")
    # Sizes above the documented limits (docs/limits.md): 2^58 overflowed
    # the KV cache size (SIGBUS), 2^58 + 1 reached MLIR unchecked; 4 * 2^62,
    # GPT-2's default n_inner, overflowed in the reader.
    for n in (2**58, 2**58 + 1):
        c = wc.hf_config(lcfg); c["max_position_embeddings"] = n
        d = make_dir("st-context-%d" % n, lcfg, 14, config=c)
        case("st-context-%d" % n, d, "context is %d, above the limit 16777216" % n)
    c = wc.hf_config(gcfg); c["n_embd"] = 2**62
    d = make_dir("st-huge-n-embd", gcfg, 13, config=c)
    case("st-huge-n-embd", d, "dim is %d, above the limit 65536" % 2**62)
    # Values every frontend checks alike (validateSpec): were accepted from
    # config.json and made every logit NaN (issue 13, finding 9).
    c = wc.hf_config(lcfg); c["rms_norm_eps"] = -1
    d = make_dir("st-negative-eps", lcfg, 14, config=c)
    case("st-negative-eps", d, "config.json: rms_norm_eps: 'eps' must be between 0 and 1 (exclusive), found -1")
    c = wc.hf_config(lcfg); c["rope_theta"] = -5
    d = make_dir("st-negative-theta", lcfg, 14, config=c)
    case("st-negative-theta", d, "config.json: rope_theta: 'theta' must be positive, found -5")
    c = wc.hf_config(gcfg); c["layer_norm_epsilon"] = 0
    d = make_dir("st-zero-eps", gcfg, 13, config=c)
    case("st-zero-eps", d, "config.json: layer_norm_epsilon: 'eps' must be between 0 and 1 (exclusive), found 0")


def main(argv):
    out = argv[1]
    if os.path.isdir(out):
        shutil.rmtree(out)
    wc.write_corpus(out, (llama2c_cases, gguf_cases, st_cases), CASES, "manifest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
