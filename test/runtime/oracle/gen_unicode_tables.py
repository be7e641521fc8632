#!/usr/bin/python3
"""Generates runtime/src/Utf8Tables.inc: code point ranges of the Unicode
general categories L* (letters) and N* (numbers) that GPT-2's
pre-tokenisation regex uses (\\p{L}, \\p{N}), from Python's unicodedata.

Usage: /usr/bin/python3 test/runtime/oracle/gen_unicode_tables.py > runtime/src/Utf8Tables.inc
"""
import sys
import unicodedata


def ranges(pred):
    out, start = [], None
    for cp in range(0x110001):
        inside = cp <= 0x10FFFF and pred(chr(cp))
        if inside and start is None:
            start = cp
        elif not inside and start is not None:
            out.append((start, cp - 1))
            start = None
    return out


def emit(name, rs):
    print(f"static const CodePointRange {name}[] = {{")
    for i in range(0, len(rs), 4):
        row = ", ".join(f"{{0x{a:04X}, 0x{b:04X}}}" for a, b in rs[i:i + 4])
        print(f"    {row},")
    print("};")


def main():
    print("//===- Utf8Tables.inc - Unicode letter/number ranges ------*- C++ -*-===//")
    print("//")
    print("// GENERATED FILE, do not edit. Produced by")
    print("//   /usr/bin/python3 test/runtime/oracle/gen_unicode_tables.py")
    print(f"// from Python's unicodedata (Unicode {unicodedata.unidata_version}).")
    print("// Sorted, non-overlapping, inclusive [first, last] ranges.")
    print("//")
    print("//===----------------------------------------------------------------------===//")
    print()
    emit("kLetterRanges", ranges(lambda c: unicodedata.category(c).startswith("L")))
    print()
    emit("kNumberRanges", ranges(lambda c: unicodedata.category(c).startswith("N")))


if __name__ == "__main__":
    sys.exit(main())
