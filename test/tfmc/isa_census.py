#!/usr/bin/env python3
"""Counts the vector instructions of every executable section of a binary.

    isa_census.py FILE

Disassembles FILE with objdump (whole file: the model's code, libtfmrt and
whatever else the linker put in) and prints, one per line:

    vex N      instructions with a VEX prefix (c4/c5 in 64-bit mode): AVX
    evex N     instructions with an EVEX prefix (62 in 64-bit mode): AVX-512
    ymm N      instructions naming a 256-bit register
    zmm N      instructions naming a 512-bit register
    kreg N     instructions naming an AVX-512 mask register (%k0-%k7)
    hireg N    instructions naming xmm16-31/ymm16-31 (EVEX only)

followed by up to three examples of each kind that occurs, with the symbol
they are in, so a failing check says where the instruction came from. The
prefix bytes are the decisive test: a register name can be missing (AVX-512
instructions on xmm/ymm registers), an EVEX or VEX prefix cannot.
"""
import re
import subprocess
import sys

LEGACY_PREFIXES = {0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0,
                   0xF2, 0xF3}


def encoding(raw):
    """'vex', 'evex' or None for the hex bytes of one instruction."""
    for byte in (int(b, 16) for b in raw.split()):
        if byte in LEGACY_PREFIXES:
            continue
        if byte == 0x62:
            return "evex"
        if byte in (0xC4, 0xC5):
            return "vex"
        return None
    return None


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: isa_census.py FILE")
    dump = subprocess.run(["objdump", "-d", "--insn-width=15", sys.argv[1]],
                          check=True, capture_output=True, text=True).stdout
    counts = {k: 0 for k in ("vex", "evex", "ymm", "zmm", "kreg", "hireg")}
    examples = {k: [] for k in counts}
    symbol = "?"
    for line in dump.splitlines():
        m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if m:
            symbol = m.group(1)
            continue
        fields = line.split("\t")
        if len(fields) < 3 or not re.match(r"^\s*[0-9a-f]+:$", fields[0]):
            continue
        raw, text = fields[1], "\t".join(fields[2:]).strip()
        kinds = set()
        enc = encoding(raw)
        if enc:
            kinds.add(enc)
        if "%ymm" in text:
            kinds.add("ymm")
        if "%zmm" in text:
            kinds.add("zmm")
        if re.search(r"%k[0-7]\b", text):
            kinds.add("kreg")
        if re.search(r"%[xy]mm(1[6-9]|2[0-9]|3[01])\b", text):
            kinds.add("hireg")
        for kind in kinds:
            counts[kind] += 1
            if len(examples[kind]) < 3:
                examples[kind].append(f"{symbol}: {text}")
    for kind, n in counts.items():
        print(f"{kind} {n}")
    for kind, lines in examples.items():
        for example in lines:
            print(f"  {kind} example in {example}")


if __name__ == "__main__":
    main()
