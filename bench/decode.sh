#!/bin/sh
# Whole-model speed, side by side in one run: compile time, then prefill and
# decode tok/s at -t 1 and -t 2 (best of RUNS runs, from the executable's
# timing line) for
#   - bench/stories15M-shape.tfm (dim 288, 6 layers, 6 heads, FFN 768, vocab
#     32000, context 256, random weights) and bench/stories110M-shape.tfm
#     (dim 768, 12 layers, FFN 2048, context 1024), with generated linear
#     layers; the 15M shape also with --no-kernels (every matmul as compiled
#     loops): the kernels' justification;
#   - the real aidreams260K checkpoint, when ../shared is present.
#
#   bench/decode.sh [BUILD_DIR]      (default: build)
#   SHAPES="15M 110M" LOOPS=1 RUNS=3 select what runs.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
RUNS=${RUNS:-3}
SHARED=${TFM_TEST_DATA:-$ROOT/../shared}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

printf "%-28s %9s %9s %12s %12s %12s %12s\n" model "compile s" "out MiB" \
  "prefill t1" "decode t1" "prefill t2" "decode t2"

# bench NAME PROMPT N MODEL [tfmc flags...]
bench() {
  name=$1 prompt=$2 n=$3 model=$4
  shift 4
  start=$(date +%s.%N)
  "$BUILD/bin/tfmc" "$model" "$@" --quiet -o "$OUT/$name"
  end=$(date +%s.%N)
  compile=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }')
  # The executable plus its sidecar, if the weights went there.
  size=$(cat "$OUT/$name" "$OUT/$name.weights" 2>/dev/null | wc -c | awk '{ printf "%.1f", $1 / 1048576 }')
  row=""
  for t in 1 2; do
    best_p=0; best_d=0; i=0
    while [ $i -lt "$RUNS" ]; do
      "$OUT/$name" -p "$prompt" -n "$n" --temp 0 -t "$t" >/dev/null 2>"$OUT/err"
      set -- $(awk '/prompt:/ { for (i = 1; i <= NF; i++) if ($i == "tok/s") printf "%s ", $(i-1) }' "$OUT/err")
      best_p=$(awk -v a="$best_p" -v b="$1" 'BEGIN { print (b > a ? b : a) }')
      best_d=$(awk -v a="$best_d" -v b="$2" 'BEGIN { print (b > a ? b : a) }')
      i=$((i + 1))
    done
    row="$row $(printf "%12.1f %12.1f" "$best_p" "$best_d")"
  done
  printf "%-28s %9s %9s%s\n" "$name" "$compile" "$size" "$row"
}

IDS=$(seq 1 32 | tr '\n' ' ')
SHAPES=${SHAPES:-15M 110M}
for shape in $SHAPES; do
  bench "stories$shape-shape" "$IDS" 200 "$ROOT/bench/stories$shape-shape.tfm"
done
if [ "${LOOPS:-1}" = 1 ]; then
  bench stories15M-shape-loops "$IDS" 64 "$ROOT/bench/stories15M-shape.tfm" --no-kernels
fi
if [ -f "$SHARED/models/aidreams260K/model.bin" ]; then
  bench aidreams260K "Once upon a time" 115 "$ROOT/examples/aidreams260K.tfm"
fi
