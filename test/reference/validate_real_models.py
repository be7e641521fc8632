#!/usr/bin/python3
"""Validate the reference forward pass on the real models in /work/shared/models.

Checks (each prints PASS/FAIL; exit status 1 if any FAIL):
  1. stories260K (llama2.c .bin + tokenizer.bin): llama2.c's greedy loop, 200
     steps from BOS, decoded text == expected-greedy-200.txt byte for byte
     (fp32 and fp64).
  2. stories260K-gguf (tokenizer from the GGUF metadata): same text, and its
     logits equal those of the .bin (same weights).
  3. aidreams260K: prompt "Once upon a time" encoded with llama2.c BPE, 128
     steps including the prompt, text == the one quoted in its README.
  4. HF Llama layout: stories260K rewritten as config.json + model.safetensors
     with Q/K permuted as Hugging Face's conversion script does (half-style
     RoPE); logits must equal the interleaved-RoPE .bin run.
  5. tiny-gpt2: runs; logits agree with a naive numpy GPT-2 written here from
     the raw HF tensor names (Conv1D [in, out]).
Skips (exit 0, "SKIPPED: ...") when the shared models are absent.
"""

import json
import math
import os
import struct
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import reference as R  # noqa: E402
from ref_tokenizer import Llama2cTokenizer  # noqa: E402

torch.set_num_threads(1)
MODELS = os.environ.get("TFM_SHARED_MODELS", "/work/shared/models")
failures = []


def report(name, ok, detail=""):
    print("%s: %s%s" % ("PASS" if ok else "FAIL", name, (" -- " + detail) if detail else ""))
    if not ok:
        failures.append(name)


def llama2c_generate(model, tok, prompt_ids, steps):
    """llama2.c run.c generate(): `steps` forward calls counting the BOS position,
    prompt tokens forced, greedy after, stop if BOS is produced; returns bytes."""
    steps = min(steps, model.a["max_seq_len"])
    seq = [prompt_ids[0]]
    out = b""
    token = prompt_ids[0]
    for pos in range(steps):
        if pos < len(prompt_ids) - 1:
            nxt = prompt_ids[pos + 1]
        else:
            nxt = int(torch.argmax(model.forward(seq)[-1]))
        if nxt == 1:
            break
        out += Llama2cTokenizer.printable(tok.decode(token, nxt))
        token = nxt
        seq.append(nxt)
    return out, seq


def check_stories():
    d = os.path.join(MODELS, "stories260K")
    expected = open(os.path.join(d, "expected-greedy-200.txt"), "rb").read()
    if expected.endswith(b"\n"):
        expected = expected[:-1]
    arch, w = R.load(os.path.join(d, "model.bin"))
    tok = Llama2cTokenizer.from_bin(os.path.join(d, "tokenizer.bin"), arch["vocab_size"])
    seqs = {}
    for dtype in (torch.float32, torch.float64):
        m = R.Model(arch, w, dtype)
        text, seq = llama2c_generate(m, tok, [1], 200)
        seqs[dtype] = seq
        report("stories260K .bin greedy 200 == expected-greedy-200.txt (%s)" % str(dtype)[6:],
               text == expected, "%d tokens, %d bytes; got %r" % (len(seq), len(text), text[:80]))
    return arch, w, expected, seqs[torch.float32]


def check_gguf(bin_arch, bin_w, expected, seq):
    path = os.path.join(MODELS, "stories260K-gguf", "model.gguf")
    meta, _ = R.read_gguf_raw(path)
    arch, w = R.load(path)
    tok = Llama2cTokenizer.from_gguf_meta(meta)
    m = R.Model(arch, w)
    text, _ = llama2c_generate(m, tok, [tok.bos], 200)
    report("stories260K .gguf greedy 200 == expected-greedy-200.txt", text == expected,
           "arch from metadata: L=%d H=%d KV=%d hd=%d; got %r" % (
               arch["n_layers"], arch["n_heads"], arch["n_kv_heads"], arch["head_dim"], text[:80]))
    a = m.forward(seq).numpy()
    b = R.Model(bin_arch, bin_w).forward(seq).numpy()
    err = float(np.abs(a - b).max())
    report("stories260K .gguf logits == .bin logits over %d positions" % len(seq), err <= 1e-5 * np.abs(b).max(),
           "max abs err %.3g, max |logit| %.3g" % (err, np.abs(b).max()))


