#!/bin/sh
# Decode speed of a stories15M-shaped model (bench/stories15M-shape.tfm:
# dim 288, 6 layers, 6 heads, FFN 768, vocab 32000, context 256, random
# weights): compile time, then tok/s of prefill and decode at -t 1 and -t 2
# (best of RUNS runs, from the executable's timing line).
#
#   bench/decode.sh [BUILD_DIR]      (default: build)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
RUNS=${RUNS:-3}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

start=$(date +%s.%N)
"$BUILD/bin/tfmc" "$ROOT/bench/stories15M-shape.tfm" -o "$OUT/model"
end=$(date +%s.%N)
echo "== stories15M shape (random weights)"
awk -v s="$start" -v e="$end" 'BEGIN { printf "compile time: %.2f s\n", e - s }'
ls -l "$OUT/model" | awk '{ printf "executable: %.1f MiB\n", $5 / 1048576 }'

printf "%-8s %14s %14s\n" "threads" "prefill tok/s" "decode tok/s"
for t in 1 2; do
  best_p=0; best_d=0
  i=0
  while [ $i -lt "$RUNS" ]; do
    "$OUT/model" -p "1 2 3 4 5 6 7 8" -n 200 --temp 0 -t "$t" >/dev/null 2>"$OUT/err"
    set -- $(awk '/prompt:/ { for (i = 1; i <= NF; i++) if ($i == "tok/s") printf "%s ", $(i-1) }' "$OUT/err")
    best_p=$(awk -v a="$best_p" -v b="$1" 'BEGIN { print (b > a ? b : a) }')
    best_d=$(awk -v a="$best_d" -v b="$2" 'BEGIN { print (b > a ? b : a) }')
    i=$((i + 1))
  done
  printf "%-8s %14.1f %14.1f\n" "$t" "$best_p" "$best_d"
done
