#!/usr/bin/env bash
# Builds everything and runs the whole test suite (GoogleTest, lit, Python
# reference checks, end-to-end) through ctest, which prints the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd build
ctest -j2 --output-on-failure "$@"
