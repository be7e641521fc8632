#!/bin/sh
# Attention alone, fused (generated online softmax, never a T x S score
# matrix) vs unfused (tfmc --no-fuse: matmul, scale, mask, softmax,
# matmul as linalg loops with the scores materialised), on a one-block model
# (bench/attention-1layer.tfm: 4 heads x 64, context 2048) whose cost at long
# T is attention. Prefill at T = 128, 512, 1024, 2048; decode of the last
# 128 positions of a 2048 context. Time from the executable's timing line,
# peak memory from /usr/bin/time -v (max RSS). Then the whole-model table:
# arena size vs. the naive sum of buffers for examples/*.tfm.
#
#   bench/attention.sh [BUILD_DIR]      (default: build)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
TFMC=$BUILD/bin/tfmc
THREADS=${THREADS:-1}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# One prefill call per prompt (no chunks), so each row compares the two
# attentions at that T.
$TFMC "$ROOT/bench/attention-1layer.tfm" --prefill-chunk=2048 -o "$OUT/fused"
$TFMC "$ROOT/bench/attention-1layer.tfm" --prefill-chunk=2048 --no-fuse -o "$OUT/unfused"

ids() { # N token ids
  awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "%d ", (i * 37 + 11) % 256 }'
}

# run EXE PROMPT_TOKENS N_PREDICT -> "prefill_tok/s decode_tok/s maxrss_kB"
run() {
  ids "$2" > "$OUT/prompt"
  /usr/bin/time -v "$1" -f "$OUT/prompt" -n "$3" --temp 0 -t "$THREADS" \
    >/dev/null 2>"$OUT/err"
  awk '/prompt:/ { for (i = 1; i <= NF; i++) { if ($i == "tok/s") r[++k] = $(i-1) } }
       /Maximum resident/ { rss = $NF }
       END { printf "%s %s %s", r[1], (k > 1 ? r[2] : "-"), rss }' "$OUT/err"
}

echo "== attention (1 block, 4 heads x 64, context 2048, -t $THREADS)"
printf "%-22s %14s %14s %12s %12s %9s\n" "case" "fused tok/s" "unfused tok/s" \
  "fused MiB" "unfused MiB" "speedup"
for T in 128 512 1024 2048; do
  set -- $(run "$OUT/fused" "$T" 1) ; f=$1 ; fr=$3
  set -- $(run "$OUT/unfused" "$T" 1) ; u=$1 ; ur=$3
  awk -v t="$T" -v f="$f" -v u="$u" -v fr="$fr" -v ur="$ur" 'BEGIN {
    printf "%-22s %14.1f %14.1f %12.1f %12.1f %8.2fx\n", "prefill T=" t, f, u,
      fr / 1024, ur / 1024, f / u }'
done
# Decode: prefill 1920 tokens, then 127 decode steps at positions 1920..2047.
set -- $(run "$OUT/fused" 1920 127) ; f=$2 ; fr=$3
set -- $(run "$OUT/unfused" 1920 127) ; u=$2 ; ur=$3
awk -v f="$f" -v u="$u" -v fr="$fr" -v ur="$ur" 'BEGIN {
  printf "%-22s %14.1f %14.1f %12.1f %12.1f %8.2fx\n", "decode @1920..2047", f, u,
    fr / 1024, ur / 1024, f / u }'
echo "(score matrix the unfused prefill materialises at T=2048: 4 x 2048 x 2048 x 4 B = 64 MiB)"

echo
# Attention-heavy runs at context >= 1024, -t 1 and -t 2 (best of 3 runs:
# the machine is shared, the best run is the least disturbed one): prefill of
# 1024 and 1920 tokens, then decode of 127 tokens after them. The attention
# is tfm-generate-attention's; libtfmrt's hand-written kernel was deleted once
# this table showed the generated one faster (docs/design.md, Kernels).
echo "== generated attention at long context (1 block, 4 heads x 64, tok/s)"
printf "%-26s %12s\n" "case" "tok/s"
# best EXE PROMPT_TOKENS: the highest prefill and decode tok/s of 3 runs.
best() {
  for i in 1 2 3; do run "$1" "$2" 127; echo; done |
    awk 'BEGIN { p = 0; d = 0 } { if ($1 > p) p = $1; if ($2 > d) d = $2 }
         END { printf "%s %s", p, d }'
}
for t in 1 2; do
  THREADS=$t
  for P in 1024 1920; do
    set -- $(best "$OUT/fused" "$P")
    awk -v p="$P" -v t="$t" -v gp="$1" -v gd="$2" 'BEGIN {
      printf "%-26s %12.1f\n", "prefill T=" p " -t " t, gp
      printf "%-26s %12.1f\n", "decode @" p ".." p + 126 " -t " t, gd }'
  done
done

echo
echo "== activation memory per entry point (tfm-plan-memory; T at the prefill chunk, default 256)"
printf "%-28s %-12s %12s %12s %8s %7s\n" "model" "entry" "arena B" "naive B" "allocs" "ratio"
for m in "$ROOT"/examples/*.tfm "$ROOT"/bench/*.tfm; do
  for fuse in "" "--no-fuse"; do
    $TFMC "$m" $fuse --emit=memory-plan | awk -v m="$(basename "$m" .tfm)${fuse:+ (no-fuse)}" '
      /^memory plan of @/ { fn = substr($4, 2) }
      /arena:/ && /naive/ { printf "%-28s %-12s %12d %12d %8d %6.1f%%\n", m, fn, $2, $9, $12, 100 * $2 / $9 }'
  done
done
