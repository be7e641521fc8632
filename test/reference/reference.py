#!/usr/bin/python3
"""Independent PyTorch reference forward pass (the tfmc oracle).

This module shares no code with tfmc.  It is written from the architecture
descriptions (Vaswani et al. 2017, GPT-2 / Hugging Face, llama2.c, GGUF, ALiBi
reference code) and reads checkpoint files with its own readers.

Usage
-----
    reference.py MODEL [--arch A.json] [--names N.json] [--weights W]
                 [--tokens 1,2,3 | --prompt-ids-file F] [--steps N]
                 [--logits-out F] [--greedy] [--fp64] [--dump-arch]

MODEL is one of
  * a llama2.c checkpoint ``*.bin`` (legacy 7 x int32 header),
  * a GGUF v2/v3 file ``*.gguf`` (llama or gpt2 architecture; F32/F16/BF16/Q8_0/Q4_0/Q4_1/Q5_0/Q5_1/
    Q2_K/Q3_K/Q4_K/Q5_K/Q6_K),
  * a Hugging Face directory (``config.json`` + ``*.safetensors``) or a
    ``*.safetensors`` file next to a ``config.json`` whose ``architectures`` is
    LlamaForCausalLM or GPT2LMHeadModel,
  * a ``.tfm`` description (translated by tfm_to_arch.py; the architecture
    comes from the description, the weights from its ``weights = ...``
    source or from ``--weights FILE``, required for ``random(seed)``),
  * any other ``*.safetensors`` file together with ``--arch A.json`` and
    optionally ``--names N.json`` (canonical name -> stored name, or
    canonical name -> {"name": stored, "split": {"axis": A, "index": I,
    "count": C}, "transpose": true}; split first, then transpose).  Without --names
    the file must use the canonical names listed below.

For formats that carry the architecture, it is inferred; keys present in an
``--arch`` file then override the inferred values.

Semantics of the run: the prompt (default: ``1``) is evaluated, giving one
logits row per prompt position.  Then ``--steps N`` greedy decode steps follow:
step k feeds the argmax of the previous row at the next position and produces
one more row.  ``--logits-out F`` writes all ``P + N`` rows as raw
little-endian float32, row-major ``[P + N, vocab]``.  stdout gets one line with
the ``N + 1`` generated ids (comma separated): the argmax of the last prompt row
followed by the argmax of every decode row (the first N of them were fed back).
Decoding re-runs the full prefix at every step (no KV cache), so every row is
the plain causal forward pass of the sequence so far; there is no EOS stop.
With ``"causal": false`` the prompt's rows see the whole prompt (it is one
call in tfmc, which prefills it at once) and each decode row sees the past.

Architecture JSON
-----------------
All keys (defaults in brackets):

    vocab_size       int
    dim              int                model width
    n_layers         int
    n_heads          int
    n_kv_heads       int [n_heads]      MHA = n_heads, GQA < n_heads, MQA = 1;
                                        query head h uses kv head h // (n_heads/n_kv_heads)
    head_dim         int [dim/n_heads]
    hidden_dim       int                FFN width
    max_seq_len      int [4096]         context length (learned positions need it)
    embedding_scale  float | "sqrt_dim" [1.0]   multiplies the token embedding
    position         "none" | "sinusoidal" | "learned" | "rope" | "alibi" ["rope"]
    sinusoidal_base  float [10000.0]    PE[p,2i]=sin(p/base^(2i/dim)), PE[p,2i+1]=cos(..), added
    rope_theta       float [10000.0]
    rope_style       "interleaved" | "half" ["interleaved"]
                     interleaved: pairs (x[2j], x[2j+1]) (llama2.c, GGUF llama)
                     half:        pairs (x[j], x[j+r/2]) (Hugging Face Llama, NeoX)
                     both use angle p * theta^(-2j/r), j in [0, r/2)
    rope_dim         int [head_dim]     rotate only the first rope_dim dims of a head
    norm             "rmsnorm" | "layernorm" ["rmsnorm"]
    norm_eps         float [1e-5]
    norm_bias        bool [true for layernorm, false for rmsnorm]
    norm_placement   "pre" | "post" ["pre"]
                     pre:  x = x + f(norm(x));  post: x = norm(x + f(x))
    attn_qkv_bias    bool [false]
    attn_out_bias    bool [false]
    attn_scale       float [1/sqrt(head_dim)]
    activation       "silu" | "gelu" | "gelu_tanh" | "relu" ["silu"]
                     gelu = exact erf form, gelu_tanh = GPT-2 gelu_new
    ffn_gated        bool [true]        gated: w2(act(w1 x) * (w3 x)); else w2(act(w1 x))
    ffn_bias         bool [false]       biases on w1/w3/w2
    final_norm       bool [true]
    tied_embeddings  bool [true]        LM head = tok_embeddings.weight
    causal           bool [true]        false: the prompt's rows see the whole prompt

ALiBi uses the slopes of the ALiBi reference code (geometric 2^(-8/n) for n a
power of two; otherwise the closest power of two plus every other slope of
the doubled count) and adds -slope_h * (i - j) to score (i, j), j <= i.

Canonical weight names (PyTorch [out, in] layout):

    tok_embeddings.weight [vocab, dim]        pos_embeddings.weight [ctx, dim]
    layers.{i}.attn_norm.weight/.bias [dim]
    layers.{i}.wq.weight [heads*hd, dim] (+.bias)
    layers.{i}.wk.weight, wv.weight [kv_heads*hd, dim] (+.bias)
    layers.{i}.wo.weight [dim, heads*hd] (+.bias)
    layers.{i}.ffn_norm.weight/.bias [dim]
    layers.{i}.w1.weight [hidden, dim] (+.bias)   gate if gated, up otherwise
    layers.{i}.w3.weight [hidden, dim] (+.bias)   up (gated only)
    layers.{i}.w2.weight [dim, hidden] (+.bias)
    final_norm.weight/.bias [dim]             lm_head.weight [vocab, dim]
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

torch.set_num_threads(1)

# --------------------------------------------------------------------------
# Architecture
# --------------------------------------------------------------------------

ARCH_DEFAULTS = {
    "n_kv_heads": None,
    "head_dim": None,
    "max_seq_len": 4096,
    "embedding_scale": 1.0,
    "position": "rope",
    "sinusoidal_base": 10000.0,
    "rope_theta": 10000.0,
    "rope_style": "interleaved",
    "rope_dim": None,
    "norm": "rmsnorm",
    "norm_eps": 1e-5,
    "norm_bias": None,
    "norm_placement": "pre",
    "attn_qkv_bias": False,
    "attn_out_bias": False,
    "attn_scale": None,
    "activation": "silu",
    "ffn_gated": True,
    "ffn_bias": False,
    "final_norm": True,
    "tied_embeddings": True,
    "causal": True,
}
ARCH_REQUIRED = ["vocab_size", "dim", "n_layers", "n_heads", "hidden_dim"]
ENUMS = {
    "position": {"none", "sinusoidal", "learned", "rope", "alibi"},
    "rope_style": {"interleaved", "half"},
    "norm": {"rmsnorm", "layernorm"},
    "norm_placement": {"pre", "post"},
    "activation": {"silu", "gelu", "gelu_tanh", "relu"},
}


def complete_arch(arch):
    """Fill defaults and check an architecture dict; returns a new dict."""
    unknown = set(arch) - set(ARCH_DEFAULTS) - set(ARCH_REQUIRED)
    if unknown:
        raise ValueError("unknown architecture keys: %s" % sorted(unknown))
    for k in ARCH_REQUIRED:
        if k not in arch:
            raise ValueError("architecture lacks required key %r" % k)
    a = dict(ARCH_DEFAULTS)
    a.update(arch)
    if a["n_kv_heads"] is None:
        a["n_kv_heads"] = a["n_heads"]
    if a["head_dim"] is None:
        if a["dim"] % a["n_heads"]:
            raise ValueError("dim %d not divisible by n_heads %d" % (a["dim"], a["n_heads"]))
        a["head_dim"] = a["dim"] // a["n_heads"]
    if a["rope_dim"] is None:
        a["rope_dim"] = a["head_dim"]
    if a["norm_bias"] is None:
        a["norm_bias"] = a["norm"] == "layernorm"
    for k, allowed in ENUMS.items():
        if a[k] not in allowed:
            raise ValueError("%s=%r not in %s" % (k, a[k], sorted(allowed)))
    if a["n_heads"] % a["n_kv_heads"]:
        raise ValueError("n_heads must be a multiple of n_kv_heads")
    if a["position"] == "rope" and (a["rope_dim"] % 2 or a["rope_dim"] > a["head_dim"]):
        raise ValueError("rope_dim must be even and <= head_dim")
    if a["position"] == "sinusoidal" and a["dim"] % 2:
        raise ValueError("sinusoidal positions need an even dim")
    if a["embedding_scale"] == "sqrt_dim":
        a["embedding_scale"] = math.sqrt(a["dim"])
    a["embedding_scale"] = float(a["embedding_scale"])
    return a


def expected_shapes(a):
    """Canonical name -> shape for every weight the architecture needs."""
    d, hd, V, F = a["dim"], a["head_dim"], a["vocab_size"], a["hidden_dim"]
    qd, kd = a["n_heads"] * hd, a["n_kv_heads"] * hd
    s = {"tok_embeddings.weight": (V, d)}
    if a["position"] == "learned":
        s["pos_embeddings.weight"] = (a["max_seq_len"], d)

    def norm(prefix):
        s[prefix + ".weight"] = (d,)
        if a["norm_bias"]:
            s[prefix + ".bias"] = (d,)

    for i in range(a["n_layers"]):
        p = "layers.%d." % i
        norm(p + "attn_norm")
        for n, rows in (("wq", qd), ("wk", kd), ("wv", kd)):
            s[p + n + ".weight"] = (rows, d)
            if a["attn_qkv_bias"]:
                s[p + n + ".bias"] = (rows,)
        s[p + "wo.weight"] = (d, qd)
        if a["attn_out_bias"]:
            s[p + "wo.bias"] = (d,)
        norm(p + "ffn_norm")
        ffn = [("w1", (F, d)), ("w2", (d, F))] + ([("w3", (F, d))] if a["ffn_gated"] else [])
        for n, shp in ffn:
            s[p + n + ".weight"] = shp
            if a["ffn_bias"]:
                s[p + n + ".bias"] = (shp[0],)
    if a["final_norm"]:
        norm("final_norm")
    if not a["tied_embeddings"]:
        s["lm_head.weight"] = (V, d)
    return s


# --------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------

def alibi_slopes(n):
    """Slopes as in the ALiBi reference implementation (ofirpress/attention_with_linear_biases)."""
    def pow2(n):
        start = 2.0 ** (-(2.0 ** -(math.log2(n) - 3)))
        return [start * start ** i for i in range(n)]
    if math.log2(n).is_integer():
        return pow2(n)
    c = 2 ** math.floor(math.log2(n))
    return pow2(c) + alibi_slopes(2 * c)[0::2][: n - c]


def sinusoidal_table(T, d, base, dtype):
    pos = torch.arange(T, dtype=torch.float64)[:, None]
    two_i = torch.arange(0, d, 2, dtype=torch.float64)[None, :]
    ang = pos / torch.pow(torch.tensor(base, dtype=torch.float64), two_i / d)
    pe = torch.zeros(T, d, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(ang)
    pe[:, 1::2] = torch.cos(ang)
    return pe.to(dtype)


def apply_rope(x, theta, style, rdim):
    """x: [T, H, hd]; rotate the first rdim dims of every head at positions 0..T-1."""
    T = x.shape[0]
    j = torch.arange(rdim // 2, dtype=torch.float64)
    freq = torch.pow(torch.tensor(theta, dtype=torch.float64), -2.0 * j / rdim)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * freq[None, :]  # [T, r/2]
    cos = torch.cos(ang).to(x.dtype)[:, None, :]
    sin = torch.sin(ang).to(x.dtype)[:, None, :]
    r, rest = x[..., :rdim], x[..., rdim:]
    if style == "interleaved":
        a, b = r[..., 0::2], r[..., 1::2]
        out = torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2)
    else:
        a, b = r[..., : rdim // 2], r[..., rdim // 2:]
        out = torch.cat((a * cos - b * sin, a * sin + b * cos), dim=-1)
    return torch.cat((out, rest), dim=-1)


def activation(x, kind):
    if kind == "silu":
        return x * torch.sigmoid(x)
    if kind == "relu":
        return torch.clamp(x, min=0)
    if kind == "gelu":
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    if kind == "gelu_tanh":
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    raise ValueError(kind)


class Model:
    """A decoder-only transformer given an arch dict and canonical weights."""

    def __init__(self, arch, weights, dtype=torch.float32):
        self.a = complete_arch(arch)
        self.dtype = dtype
        need = expected_shapes(self.a)
        missing = [k for k in need if k not in weights]
        if missing:
            raise ValueError("missing weights: %s" % missing[:8])
        self.w = {}
        for k, shp in need.items():
            t = torch.from_numpy(np.array(weights[k], dtype=np.float64 if dtype == torch.float64 else np.float32))
            if tuple(t.shape) != tuple(shp):
                raise ValueError("weight %s has shape %s, expected %s" % (k, tuple(t.shape), shp))
            self.w[k] = t.to(dtype)
        self.unused = sorted(set(weights) - set(need))
        self.record = None  # a list: attention() appends each layer's [H, T, T]
        self.prefix = 0  # non-causal: the rows [0, prefix) see each other
        # > 0: the arithmetic of tfmc's q8_0 layers with integer dot products
        # (--int8-activations P), see product(); the LM head's activations
        # with head_bits (--head-activation-bits: tfmc's auto takes 16).
        self.int8_tile = 0
        self.head_bits = 8

    def norm(self, x, prefix):
        a, w = self.a, self.w
        eps = a["norm_eps"]
        if a["norm"] == "rmsnorm":
            y = x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps)
        else:
            mu = x.mean(-1, keepdim=True)
            var = ((x - mu) ** 2).mean(-1, keepdim=True)
            y = (x - mu) / torch.sqrt(var + eps)
        y = y * w[prefix + ".weight"]
        if a["norm_bias"]:
            y = y + w[prefix + ".bias"]
        return y

    def product(self, x, w, bits=8):
        """x @ w.T; with int8_tile = P and K a multiple of 32, the output
        columns of whole P-column tiles see x quantized per block of 32 as
        tfmc's integer dot products do (llama.cpp's quantize_row_q8_0, d kept
        in f32, rounding half to even; with bits = 16 d = max|x| / 32767 and
        int16 values), the tail of N mod P columns x itself. The integer
        sums of the weights' values are exact, so this is their result."""
        K, N, P = x.shape[-1], w.shape[0], self.int8_tile
        full = N // P * P if P else 0
        if not full or K % 32:
            return x @ w.t()
        levels = np.float32(127 if bits == 8 else 32767)
        b = x.numpy().astype(np.float32).reshape(-1, K // 32, 32)
        amax = np.abs(b).max(-1, keepdims=True)
        d = amax / levels
        with np.errstate(divide="ignore"):
            inv = np.where(amax == 0, np.float32(0), levels / amax)
        q = np.rint(b * inv.astype(np.float32))
        xq = torch.from_numpy((q * d).reshape(x.shape)).to(x.dtype)
        y = x @ w.t()
        y[..., :full] = xq @ w[:full].t()
        return y

    def linear(self, x, name, bias):
        y = self.product(x, self.w[name + ".weight"])
        if bias:
            y = y + self.w[name + ".bias"]
        return y

    def attention(self, x, p):
        a = self.a
        T = x.shape[0]
        H, KV, hd = a["n_heads"], a["n_kv_heads"], a["head_dim"]
        q = self.linear(x, p + "wq", a["attn_qkv_bias"]).view(T, H, hd)
        k = self.linear(x, p + "wk", a["attn_qkv_bias"]).view(T, KV, hd)
        v = self.linear(x, p + "wv", a["attn_qkv_bias"]).view(T, KV, hd)
        if a["position"] == "rope":
            q = apply_rope(q, a["rope_theta"], a["rope_style"], a["rope_dim"])
            k = apply_rope(k, a["rope_theta"], a["rope_style"], a["rope_dim"])
        kv_of_head = torch.arange(H) // (H // KV)
        k = k[:, kv_of_head, :]
        v = v[:, kv_of_head, :]
        q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)  # [H, T, hd]
        scale = a["attn_scale"] if a["attn_scale"] is not None else 1.0 / math.sqrt(hd)
        s = (q @ k.transpose(1, 2)) * scale  # [H, T, T]
        i = torch.arange(T)[:, None]
        j = torch.arange(T)[None, :]
        if a["position"] == "alibi":
            slopes = torch.tensor(alibi_slopes(H), dtype=s.dtype)[:, None, None]
            s = s - slopes * (i - j).to(s.dtype)[None]
        hidden = j > i
        if not a["causal"]:
            # tfmc's non-causal attention: the rows of one call (the prompt,
            # prefilled at once) see each other; a decode step sees the past.
            hidden = hidden & ~((i < self.prefix) & (j < self.prefix))
        s = s.masked_fill(hidden[None], float("-inf"))
        pr = torch.softmax(s, dim=-1)
        if self.record is not None:
            self.record.append(pr.float().numpy())
        o = (pr @ v).transpose(0, 1).reshape(T, H * hd)
        return self.linear(o, p + "wo", a["attn_out_bias"])

    def ffn(self, x, p):
        a = self.a
        h = activation(self.linear(x, p + "w1", a["ffn_bias"]), a["activation"])
        if a["ffn_gated"]:
            h = h * self.linear(x, p + "w3", a["ffn_bias"])
        return self.linear(h, p + "w2", a["ffn_bias"])

    @torch.no_grad()
    def forward(self, tokens):
        """tokens: list of ids -> logits [T, vocab] (causal, positions 0..T-1)."""
        a, w = self.a, self.w
        T = len(tokens)
        if T == 0:
            raise ValueError("empty token sequence")
        if T > a["max_seq_len"]:
            raise ValueError("sequence length %d exceeds max_seq_len %d" % (T, a["max_seq_len"]))
        ids = torch.tensor(tokens, dtype=torch.long)
        if int(ids.min()) < 0 or int(ids.max()) >= a["vocab_size"]:
            raise ValueError("token id out of range")
        x = w["tok_embeddings.weight"][ids] * a["embedding_scale"]
        if a["position"] == "sinusoidal":
            x = x + sinusoidal_table(T, a["dim"], a["sinusoidal_base"], self.dtype)
        elif a["position"] == "learned":
            x = x + w["pos_embeddings.weight"][:T]
        for l in range(a["n_layers"]):
            p = "layers.%d." % l
            if a["norm_placement"] == "pre":
                x = x + self.attention(self.norm(x, p + "attn_norm"), p)
                x = x + self.ffn(self.norm(x, p + "ffn_norm"), p)
            else:
                x = self.norm(x + self.attention(x, p), p + "attn_norm")
                x = self.norm(x + self.ffn(x, p), p + "ffn_norm")
        if a["final_norm"]:
            x = self.norm(x, "final_norm")
        head = w["tok_embeddings.weight"] if a["tied_embeddings"] else w["lm_head.weight"]
        return self.product(x, head, self.head_bits)

    def greedy(self, prompt, steps):
        """Evaluate the prompt, then `steps` greedy decode steps (full prefix re-run).

        Returns (logits rows [P+steps, V] as float32 numpy, generated ids (steps+1))."""
        seq = list(prompt)
        self.prefix = len(prompt)
        rows = [self.forward(seq).float().numpy()]
        gen = [int(np.argmax(rows[-1][-1]))]
        for _ in range(steps):
            seq.append(gen[-1])
            last = self.forward(seq)[-1:].float().numpy()
            rows.append(last)
            gen.append(int(np.argmax(last[0])))
        return np.concatenate(rows, axis=0), gen


