#!/usr/bin/env bash
# Checks that the project's C and C++ sources are formatted as .clang-format
# says (LLVM style, clang-format-19): prints every drift and exits non-zero if
# there is any. Reformat a file with `clang-format-19 -i FILE`.
#   scripts/check-format.sh [FILE...]   (default: every source outside build*/)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(find . -mindepth 1 \( -path './build*' -o -path './.*' \) -prune -o \
    -type f \( -name '*.cpp' -o -name '*.h' -o -name '*.c' \) -print | sort)
fi
clang-format-19 --dry-run -Werror "${files[@]}"
echo "check-format: ${#files[@]} files formatted"