def check_aidreams():
    d = os.path.join(MODELS, "aidreams260K")
    readme = open(os.path.join(d, "README.md"), encoding="utf-8").read().splitlines()
    quoted = [l[4:] for l in readme if l.startswith("    ") and l.strip()]
    expected = quoted[-1].encode("utf-8")
    arch, w = R.load(os.path.join(d, "model.bin"))
    tok = Llama2cTokenizer.from_bin(os.path.join(d, "tokenizer.bin"), arch["vocab_size"])
    prompt = tok.encode("Once upon a time", bos=True)
    for dtype in (torch.float32, torch.float64):
        text, seq = llama2c_generate(R.Model(arch, w, dtype), tok, prompt, 128)
        report("aidreams260K 'Once upon a time' 128 steps == README text (%s)" % str(dtype)[6:],
               text == expected, "prompt ids %s; got %r" % (prompt, text))


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        raw = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def check_hf_llama(arch, w, seq):
    """HF convert_llama_weights_to_hf.py permutes Q/K rows so that half-style
    RoPE reproduces Meta's interleaved RoPE; do the same and compare."""
    def permute(m, heads):
        rows, cols = m.shape
        return m.reshape(heads, rows // heads // 2, 2, cols).transpose(0, 2, 1, 3).reshape(rows, cols)

    L, H, KV = arch["n_layers"], arch["n_heads"], arch["n_kv_heads"]
    t = {"model.embed_tokens.weight": w["tok_embeddings.weight"], "model.norm.weight": w["final_norm.weight"]}
    for l in range(L):
        p, q = "layers.%d." % l, "model.layers.%d." % l
        t[q + "input_layernorm.weight"] = w[p + "attn_norm.weight"]
        t[q + "post_attention_layernorm.weight"] = w[p + "ffn_norm.weight"]
        t[q + "self_attn.q_proj.weight"] = permute(w[p + "wq.weight"], H)
        t[q + "self_attn.k_proj.weight"] = permute(w[p + "wk.weight"], KV)
        t[q + "self_attn.v_proj.weight"] = w[p + "wv.weight"]
        t[q + "self_attn.o_proj.weight"] = w[p + "wo.weight"]
        t[q + "mlp.gate_proj.weight"] = w[p + "w1.weight"]
        t[q + "mlp.up_proj.weight"] = w[p + "w3.weight"]
        t[q + "mlp.down_proj.weight"] = w[p + "w2.weight"]
    cfg = {"architectures": ["LlamaForCausalLM"], "hidden_size": arch["dim"], "num_attention_heads": H,
           "num_key_value_heads": KV, "num_hidden_layers": L, "intermediate_size": arch["hidden_dim"],
           "vocab_size": arch["vocab_size"], "max_position_embeddings": arch["max_seq_len"],
           "rms_norm_eps": arch["norm_eps"], "rope_theta": arch["rope_theta"], "hidden_act": "silu",
           "tie_word_embeddings": True}
    with tempfile.TemporaryDirectory() as td:
        write_safetensors(os.path.join(td, "model.safetensors"), t)
        json.dump(cfg, open(os.path.join(td, "config.json"), "w"))
        harch, hw = R.load(td)
        a = R.Model(harch, hw).forward(seq).numpy()
    b = R.Model(arch, w).forward(seq).numpy()
    err = float(np.abs(a - b).max())
    report("HF Llama layout (half RoPE, permuted Q/K) logits == llama2.c (interleaved)",
           harch["rope_style"] == "half" and err <= 1e-5 * np.abs(b).max(),
           "max abs err %.3g over %d positions" % (err, len(seq)))
    # Negative control: the unpermuted weights with half-style RoPE must differ.
    bad = dict(arch, rope_style="half")
    c = R.Model(bad, w).forward(seq).numpy()
    report("negative control: interleaved weights with half RoPE differ",
           float(np.abs(c - b).max()) > 1e-3 * np.abs(b).max(),
           "max abs diff %.3g" % float(np.abs(c - b).max()))


def naive_gpt2(t, cfg, ids):
    """GPT-2 in numpy float64 straight from the HF state dict (Conv1D: x @ W + b)."""
    g = lambda n: t.get("transformer." + n, t.get(n)).astype(np.float64)
    E, H, eps = cfg["n_embd"], cfg["n_head"], cfg["layer_norm_epsilon"]
    hd = E // H

    def ln(x, n):
        mu = x.mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * g(n + ".weight") + g(n + ".bias")

    def gelu_new(x):
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * np.power(x, 3))))

    T = len(ids)
    x = g("wte.weight")[ids] + g("wpe.weight")[:T]
    for l in range(cfg["n_layer"]):
        p = "h.%d." % l
        a = ln(x, p + "ln_1") @ g(p + "attn.c_attn.weight")
        if any(k.endswith(p + "attn.c_attn.bias") for k in t):  # absent in the shared file
            a = a + g(p + "attn.c_attn.bias")
        q, k, v = np.split(a, 3, axis=-1)
        out = np.zeros((T, E))
        for h in range(H):
            sl = slice(h * hd, (h + 1) * hd)
            s = q[:, sl] @ k[:, sl].T / math.sqrt(hd)
            s = s + np.triu(np.full((T, T), -1e30), 1)
            s = np.exp(s - s.max(-1, keepdims=True))
            out[:, sl] = (s / s.sum(-1, keepdims=True)) @ v[:, sl]
        x = x + out @ g(p + "attn.c_proj.weight") + g(p + "attn.c_proj.bias")
        m = gelu_new(ln(x, p + "ln_2") @ g(p + "mlp.c_fc.weight") + g(p + "mlp.c_fc.bias"))
        x = x + m @ g(p + "mlp.c_proj.weight") + g(p + "mlp.c_proj.bias")
    return ln(x, "ln_f") @ g("wte.weight").T