# --------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------

def read_llama2c(path):
    """llama2.c legacy checkpoint -> (arch, canonical weights)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 28:
        raise ValueError("%s: file too short for the 28-byte header" % path)
    dim, hidden, L, H, KV, vocab, seq = struct.unpack("<7i", data[:28])
    shared = vocab > 0
    vocab = abs(vocab)
    if min(dim, hidden, L, H, KV, vocab, seq) <= 0 or dim % H or H % KV:
        raise ValueError("%s: implausible header %s" % (path, (dim, hidden, L, H, KV, vocab, seq)))
    hs = dim // H
    kvd = KV * hs
    f = np.frombuffer(data, dtype="<f4", offset=28)
    off = [0]

    def take(*shape):
        n = int(np.prod(shape))
        if off[0] + n > f.size:
            raise ValueError("%s: truncated at byte %d (need %d floats)" % (path, 28 + 4 * off[0], n))
        t = f[off[0]: off[0] + n].reshape(shape)
        off[0] += n
        return t

    w = {}
    w["tok_embeddings.weight"] = take(vocab, dim)
    per_layer = [("attn_norm.weight", (dim,)), ("wq.weight", (dim, dim)), ("wk.weight", (kvd, dim)),
                 ("wv.weight", (kvd, dim)), ("wo.weight", (dim, dim)), ("ffn_norm.weight", (dim,)),
                 ("w1.weight", (hidden, dim)), ("w2.weight", (dim, hidden)), ("w3.weight", (hidden, dim))]
    for name, shp in per_layer:
        for l in range(L):
            w["layers.%d.%s" % (l, name)] = take(*shp)
    w["final_norm.weight"] = take(dim)
    take(seq * hs // 2)  # freq_cis_real (unused)
    take(seq * hs // 2)  # freq_cis_imag (unused)
    if not shared:
        w["lm_head.weight"] = take(vocab, dim)
    if off[0] != f.size or (len(data) - 28) % 4:
        raise ValueError("%s: %d trailing bytes after the weights" % (path, len(data) - 28 - 4 * off[0]))
    arch = dict(vocab_size=vocab, dim=dim, n_layers=L, n_heads=H, n_kv_heads=KV, hidden_dim=hidden,
                max_seq_len=seq, position="rope", rope_theta=10000.0, rope_style="interleaved",
                norm="rmsnorm", norm_eps=1e-5, activation="silu", ffn_gated=True,
                tied_embeddings=shared)
    return arch, w


# ---- GGUF ----

GGUF_SCALAR = {0: "<u1", 1: "<i1", 2: "<u2", 3: "<i2", 4: "<u4", 5: "<i4", 6: "<f4", 7: "<u1",
               10: "<u8", 11: "<i8", 12: "<f8"}


class _Buf:
    def __init__(self, data, name):
        self.d, self.p, self.name = data, 0, name

    def need(self, n, what):
        if self.p + n > len(self.d):
            raise ValueError("%s: truncated reading %s at byte %d" % (self.name, what, self.p))

    def scalar(self, fmt, what="value"):
        size = np.dtype(fmt).itemsize
        self.need(size, what)
        v = np.frombuffer(self.d, dtype=fmt, count=1, offset=self.p)[0]
        self.p += size
        return v.item()

    def string(self):
        n = self.scalar("<u8", "string length")
        self.need(n, "string")
        s = self.d[self.p: self.p + n].decode("utf-8", errors="surrogateescape")
        self.p += n
        return s

    def value(self, t):
        if t in GGUF_SCALAR:
            v = self.scalar(GGUF_SCALAR[t])
            return bool(v) if t == 7 else v
        if t == 8:
            return self.string()
        if t == 9:
            et = self.scalar("<u4", "array type")
            n = self.scalar("<u8", "array length")
            if et in GGUF_SCALAR:
                dt = np.dtype(GGUF_SCALAR[et])
                self.need(n * dt.itemsize, "array")
                arr = np.frombuffer(self.d, dtype=dt, count=n, offset=self.p)
                self.p += n * dt.itemsize
                return arr.astype(bool).tolist() if et == 7 else arr.tolist()
            return [self.value(et) for _ in range(n)]
        raise ValueError("%s: unknown GGUF value type %d at byte %d" % (self.name, t, self.p))


def _f16(raw):
    return np.frombuffer(raw, dtype="<f2").astype(np.float32)


def _bf16(raw):
    return (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)


def _q8_0(raw):
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("q", "i1", 32)]))
    return (blocks["d"].astype(np.float32)[:, None] * blocks["q"].astype(np.float32)).reshape(-1)


def _nibbles(qs):
    """ggml's 4-bit layout: byte j of a block holds element j (low nibble)
    and element j + 16 (high nibble). -> [blocks, 32] uint8 in 0..15."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=1)


