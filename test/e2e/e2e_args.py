"""The command line every e2e check shares: an optional input, --tfmc and
--workdir (created when parsed)."""

import argparse
import os


def arg_parser(positional=None):
    ap = argparse.ArgumentParser()
    if positional:
        ap.add_argument(positional)
    ap.add_argument("--tfmc", required=True)
    ap.add_argument("--workdir", required=True)
    return ap


def parse_args(ap):
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    return args
