#!/usr/bin/python3
"""Prints the indented (4-space) text block of a model README: its published output."""
import sys

lines = [l[4:] for l in open(sys.argv[1], encoding="utf-8").read().splitlines()
         if l.startswith("    ")]
sys.stdout.write("\n".join(lines))