def _high_bits(qh):
    """q5's 32 fifth bits per block (uint32 little-endian, bit j for
    element j) -> [blocks, 32] uint8 of 0 or 16."""
    return (((qh[:, None] >> np.arange(32, dtype=np.uint32)) & 1) << 4).astype(np.uint8)


def _q4_0(raw):
    b = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]))
    q = _nibbles(b["qs"]).astype(np.float32) - 8
    return (b["d"].astype(np.float32)[:, None] * q).reshape(-1)


def _q4_1(raw):
    b = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("m", "<f2"), ("qs", "u1", 16)]))
    q = _nibbles(b["qs"]).astype(np.float32)
    return (b["d"].astype(np.float32)[:, None] * q + b["m"].astype(np.float32)[:, None]).reshape(-1)


def _q5_0(raw):
    b = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qh", "<u4"), ("qs", "u1", 16)]))
    q = (_nibbles(b["qs"]) | _high_bits(b["qh"])).astype(np.float32) - 16
    return (b["d"].astype(np.float32)[:, None] * q).reshape(-1)


def _q5_1(raw):
    b = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("m", "<f2"), ("qh", "<u4"),
                                           ("qs", "u1", 16)]))
    q = (_nibbles(b["qs"]) | _high_bits(b["qh"])).astype(np.float32)
    return (b["d"].astype(np.float32)[:, None] * q + b["m"].astype(np.float32)[:, None]).reshape(-1)


