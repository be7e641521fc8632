#!/usr/bin/python3
"""Translate a `.tfm` model description into the reference's arch JSON.

Written from the examples in examples/*.tfm (no code shared with tfmc's C++
parser). Handles: `model "name" { ... }`, `key = value`, nested sections
(`embedding`, `attention`, `ffn`), `block x N { ... }`, call values such as
`rope(theta = 10000, style = half)`, `rmsnorm(eps = 1e-5)`, `sqrt(dim)`,
`qkv+out`, `#` comments, and `weights = FORMAT("path") { "canon" = "stored"
[split(axis = A, index = I, count = C)] [transpose] ... }`.

    tfm_to_arch.py FILE.tfm            prints {"arch": ..., "weights": ...}

`weights` is {"format": "llama2c"|"gguf"|"safetensors"|"random", "path":
absolute path (relative paths resolve against the .tfm's directory), "seed",
"names": canonical -> {"name", "split", "transpose"} with `{i}` expanded per
layer}. Unknown keys are errors, so a language change is noticed here.
"""

import json
import os
import re
import sys

_TOK = re.compile(r'\s+|#[^\n]*|"(?:[^"\\]|\\.)*"|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[A-Za-z_][A-Za-z0-9_-]*|[{}()=,+]')


def tokenize(text, path):
    out, p = [], 0
    while p < len(text):
        m = _TOK.match(text, p)
        if not m:
            line = text.count("\n", 0, p) + 1
            raise ValueError("%s:%d: unexpected character %r" % (path, line, text[p]))
        t = m.group(0)
        if not t.isspace() and not t.startswith("#"):
            out.append(t)
        p = m.end()
    return out


class Parser:
    def __init__(self, toks, path):
        self.t, self.i, self.path = toks, 0, path

    def peek(self, k=0):
        return self.t[self.i + k] if self.i + k < len(self.t) else None

    def next(self, want=None):
        tok = self.peek()
        if tok is None or (want is not None and tok != want):
            raise ValueError("%s: expected %r, got %r (token %d)" % (self.path, want, tok, self.i))
        self.i += 1
        return tok

    def atom(self):
        tok = self.next()
        if tok.startswith('"'):
            return json.loads(tok)
        if re.match(r"[-+]?[\d.]", tok):
            return float(tok) if re.search(r"[.eE]", tok) else int(tok)
        if self.peek() == "(":  # call
            self.next("(")
            args = {}
            pos = []
            while self.peek() != ")":
                if self.peek(1) == "=":
                    k = self.next()
                    self.next("=")
                    args[k] = self.atom()
                else:
                    pos.append(self.atom())
                if self.peek() == ",":
                    self.next(",")
            self.next(")")
            return {"call": tok, "args": args, "pos": pos}
        val = tok
        while self.peek() == "+":
            self.next("+")
            val += "+" + self.next()
        return val

    def body(self):
        """{ items } -> dict; sections are nested dicts, `block x N` -> key 'block'."""
        self.next("{")
        d = {}
        while self.peek() != "}":
            key = self.next()
            if key == "block":
                self.next("x")
                n = self.atom()
                d["block"] = dict(self.body(), count=n)
            elif self.peek() == "{":
                d[key] = self.body()
            else:
                self.next("=")
                d[key] = self.atom()
                if key == "weights" and self.peek() == "{":
                    d["weights_map"] = self.mapping()
        self.next("}")
        return d

    def mapping(self):
        self.next("{")
        m = {}
        while self.peek() != "}":
            canon = json.loads(self.next())
            self.next("=")
            spec = {"name": json.loads(self.next())}
            while self.peek() not in ("}", None) and not self.peek().startswith('"'):
                mod = self.atom()
                if mod == "transpose":
                    spec["transpose"] = True
                elif isinstance(mod, dict) and mod["call"] == "split":
                    spec["split"] = {k: int(v) for k, v in mod["args"].items()}
                else:
                    raise ValueError("%s: unknown mapping modifier %r" % (self.path, mod))
            m[canon] = spec
        self.next("}")
        return m


