#!/usr/bin/python3
"""same_text.py EXPECTED ACTUAL: ACTUAL (one trailing newline dropped, as
llama2.c's published outputs drop it) must equal EXPECTED byte for byte."""
import sys

expected = open(sys.argv[1], "rb").read()
actual = open(sys.argv[2], "rb").read()
if actual.endswith(b"\n"):
    actual = actual[:-1]
if actual != expected:
    n = next((i for i, (a, b) in enumerate(zip(expected, actual)) if a != b),
             min(len(expected), len(actual)))
    sys.exit(f"differs at byte {n}: expected {expected[n:n + 40]!r}, got {actual[n:n + 40]!r}"
             f" ({len(expected)} vs {len(actual)} bytes)")
print(f"same {len(expected)} bytes")