# The K-quants (super-blocks of 256 values), from the block layouts of ggml's
# ggml-common.h. Every product and difference is a float32 operation in the
# order of ggml's dequantize_row_*, so the values are ggml's exactly.
F32 = np.float32


def _kblocks(raw, size):
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, size)


def _half(b, at):
    return b[:, at:at + 2].copy().view("<f2").astype(F32)[:, 0]


def _scale_min_k4(s):
    """The 8 six-bit scales and mins of q4_K/q5_K's 12 scale bytes s[:, 12]."""
    s = s.astype(np.uint32)
    sc = np.concatenate([s[:, 0:4] & 63, (s[:, 8:12] & 0xF) | ((s[:, 0:4] >> 6) << 4)], 1)
    m = np.concatenate([s[:, 4:8] & 63, (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)], 1)
    return sc.astype(F32), m.astype(F32)


def _q45_k(b, qh_at, ql_at):
    d, dmin = _half(b, 0), _half(b, 2)
    sc, m = _scale_min_k4(b[:, 4:16])
    ql = b[:, ql_at:ql_at + 128].reshape(-1, 4, 32)
    q = np.stack([ql & 0xF, ql >> 4], 2).reshape(-1, 8, 32).astype(np.int32)  # sub-block 2j+h
    if qh_at is not None:
        qh = b[:, qh_at:qh_at + 32]
        q += 16 * ((qh[:, None, :] >> np.arange(8, dtype=np.uint8)[None, :, None]) & 1)
    d1, m1 = d[:, None] * sc, dmin[:, None] * m
    return (d1[:, :, None] * q.astype(F32) - m1[:, :, None]).reshape(-1)


