#!/usr/bin/python3
"""SentencePiece oracle for the tokenizer tests.

Usage: spm_vectors.py TOKENIZER.model CORPUS

CORPUS holds byte strings, each followed by the line "__tfm_corpus__" (so a
string is everything up to "\\n__tfm_corpus__\\n"). The strings may contain
invalid UTF-8: they are passed to SentencePiece as bytes, which then replaces
each invalid byte by U+FFFD. Prints one line per string: the ids of
SentencePiece's encode (no BOS), space-separated (an empty line for none).
Exit code 3 if the sentencepiece module is missing.
"""
import sys

SEPARATOR = b"\n__tfm_corpus__\n"


def main():
    try:
        import sentencepiece
    except ImportError:
        print("python module sentencepiece is not installed", file=sys.stderr)
        return 3
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    sp = sentencepiece.SentencePieceProcessor(model_file=sys.argv[1])
    with open(sys.argv[2], "rb") as f:
        data = f.read()
    strings = data.split(SEPARATOR)
    if strings[-1] != b"":
        print("corpus does not end with a separator", file=sys.stderr)
        return 2
    for s in strings[:-1]:
        print(" ".join(str(i) for i in sp.encode(s)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
