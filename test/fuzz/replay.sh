#!/bin/bash
# Replays the fuzz seed corpora and the committed crash regressions
# (test/fuzz/regressions/<target>/*) through the ASan+UBSan fuzz harnesses,
# without fuzzing (libFuzzer -runs=0: every input runs once). Any crash,
# sanitizer report, broken invariant or 10-second hang fails the test.
#
#   test/fuzz/replay.sh [BUILD_DIR]     (default: <repo>/build-fuzz)
#
# Prints "SKIPPED: ..." and exits 0 when clang++-19 or its libFuzzer/sanitizer
# runtimes are missing (ctest: SKIP_REGULAR_EXPRESSION "SKIPPED:").
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build-fuzz}
JOBS=${JOBS:-2}

if ! command -v clang++-19 >/dev/null; then
  echo "SKIPPED: clang++-19 not found"
  exit 0
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char *, unsigned long) { return 0; }' \
  >"$probe/p.cpp"
if ! clang++-19 -fsanitize=fuzzer,address,undefined "$probe/p.cpp" -o "$probe/p" 2>"$probe/err"; then
  echo "SKIPPED: clang++-19 cannot link -fsanitize=fuzzer,address,undefined" \
       "(libclang-rt-19-dev missing?): $(head -1 "$probe/err")"
  exit 0
fi

cmake -S "$ROOT/fuzz" -B "$BUILD" -G Ninja -DCMAKE_C_COMPILER=clang-19 \
  -DCMAKE_CXX_COMPILER=clang++-19 >"$probe/cmake.log" 2>&1 ||
  { cat "$probe/cmake.log"; exit 1; }
ninja -C "$BUILD" -j"$JOBS" >"$probe/build.log" 2>&1 ||
  { tail -50 "$probe/build.log"; exit 1; }
/usr/bin/python3 "$ROOT/fuzz/make_seeds.py" "$probe/seeds" >/dev/null || exit 1

status=0
# libFuzzer refuses a whole run over one bad dictionary line (it knows only
# the escapes \\, \" and \xAB), so scripts/fuzz.sh would stop at once.
mkdir -p "$probe/empty"
for dict in "$ROOT"/fuzz/dicts/*.dict; do
  if "$BUILD/fuzz_npy" -runs=0 -dict="$dict" "$probe/empty" >"$probe/dict.log" 2>&1; then
    echo "PASS: ${dict##*/} parses ($(sed -n 's/^Dictionary: //p' "$probe/dict.log"))"
  else
    echo "FAIL: ${dict##*/}: $(grep -A1 ParseDictionaryFile "$probe/dict.log" | tr '\n' ' ')"
    status=1
  fi
done
for bin in "$BUILD"/fuzz_*; do
  [ -x "$bin" ] || continue
  t=${bin##*/fuzz_}
  dirs=()
  [ -d "$probe/seeds/$t" ] && dirs+=("$probe/seeds/$t")
  [ -d "$ROOT/test/fuzz/regressions/$t" ] && dirs+=("$ROOT/test/fuzz/regressions/$t")
  [ ${#dirs[@]} -eq 0 ] && continue
  n=$(find "${dirs[@]}" -type f | wc -l)
  if "$bin" -runs=0 -timeout=10 -artifact_prefix="$probe/" -rss_limit_mb=2048 "${dirs[@]}" >"$probe/$t.log" 2>&1; then
    echo "PASS: fuzz_$t replayed $n inputs"
  else
    echo "FAIL: fuzz_$t on one of $n inputs:"
    grep -E 'ERROR|SUMMARY|invariant|Running:|runtime error|deadly|timeout' "$probe/$t.log" | tail -15
    status=1
  fi
done
exit $status