def _q4_k(raw):
    return _q45_k(_kblocks(raw, 144), None, 16)


def _q5_k(raw):
    return _q45_k(_kblocks(raw, 176), 16, 48)


def _q6_k(raw):
    b = _kblocks(raw, 210)
    d = _half(b, 208)
    sc = b[:, 192:208].copy().view(np.int8).astype(F32)  # 16 scales of 16 values
    out = []
    for h in range(2):  # two halves of 128 values
        ql = b[:, 64 * h:64 * h + 64].astype(np.int32)
        qh = b[:, 128 + 32 * h:128 + 32 * h + 32].astype(np.int32)
        parts = [(ql[:, :32] & 0xF) | ((qh & 3) << 4), (ql[:, 32:] & 0xF) | (((qh >> 2) & 3) << 4),
                 (ql[:, :32] >> 4) | (((qh >> 4) & 3) << 4), (ql[:, 32:] >> 4) | (((qh >> 6) & 3) << 4)]
        for k, q in enumerate(parts):  # values 32k .. 32k + 31 of the half
            s = np.repeat(sc[:, 8 * h + 2 * k:8 * h + 2 * k + 2], 16, axis=1)
            out.append((d[:, None] * s) * (q - 32).astype(F32))
    return np.concatenate(out, 1).reshape(-1)


def _q2_k(raw):
    b = _kblocks(raw, 84)
    d, dmin = _half(b, 80), _half(b, 82)
    scales = b[:, 0:16]
    qs = b[:, 16:80]
    out = []
    for n in range(2):
        for j in range(4):
            for h in range(2):
                sc = scales[:, 8 * n + 2 * j + h]
                q = (qs[:, 32 * n + 16 * h:32 * n + 16 * h + 16] >> (2 * j)) & 3
                dl, ml = d * (sc & 0xF).astype(F32), dmin * (sc >> 4).astype(F32)
                out.append(dl[:, None] * q.astype(F32) - ml[:, None])
    return np.concatenate(out, 1).reshape(-1)


