#!/usr/bin/python3
"""The bytes of weight matrices one decoded token reads, from a GGUF's tensor
table (stdlib only), for bench/peers.sh's roofline fractions.

  matrix_bytes.py MODEL.gguf

Every 2-D tensor except the token embedding table (one row of it is read),
unless the file has no output.weight: then the table is the LM head too.
"""

import struct
import sys

# ggml_type: (elements per block, bytes per block)
BLOCKS = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22),
          7: (32, 24), 8: (32, 34), 9: (32, 36), 10: (256, 84),
          11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
          15: (256, 292), 30: (1, 2)}
# GGUF metadata value types with a fixed size.
SCALARS = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8,
           12: 8}


def main():
    with open(sys.argv[1], "rb") as f:
        data = f.read(64 << 20)  # the header and tables come first
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0] if len(v) == 1 else v

    def string():
        nonlocal pos
        n = take("Q")
        pos += n
        return data[pos - n:pos].decode("utf-8", "replace")

    def skip_value(t):
        nonlocal pos
        if t in SCALARS:
            pos += SCALARS[t]
        elif t == 8:
            string()
        elif t == 9:
            et, n = take("I"), take("Q")
            for _ in range(n):
                skip_value(et)
        else:
            sys.exit("matrix_bytes.py: unknown metadata type %d" % t)

    if data[:4] != b"GGUF":
        sys.exit("matrix_bytes.py: %s is not a GGUF file" % sys.argv[1])
    pos = 4
    _version, n_tensors, n_kv = take("I"), take("Q"), take("Q")
    for _ in range(n_kv):
        string()
        skip_value(take("I"))
    sizes = {}
    for _ in range(n_tensors):
        name = string()
        dims = [take("Q") for _ in range(take("I"))]
        ggml_type = take("I")
        take("Q")
        per, size = BLOCKS[ggml_type]
        count = 1
        for d in dims:
            count *= d
        if len(dims) == 2:
            sizes[name] = count // per * size
    total = sum(sizes.values())
    if "output.weight" in sizes:
        total -= sizes.get("token_embd.weight", 0)
    print(total)


if __name__ == "__main__":
    main()
