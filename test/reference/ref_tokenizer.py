"""SentencePiece-style BPE vocabulary as llama2.c uses it (independent of tfmc).

Sources: llama2.c ``tokenizer.bin`` (int32 max_token_length, then per token
float32 score, int32 length, bytes) or the ``tokenizer.ggml.*`` metadata of a
GGUF file (``llama`` model; pieces use U+2581 for space).

Rules follow llama2.c ``run.c``: encode = optional BOS, a dummy-prefix space
token when the text is non-empty, one token per UTF-8 code point (bytes
``<0xNN>`` = id NN+3 when the code point is not in the vocabulary), then
repeatedly merge the adjacent pair whose concatenation is in the vocabulary
with the highest score (leftmost on ties).  decode(prev, tok) strips a leading
space after BOS and maps ``<0xNN>`` pieces to the raw byte.
"""

import re
import struct

_BYTE = re.compile(rb"^<0x([0-9A-Fa-f]{2})>$")


class Llama2cTokenizer:
    def __init__(self, pieces, scores, bos=1, eos=2):
        self.pieces = pieces  # list of bytes
        self.scores = scores
        self.bos, self.eos = bos, eos
        self.lookup = {}
        for i, p in enumerate(pieces):
            self.lookup.setdefault(p, i)

    @classmethod
    def from_bin(cls, path, vocab_size=None):
        with open(path, "rb") as f:
            data = f.read()
        p = 4  # skip max_token_length
        pieces, scores = [], []
        while p < len(data) and (vocab_size is None or len(pieces) < vocab_size):
            score, n = struct.unpack_from("<fi", data, p)
            p += 8
            if n < 0 or p + n > len(data):
                raise ValueError("%s: bad token length %d at byte %d" % (path, n, p - 4))
            pieces.append(data[p:p + n])
            scores.append(score)
            p += n
        return cls(pieces, scores)

    @classmethod
    def from_gguf_meta(cls, meta):
        if meta.get("tokenizer.ggml.model") != "llama":
            raise ValueError("GGUF tokenizer model %r is not 'llama'" % meta.get("tokenizer.ggml.model"))
        toks = meta["tokenizer.ggml.tokens"]
        pieces = [t.replace("\u2581", " ").encode("utf-8", errors="surrogateescape") for t in toks]
        scores = meta.get("tokenizer.ggml.scores", [0.0] * len(toks))
        return cls(pieces, scores, bos=int(meta.get("tokenizer.ggml.bos_token_id", 1)),
                   eos=int(meta.get("tokenizer.ggml.eos_token_id", 2)))

    def encode(self, text, bos=True, eos=False):
        out = [self.bos] if bos else []
        if text:
            out.append(self.lookup[b" "])
        for ch in text:
            b = ch.encode("utf-8")
            if b in self.lookup:
                out.append(self.lookup[b])
            else:
                out.extend(x + 3 for x in b)
        while True:
            best, best_id, best_i = None, -1, -1
            for i in range(len(out) - 1):
                cand = self.pieces[out[i]] + self.pieces[out[i + 1]]
                j = self.lookup.get(cand)
                if j is not None and (best is None or self.scores[j] > best):
                    best, best_id, best_i = self.scores[j], j, i
            if best_i < 0:
                break
            out[best_i:best_i + 2] = [best_id]
        if eos:
            out.append(self.eos)
        return out

    def decode(self, prev, tok):
        piece = self.pieces[tok]
        if prev == self.bos and piece.startswith(b" "):
            piece = piece[1:]
        m = _BYTE.match(piece)
        if m:
            piece = bytes([int(m.group(1), 16)])
        return piece

    @staticmethod
    def printable(piece):
        """llama2.c safe_printf: drop single non-printable, non-space bytes."""
        if len(piece) == 1 and not (32 <= piece[0] < 127 or piece[0] in b" \t\n\v\f\r"):
            return b""
        return piece