def _q3_k(raw):
    b = _kblocks(raw, 110)
    d = _half(b, 108)
    hmask, qs, s = b[:, 0:32], b[:, 32:96], b[:, 96:108].astype(np.int32)
    out = []
    for n in range(2):
        for j in range(4):
            for h in range(2):
                i = 8 * n + 2 * j + h  # scale index: 4 low bits, then 2 high
                low = s[:, i] & 0xF if i < 8 else s[:, i - 8] >> 4
                sc = low | (((s[:, 8 + i % 4] >> (2 * (i // 4))) & 3) << 4)
                q = ((qs[:, 32 * n + 16 * h:32 * n + 16 * h + 16] >> (2 * j)) & 3).astype(np.int32)
                hi = (hmask[:, 16 * h:16 * h + 16] >> (4 * n + j)) & 1
                dl = d * (sc - 32).astype(F32)
                out.append(dl[:, None] * (q - 4 * (1 - hi)).astype(F32))
    return np.concatenate(out, 1).reshape(-1)


# ggml type id -> (block elements, block bytes, decoder)
GGML_TYPES = {0: (1, 4, lambda r: np.frombuffer(r, dtype="<f4")), 1: (1, 2, _f16),
              30: (1, 2, _bf16), 8: (32, 34, _q8_0), 2: (32, 18, _q4_0),
              3: (32, 20, _q4_1), 6: (32, 22, _q5_0), 7: (32, 24, _q5_1),
              10: (256, 84, _q2_k), 11: (256, 110, _q3_k), 12: (256, 144, _q4_k),
              13: (256, 176, _q5_k), 14: (256, 210, _q6_k)}


def read_gguf_raw(path):
    """-> (metadata dict, {name: numpy array in PyTorch order (dims reversed)})."""
    data, meta, infos, start = _read_gguf_header(path)
    align = int(meta.get("general.alignment", 32))
    tensors = {}
    for name, dims, t, off in infos:
        if t not in GGML_TYPES:
            raise ValueError("%s: tensor %s has unsupported ggml type %d" % (path, name, t))
        be, bb, dec = GGML_TYPES[t]
        n = int(np.prod(dims)) if dims else 1
        if n % be:
            raise ValueError("%s: tensor %s size %d not a multiple of block %d" % (path, name, n, be))
        nbytes = n // be * bb
        a0 = start + off
        if off % align or a0 + nbytes > len(data):
            raise ValueError("%s: tensor %s data [%d, %d) misaligned or out of file (%d bytes)"
                             % (path, name, a0, a0 + nbytes, len(data)))
        arr = dec(data[a0: a0 + nbytes]).astype(np.float32)
        tensors[name] = arr.reshape(tuple(reversed(dims)))
    return meta, tensors


def gguf_tensor_types(path):
    """-> {tensor name: ggml type id} of a GGUF file."""
    return {name: t for name, _, t, _ in _read_gguf_header(path)[2]}


def _read_gguf_header(path):
    """-> (file bytes, metadata, [(name, dims, type, offset)], data start)."""
    with open(path, "rb") as fh:
        data = fh.read()
    b = _Buf(data, path)
    b.need(4, "magic")
    if data[:4] != b"GGUF":
        raise ValueError("%s: not a GGUF file (magic %r)" % (path, data[:4]))
    b.p = 4
    version = b.scalar("<u4", "version")
    if version not in (2, 3):
        raise ValueError("%s: unsupported GGUF version %d" % (path, version))
    n_tensors = b.scalar("<u8", "tensor count")
    n_kv = b.scalar("<u8", "kv count")
    meta = {}
    for _ in range(n_kv):
        key = b.string()
        meta[key] = b.value(b.scalar("<u4", "value type"))
    infos = []
    for _ in range(n_tensors):
        name = b.string()
        nd = b.scalar("<u4", "n_dims")
        dims = [b.scalar("<u8", "dim") for _ in range(nd)]
        t = b.scalar("<u4", "tensor type")
        off = b.scalar("<u8", "tensor offset")
        infos.append((name, dims, t, off))
    align = int(meta.get("general.alignment", 32))
    return data, meta, infos, (b.p + align - 1) // align * align


def read_gguf(path):
    """GGUF (llama / gpt2 architecture) -> (arch, canonical weights)."""
    meta, t = read_gguf_raw(path)
    an = meta.get("general.architecture")

    def m(key, default=None):
        v = meta.get(an + "." + key, default)
        if v is None:
            raise ValueError("%s: metadata %s.%s missing" % (path, an, key))
        return v

    L = int(m("block_count"))
    dim = int(m("embedding_length"))
    H = int(m("attention.head_count"))
    KV = int(m("attention.head_count_kv", H))
    vocab = t["token_embd.weight"].shape[0]
    w = {"tok_embeddings.weight": t["token_embd.weight"]}
    arch = dict(vocab_size=vocab, dim=dim, n_layers=L, n_heads=H, n_kv_heads=KV,
                hidden_dim=int(m("feed_forward_length")), max_seq_len=int(m("context_length")),
                tied_embeddings="output.weight" not in t)
    if "output.weight" in t:
        w["lm_head.weight"] = t["output.weight"]
    if an == "llama":
        hd = dim // H
        arch.update(position="rope", rope_theta=float(m("rope.freq_base", 10000.0)),
                    rope_style="interleaved", rope_dim=int(m("rope.dimension_count", hd)),
                    norm="rmsnorm", norm_eps=float(m("attention.layer_norm_rms_epsilon")),
                    activation="silu", ffn_gated=True)
        names = {"attn_norm.weight": "attn_norm.weight", "wq.weight": "attn_q.weight",
                 "wk.weight": "attn_k.weight", "wv.weight": "attn_v.weight",
                 "wo.weight": "attn_output.weight", "ffn_norm.weight": "ffn_norm.weight",
                 "w1.weight": "ffn_gate.weight", "w3.weight": "ffn_up.weight",
                 "w2.weight": "ffn_down.weight"}
        for l in range(L):
            for c, g in names.items():
                w["layers.%d.%s" % (l, c)] = t["blk.%d.%s" % (l, g)]
            for c, g in (("wq.bias", "attn_q.bias"), ("wk.bias", "attn_k.bias"), ("wv.bias", "attn_v.bias")):
                if "blk.%d.%s" % (l, g) in t:
                    w["layers.%d.%s" % (l, c)] = t["blk.%d.%s" % (l, g)]
                    arch["attn_qkv_bias"] = True
        w["final_norm.weight"] = t["output_norm.weight"]
    elif an == "gpt2":
        arch.update(position="learned", norm="layernorm",
                    norm_eps=float(m("attention.layer_norm_epsilon")),
                    activation="gelu_tanh", ffn_gated=False, ffn_bias=True,
                    attn_qkv_bias=True, attn_out_bias=True)
        w["pos_embeddings.weight"] = t["position_embd.weight"]
        arch["max_seq_len"] = t["position_embd.weight"].shape[0]
        for l in range(L):
            p, g = "layers.%d." % l, "blk.%d." % l
            for c, s in (("attn_norm", "attn_norm"), ("ffn_norm", "ffn_norm"), ("wo", "attn_output"),
                         ("w1", "ffn_up"), ("w2", "ffn_down")):
                w[p + c + ".weight"] = t[g + s + ".weight"]
                w[p + c + ".bias"] = t[g + s + ".bias"]
            qkv_w, qkv_b = t[g + "attn_qkv.weight"], t[g + "attn_qkv.bias"]  # [3*dim, dim]
            for k, c in enumerate(("wq", "wk", "wv")):
                w[p + c + ".weight"] = qkv_w[k * dim:(k + 1) * dim]
                w[p + c + ".bias"] = qkv_b[k * dim:(k + 1) * dim]
        w["final_norm.weight"] = t["output_norm.weight"]
        w["final_norm.bias"] = t["output_norm.bias"]
    else:
        raise ValueError("%s: unsupported GGUF architecture %r" % (path, an))
    return arch, w


# ---- safetensors ----

ST_DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "BF16": None}


def read_safetensors(path):
    """-> {name: float32 numpy array}."""
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) < 8:
        raise ValueError("%s: too short" % path)
    (hlen,) = struct.unpack("<Q", data[:8])
    if 8 + hlen > len(data):
        raise ValueError("%s: header length %d exceeds file" % (path, hlen))
    header = json.loads(data[8: 8 + hlen].decode("utf-8"))
    base = 8 + hlen
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt, shape, (a, b) = info["dtype"], info["shape"], info["data_offsets"]
        if dt not in ST_DTYPES:
            raise ValueError("%s: tensor %s has unsupported dtype %s" % (path, name, dt))
        if base + b > len(data) or a > b:
            raise ValueError("%s: tensor %s data [%d, %d) out of file" % (path, name, base + a, base + b))
        raw = data[base + a: base + b]
        arr = _bf16(raw) if dt == "BF16" else np.frombuffer(raw, dtype=ST_DTYPES[dt])
        n = int(np.prod(shape)) if shape else 1
        if arr.size != n:
            raise ValueError("%s: tensor %s has %d elements, shape %s" % (path, name, arr.size, shape))
        out[name] = arr.astype(np.float32).reshape(shape)
    return out


def _hf_files(model):
    if os.path.isdir(model):
        d = model
        files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".safetensors"))
    else:
        d = os.path.dirname(os.path.abspath(model))
        files = [model]
    return d, files


def read_hf(model):
    """Hugging Face directory (config.json + safetensors) -> (arch, canonical weights)."""
    d, files = _hf_files(model)
    with open(os.path.join(d, "config.json")) as fh:
        cfg = json.load(fh)
    t = {}
    for f in files:
        t.update(read_safetensors(f))
    kind = (cfg.get("architectures") or [cfg.get("model_type")])[0]
    w = {}
    if kind in ("LlamaForCausalLM", "llama"):
        dim, H = cfg["hidden_size"], cfg["num_attention_heads"]
        L = cfg["num_hidden_layers"]
        arch = dict(vocab_size=cfg["vocab_size"], dim=dim, n_layers=L, n_heads=H,
                    n_kv_heads=cfg.get("num_key_value_heads") or H,
                    head_dim=cfg.get("head_dim") or dim // H,
                    hidden_dim=cfg["intermediate_size"],
                    max_seq_len=cfg.get("max_position_embeddings", 4096),
                    position="rope", rope_theta=float(cfg.get("rope_theta", 10000.0)),
                    rope_style="half", norm="rmsnorm", norm_eps=float(cfg.get("rms_norm_eps", 1e-6)),
                    activation={"silu": "silu", "gelu": "gelu", "gelu_new": "gelu_tanh",
                                "gelu_pytorch_tanh": "gelu_tanh", "relu": "relu"}[cfg.get("hidden_act", "silu")],
                    ffn_gated=True, attn_qkv_bias=bool(cfg.get("attention_bias", False)),
                    attn_out_bias=bool(cfg.get("attention_bias", False)),
                    ffn_bias=bool(cfg.get("mlp_bias", False)))
        if cfg.get("rope_scaling"):
            raise ValueError("rope_scaling is not supported by the reference")
        w["tok_embeddings.weight"] = t["model.embed_tokens.weight"]
        names = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
                 "wq": "self_attn.q_proj", "wk": "self_attn.k_proj", "wv": "self_attn.v_proj",
                 "wo": "self_attn.o_proj", "w1": "mlp.gate_proj", "w3": "mlp.up_proj",
                 "w2": "mlp.down_proj"}
        for l in range(L):
            for c, h in names.items():
                for suf in (".weight", ".bias"):
                    k = "model.layers.%d.%s%s" % (l, h, suf)
                    if k in t:
                        w["layers.%d.%s%s" % (l, c, suf)] = t[k]
        w["final_norm.weight"] = t["model.norm.weight"]
        tied = "lm_head.weight" not in t
        if tied and cfg.get("tie_word_embeddings") is False:
            raise ValueError("config says untied embeddings but lm_head.weight is absent")
        arch["tied_embeddings"] = tied
        if not tied:
            w["lm_head.weight"] = t["lm_head.weight"]
    elif kind in ("GPT2LMHeadModel", "gpt2"):
        dim, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
        act = cfg.get("activation_function", "gelu_new")
        arch = dict(vocab_size=cfg["vocab_size"], dim=dim, n_layers=L, n_heads=H,
                    hidden_dim=cfg.get("n_inner") or 4 * dim, max_seq_len=cfg["n_positions"],
                    position="learned", norm="layernorm", norm_eps=float(cfg.get("layer_norm_epsilon", 1e-5)),
                    activation={"gelu_new": "gelu_tanh", "gelu": "gelu", "relu": "relu",
                                "gelu_pytorch_tanh": "gelu_tanh", "silu": "silu"}[act],
                    ffn_gated=False, ffn_bias=True, attn_qkv_bias=True, attn_out_bias=True)
        if cfg.get("scale_attn_weights") is False or cfg.get("scale_attn_by_inverse_layer_idx"):
            raise ValueError("non-standard GPT-2 attention scaling not supported")
        pre = "transformer." if "transformer.wte.weight" in t else ""
        w["tok_embeddings.weight"] = t[pre + "wte.weight"]
        w["pos_embeddings.weight"] = t[pre + "wpe.weight"]
        for l in range(L):
            p, g = "layers.%d." % l, "%sh.%d." % (pre, l)
            for c, h in (("attn_norm", "ln_1"), ("ffn_norm", "ln_2")):
                w[p + c + ".weight"] = t[g + h + ".weight"]
                w[p + c + ".bias"] = t[g + h + ".bias"]
            # Conv1D stores [in, out]; canonical is [out, in].
            qkv_w = t[g + "attn.c_attn.weight"].T
            qkv_b = t.get(g + "attn.c_attn.bias")
            if qkv_b is None:
                # Hugging Face's from_pretrained zero-initialises a Conv1D bias that
                # the checkpoint lacks (GPT2PreTrainedModel._init_weights); do the same.
                print("reference.py: warning: %sattn.c_attn.bias absent, using zeros as "
                      "Hugging Face does" % g, file=sys.stderr)
                qkv_b = np.zeros(3 * dim, dtype=np.float32)
            for k, c in enumerate(("wq", "wk", "wv")):
                w[p + c + ".weight"] = qkv_w[k * dim:(k + 1) * dim]
                w[p + c + ".bias"] = qkv_b[k * dim:(k + 1) * dim]
            for c, h in (("wo", "attn.c_proj"), ("w1", "mlp.c_fc"), ("w2", "mlp.c_proj")):
                w[p + c + ".weight"] = t[g + h + ".weight"].T
                w[p + c + ".bias"] = t[g + h + ".bias"]
        w["final_norm.weight"] = t[pre + "ln_f.weight"]
        w["final_norm.bias"] = t[pre + "ln_f.bias"]
        tied = "lm_head.weight" not in t or cfg.get("tie_word_embeddings", True)
        arch["tied_embeddings"] = bool(tied)
        if not tied:
            w["lm_head.weight"] = t["lm_head.weight"]
    else:
        raise ValueError("unsupported Hugging Face architecture %r" % kind)
    return arch, w