def _check(d, allowed, where):
    extra = set(d) - set(allowed)
    if extra:
        raise ValueError("%s: unknown keys %s" % (where, sorted(extra)))


def translate(path):
    text = open(path, encoding="utf-8").read()
    p = Parser(tokenize(text, path), path)
    p.next("model")
    name = p.atom()
    m = p.body()
    _check(m, {"arch", "vocab", "dim", "context", "positions", "embedding", "block", "final_norm", "head",
               "tokenizer", "weights", "weights_map"}, path)
    b = m["block"]
    _check(b, {"count", "order", "norm", "attention", "ffn"}, path + " block")
    at, ff = b.get("attention", {}), b.get("ffn", {})
    _check(at, {"heads", "kv_heads", "head_dim", "causal", "bias"}, path + " attention")
    _check(ff, {"activation", "gated", "hidden", "bias"}, path + " ffn")
    arch = {"vocab_size": m["vocab"], "dim": m["dim"], "max_seq_len": m["context"], "n_layers": b["count"],
            "n_heads": at["heads"], "hidden_dim": ff["hidden"], "causal": at.get("causal", "true") == "true"}
    if "kv_heads" in at:
        arch["n_kv_heads"] = at["kv_heads"]
    if "head_dim" in at:
        arch["head_dim"] = at["head_dim"]
    pos = m.get("positions", "none")
    if isinstance(pos, dict):
        if pos["call"] != "rope":
            raise ValueError("%s: unknown positions %r" % (path, pos["call"]))
        arch["position"] = "rope"
        arch["rope_theta"] = float(pos["args"].get("theta", 10000.0))
        arch["rope_style"] = pos["args"].get("style", "interleaved")
    else:
        arch["position"] = pos
    scale = m.get("embedding", {}).get("scale", 1.0)
    if isinstance(scale, dict):
        if scale["call"] != "sqrt" or scale["pos"] != ["dim"]:
            raise ValueError("%s: unknown embedding scale %r" % (path, scale))
        scale = "sqrt_dim"
    arch["embedding_scale"] = scale
    arch["norm_placement"] = {"pre-norm": "pre", "post-norm": "post"}[b.get("order", "pre-norm")]
    norm = b["norm"]
    arch["norm"] = norm["call"] if isinstance(norm, dict) else norm
    if isinstance(norm, dict) and "eps" in norm["args"]:
        arch["norm_eps"] = float(norm["args"]["eps"])
    bias = at.get("bias", "none")
    parts = set() if bias == "none" else set(bias.split("+"))
    if parts - {"qkv", "out"}:
        raise ValueError("%s: unknown attention bias %r" % (path, bias))
    arch["attn_qkv_bias"], arch["attn_out_bias"] = "qkv" in parts, "out" in parts
    arch["activation"] = ff["activation"]
    arch["ffn_gated"] = ff.get("gated", "false") == "true"
    arch["ffn_bias"] = ff.get("bias", "false") == "true"
    arch["final_norm"] = m.get("final_norm", "true") == "true"
    arch["tied_embeddings"] = {"tied": True, "untied": False}[m.get("head", "tied")]
    w = m["weights"]
    weights = {"format": w["call"]}
    base = os.path.dirname(os.path.abspath(path))
    if w["call"] == "random":
        weights["seed"] = w["args"].get("seed")
    else:
        weights["path"] = os.path.normpath(os.path.join(base, w["pos"][0]))
    if "weights_map" in m:
        names = {}
        for canon, spec in m["weights_map"].items():
            if "{i}" in canon:
                for i in range(arch["n_layers"]):
                    names[canon.replace("{i}", str(i))] = dict(spec, name=spec["name"].replace("{i}", str(i)))
            else:
                names[canon] = spec
        weights["names"] = names
    return {"name": name, "arch": arch, "weights": weights}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    print(json.dumps(translate(sys.argv[1]), indent=1))