def check_tiny_gpt2():
    d = os.path.join(MODELS, "tiny-gpt2")
    cfg = json.load(open(os.path.join(d, "config.json")))
    arch, w = R.load(d)
    ids = [15496, 11, 995, 0, 50256, 464, 2068]  # arbitrary ids spread over the vocabulary
    m32 = R.Model(arch, w)
    logits, gen = m32.greedy(ids, 3)
    ref = naive_gpt2(R.read_safetensors(os.path.join(d, "model.safetensors")), cfg, ids + gen[:3])
    err = float(np.abs(logits - ref).max())
    scale = float(np.abs(ref).max())
    print("tiny-gpt2: arch %s" % {k: arch[k] for k in ("dim", "n_layers", "n_heads", "hidden_dim",
                                                        "position", "norm", "activation", "tied_embeddings")})
    for r in range(logits.shape[0]):
        row = logits[r]
        print("  row %d: min %.6f max %.6f mean %.6f std %.6f argmax %d" % (
            r, row.min(), row.max(), row.mean(), row.std(), int(row.argmax())))
    report("tiny-gpt2 reference == naive numpy GPT-2 (HF Conv1D layout)",
           err <= 1e-5 * scale and list(ref.argmax(-1)) == list(logits.argmax(-1)),
           "max abs err %.3g, max |logit| %.3g, generated %s" % (err, scale, gen))


def main():
    need = ["stories260K/model.bin", "stories260K/tokenizer.bin", "stories260K/expected-greedy-200.txt",
            "stories260K-gguf/model.gguf", "aidreams260K/model.bin", "aidreams260K/tokenizer.bin",
            "aidreams260K/README.md", "tiny-gpt2/model.safetensors", "tiny-gpt2/config.json"]
    absent = [n for n in need if not os.path.exists(os.path.join(MODELS, n))]
    if absent:
        print("SKIPPED: shared models absent under %s (%s)" % (MODELS, ", ".join(absent)))
        return 0
    arch, w, expected, seq = check_stories()
    check_gguf(arch, w, expected, seq)
    check_aidreams()
    check_hf_llama(arch, w, seq)
    check_tiny_gpt2()
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