def apply_names(path, t, names):
    """canonical -> stored mapping; a spec is a name or {"name", "split": {"axis",
    "index", "count"}, "transpose"} (split first, then transpose)."""
    w = {}
    for canon, spec in names.items():
        if isinstance(spec, str):
            spec = {"name": spec}
        if spec["name"] not in t:
            raise ValueError("%s: stored tensor %r (for %s) not found" % (path, spec["name"], canon))
        a = t[spec["name"]]
        if spec.get("split"):
            sp = spec["split"]
            a = np.split(a, int(sp["count"]), axis=int(sp["axis"]))[int(sp["index"])]
        w[canon] = a.T if spec.get("transpose") else a
    return w


def read_generic_safetensors(path, names=None):
    """safetensors with canonical names, or a canonical -> stored mapping."""
    t = read_safetensors(path)
    return t if names is None else apply_names(path, t, names)


def _has_config(path):
    return os.path.isdir(path) or (path.endswith(".safetensors") and os.path.exists(
        os.path.join(os.path.dirname(os.path.abspath(path)), "config.json")))


def load_tfm(path, weights_file=None):
    """A .tfm description (translated by tfm_to_arch.py) -> (arch, weights).
    The architecture comes from the description only; the weights from its
    weights source, or from weights_file (required for random(seed) weights:
    pass the tensors tfmc generated, with canonical names)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import tfm_to_arch
    d = tfm_to_arch.translate(path)
    src = d["weights"]
    wpath = weights_file or src.get("path")
    if wpath is None:
        raise ValueError("%s: weights = random(seed = %s); pass --weights FILE with the weights tfmc used"
                         % (path, src.get("seed")))
    names = src.get("names") if not weights_file else None
    if wpath.endswith(".gguf"):
        _, w = read_gguf(wpath)
    elif _has_config(wpath):
        _, w = read_hf(wpath)
        if names:
            _, files = _hf_files(wpath)
            raw = {}
            for f in files:
                raw.update(read_safetensors(f))
            w.update(apply_names(wpath, raw, names))
    elif wpath.endswith(".safetensors"):
        w = read_generic_safetensors(wpath)
        if names:
            w.update(apply_names(wpath, w, names))
    else:
        _, w = read_llama2c(wpath)
    return d["arch"], w


def load(model, arch_file=None, names_file=None, weights_file=None):
    """Any supported MODEL path -> (arch dict (completed), canonical weights)."""
    override = {}
    if arch_file:
        with open(arch_file) as fh:
            override = json.load(fh)
    names = None
    if names_file:
        with open(names_file) as fh:
            names = json.load(fh)
    if model.endswith(".tfm"):
        arch, w = load_tfm(model, weights_file)
    elif model.endswith(".gguf"):
        arch, w = read_gguf(model)
    elif _has_config(model) and not arch_file:
        arch, w = read_hf(model)
    elif model.endswith(".safetensors"):
        if not arch_file:
            raise ValueError("a generic safetensors file needs --arch")
        arch, w = {}, read_generic_safetensors(model, names)
    else:
        with open(model, "rb") as fh:
            magic = fh.read(4)
        if magic == b"GGUF":
            arch, w = read_gguf(model)
        else:
            arch, w = read_llama2c(model)
    arch.update(override)
    return complete_arch(arch), w


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--arch", help="architecture JSON (required for generic safetensors; overrides otherwise)")
    ap.add_argument("--names", help="canonical -> stored tensor name JSON (generic safetensors)")
    ap.add_argument("--weights", help="weights file for a .tfm MODEL (needed for random(seed) weights)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--tokens", help="comma-separated prompt ids (default: 1)")
    g.add_argument("--prompt-ids-file", help="file with prompt ids separated by commas/whitespace")
    ap.add_argument("--steps", type=int, default=0, help="greedy decode steps after the prompt")
    ap.add_argument("--logits-out", help="write float32 LE logits [P+steps, vocab] here")
    ap.add_argument("--attention-out",
                    help="write the prompt's attention probabilities, float32 .npy [layers, heads, P, P]")
    ap.add_argument("--greedy", action="store_true", help="greedy decoding (the only mode)")
    ap.add_argument("--fp64", action="store_true", help="compute in float64")
    ap.add_argument("--int8-activations", type=int, default=0, metavar="P",
                    help="emulate tfmc's integer dot products with column tiles of P: every "
                         "matrix with K a multiple of 32 (all q8_0 in the files this is for) "
                         "sees its input quantized per block of 32 (see Model.product)")
    ap.add_argument("--head-activation-bits", type=int, choices=(8, 16), default=8,
                    help="with --int8-activations: the LM head's input quantized to int8 or "
                         "int16 (tfmc --int-dot=on: 8, auto: 16)")
    ap.add_argument("--dump-arch", action="store_true", help="print the completed arch JSON on stderr")
    args = ap.parse_args(argv)

    if args.prompt_ids_file:
        with open(args.prompt_ids_file) as fh:
            text = fh.read()
        prompt = [int(x) for x in text.replace(",", " ").split()]
    elif args.tokens:
        prompt = [int(x) for x in args.tokens.split(",") if x.strip()]
    else:
        prompt = [1]
    if not prompt:
        ap.error("empty prompt")
    if args.steps < 0:
        ap.error("--steps must be >= 0")
    try:
        arch, w = load(args.model, args.arch, args.names, args.weights)
        if args.dump_arch:
            print(json.dumps(arch, indent=1, sort_keys=True), file=sys.stderr)
        model = Model(arch, w, torch.float64 if args.fp64 else torch.float32)
        model.int8_tile = args.int8_activations
        model.head_bits = args.head_activation_bits
        if args.attention_out:
            model.record = []
            model.forward(prompt)
            np.save(args.attention_out, np.stack(model.record).astype("<f4"))
            model.record = None
        logits, gen = model.greedy(prompt, args.steps)
    except (ValueError, KeyError, OSError) as e:
        print("reference.py: error: %s" % e, file=sys.stderr)
        return 1
    if args.logits_out:
        logits.astype("<f4").tofile(args.logits_out)
    print(",".join(str(i) for i in gen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
