#!/bin/bash
# Decode's arithmetic ceiling beside its read bound, per weight format: how
# fast the generated decode bodies compute when their weights are in cache,
# against how fast the same bodies run when every byte comes from DRAM.
#
#   - hot: one layer of the stories110M shape (dim 768, FFN 2048, the same
#     K = 768 / 2048 bodies, parts and tiles as the full model) with a
#     256-token tied head, so the weights (4-8 MB quantized) stay in the L3
#     cache from token to token; its tok/s x bytes read per token is a lower
#     bound of the bodies' arithmetic rate (the per-token glue, norms,
#     attention and sampling, is counted in its time);
#   - cold: the full stories110M shape (12 layers, 32000-token head), whose
#     weights (62 MB as q4_0) come from DRAM every token;
#   - bound: bench-roofline's read bandwidth at the same thread count, the
#     higher of the readings right before and after each run (the machine's
#     bandwidth moves by 10-20% within minutes).
#
# Bytes per token: the executable's --info weight bytes (the tied head is read
# whole) plus the KV cache at the mean position of the 64 steps. A hot rate
# near the bound says decode is co-limited by arithmetic: reaching the bound
# would take compute and memory traffic to overlap completely.
#
#   bench/arithmetic.sh [BUILD_DIR]          (default: build)
#   FORMATS="q8_0 q4_0 q4_K" ROUNDS=5 THREADS="1 2" select what runs; f32
#   and bf16 (29 / 15 MB for the hot layer) do not stay in a shared L3.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"
BUILD=${1:-$ROOT/build}
FORMATS=${FORMATS:-q8_0 q4_0 q4_K}
ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-1 2}
STEPS=64
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

sed 's/block x 12/block x 1/; s/vocab = 32000/vocab = 256/' \
  "$ROOT/bench/stories110M-shape.tfm" > "$OUT/hot.tfm"
cp "$ROOT/bench/stories110M-shape.tfm" "$OUT/cold.tfm"

# bytes EXE LAYERS: weight bytes + K and V at the mean position (dim 768, f32).
bytes() {
  "$1" --info | awk -v layers="$2" -v steps="$STEPS" '
    /^weight bytes:/ { w = $3 }
    END { printf "%.0f\n", w + layers * 2 * 768 * 4 * (steps + 1) / 2 }'
}

for f in $FORMATS; do
  for shape in hot cold; do
    flag=()
    [ "$f" = f32 ] || flag=(--quantize="$f")
    "$BUILD/bin/tfmc" "$OUT/$shape.tfm" "${flag[@]}" --quiet -o "$OUT/$shape-$f"
  done
  printf '%s\t%s\t%s\n' "$f" "$(bytes "$OUT/hot-$f" 1)" "$(bytes "$OUT/cold-$f" 12)" >> "$OUT/bytes"
done

rate() {
  "$1" -p 1 -n "$STEPS" -t "$2" --temp 0 --ignore-eos 2>&1 > /dev/null |
    awk -F'[,|]' '/generated:/ { split($4, f, " "); print f[1] }'
}

echo "decode's arithmetic ceiling, $ROUNDS rounds, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
: > "$OUT/samples" # format, threads, shape, tok/s, GB/s before, GB/s after
for _ in $(seq "$ROUNDS"); do
  for t in $THREADS; do
    for f in $FORMATS; do
      for shape in hot cold; do
        before=$(read_gbs "$BUILD" "$t")
        r=$(rate "$OUT/$shape-$f" "$t")
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$f" "$t" "$shape" "${r:--}" "$before" "$(read_gbs "$BUILD" "$t")" >> "$OUT/samples"
      done
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

awk -F'\t' '
  FILENAME == ARGV[1] { hot[$1] = $2; cold[$1] = $3; next }
  $4 == "-" { next }
  {
    k = $1 "\t" $2; bw = $5 > $6 ? $5 : $6
    gbs = $4 * ($3 == "hot" ? hot[$1] : cold[$1]) / 1e9
    v[k, $3] = v[k, $3] " " gbs; f[k, $3] = f[k, $3] " " gbs / bw
    b[k] = b[k] " " bw
    if (!(k in seen)) { seen[k] = 1; order[++n] = k }
  }
  '"$AWK_MEDIAN"'
  END {
    printf "%-8s %7s %10s %9s %9s %10s %10s %10s\n", "format", "threads", "bound GB/s", "hot GB/s", "hot MB", "hot/bound", "cold GB/s", "cold/bound"
    for (o = 1; o <= n; o++) {
      k = order[o]; split(k, p, "\t")
      printf "%-8s %7s %10.1f %9.1f %9.1f %10.2f %10.1f %10.2f\n", p[1], p[2], median(b[k]),
        median(v[k, "hot"]), hot[p[1]] / 1e6, median(f[k, "hot"]), median(v[k, "cold"]), median(f[k, "cold"])
    }
  }' "$OUT/bytes" "$OUT/samples"
