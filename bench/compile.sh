#!/bin/sh
# Compile cost at real model shapes, side by side in one run (issue 10):
#   - random-weight llama2.c checkpoints at the shapes of stories15M,
#     stories110M and TinyLlama-1.1B (dim 2048, hidden 5632, 22 layers, 32
#     heads, 4 KV heads, vocab 32000, context 2048; compiled with the sidecar),
#     written by the project's own fixture writer
#     (test/fixtures/write_checkpoint.py --llama2c-random): tfmc's wall time,
#     its peak RSS (/usr/bin/time), the executable and sidecar sizes, and
#     whether the executable then runs (one token);
#   - a depth sweep, 2, 8 and 32 layers of the stories15M shape (random
#     weights from a description): compile time and --emit=llvm-ir size, with
#     both ratios to 2 layers (goals: < 2x and < 1.2x).
# The machine's load average is printed before and after: the figures of a
# shared machine mean little without it.
#
#   bench/compile.sh [BUILD_DIR]                  (default: build)
#   TFM_BENCH_MODELS=DIR bench/compile.sh         keep the checkpoints in DIR
#                                                 (~4.6 GB) across runs;
#                                                 default: a temporary
#                                                 directory, removed at exit
#   TFM_BENCH_SKIP_TINYLLAMA=1 bench/compile.sh   without the 4 GB model
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
TFMC=$BUILD/bin/tfmc
SHARED=${TFM_TEST_DATA:-$ROOT/../shared}
WRITER="/usr/bin/python3 $ROOT/test/fixtures/write_checkpoint.py --llama2c-random"
OUT=$(mktemp -d)
if [ -n "${TFM_BENCH_MODELS:-}" ]; then
  MODELS=$TFM_BENCH_MODELS
  mkdir -p "$MODELS"
  trap 'rm -rf "$OUT"' EXIT
else
  MODELS=$(mktemp -d)
  trap 'rm -rf "$OUT" "$MODELS"' EXIT
fi
TOKENIZER=
if [ -f "$SHARED/tokenizers/llama2/tokenizer.bin" ]; then
  TOKENIZER="--tokenizer $SHARED/tokenizers/llama2/tokenizer.bin"
fi

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)   ($(nproc) cores)"
printf "%-16s %8s %10s %9s %12s %8s %11s %6s\n" model "ckpt MB" weights \
  "compile s" "peak RSS MB" "exe MB" "sidecar MB" runs

# checkpoint NAME ARGS...: writes $MODELS/NAME.bin unless it exists.
checkpoint() {
  name=$1
  shift
  [ -f "$MODELS/$name.bin" ] || $WRITER "$MODELS/$name.bin" "$@"
}

# compile NAME [tfmc flags...]: compiles $MODELS/NAME.bin to $OUT/NAME.
compile() {
  name=$1
  shift
  rm -f "$OUT/$name" "$OUT/$name.weights"
  # shellcheck disable=SC2086
  /usr/bin/time -f "%e %M" -o "$OUT/time" \
    "$TFMC" "$MODELS/$name.bin" $TOKENIZER --quiet -o "$OUT/$name" "$@"
  read -r wall rss < "$OUT/time"
  ckpt=$(stat -c %s "$MODELS/$name.bin")
  exe=$(stat -c %s "$OUT/$name")
  side=0
  where=embedded
  if [ -f "$OUT/$name.weights" ]; then
    side=$(stat -c %s "$OUT/$name.weights")
    where=sidecar
  fi
  runs=no
  "$OUT/$name" -p "1 2" -n 1 -t 2 >/dev/null 2>&1 && runs=yes
  printf "%-16s %8.0f %10s %9s %12.0f %8.1f %11.0f %6s\n" "$name" \
    "$(echo "$ckpt / 1048576" | bc -l)" "$where" "$wall" \
    "$(echo "$rss / 1024" | bc -l)" "$(echo "$exe / 1048576" | bc -l)" \
    "$(echo "$side / 1048576" | bc -l)" "$runs"
}

checkpoint stories15M --dim 288 --hidden 768 --layers 6 --heads 6 --seq-len 256
compile stories15M
checkpoint stories110M --dim 768 --hidden 2048 --layers 12 --heads 12 --seq-len 1024
compile stories110M
if [ -z "${TFM_BENCH_SKIP_TINYLLAMA:-}" ]; then
  checkpoint tinyllama-1.1B --dim 2048 --hidden 5632 --layers 22 --heads 32 \
    --kv-heads 4 --seq-len 2048
  compile tinyllama-1.1B --weights=mmap
fi

echo
printf "%-16s %9s %12s %9s %9s\n" "depth sweep" "compile s" "llvm-ir KB" "time x2" "ir x2"
base_t= base_ir=
for layers in 2 8 32; do
  sed "s/block x 6/block x $layers/" "$ROOT/bench/stories15M-shape.tfm" > "$OUT/depth.tfm"
  /usr/bin/time -f "%e" -o "$OUT/time" "$TFMC" "$OUT/depth.tfm" --quiet -o "$OUT/depth"
  t=$(cat "$OUT/time")
  "$TFMC" "$OUT/depth.tfm" --quiet --emit=llvm-ir -o "$OUT/depth.ll"
  ir=$(stat -c %s "$OUT/depth.ll")
  [ -n "$base_t" ] || { base_t=$t; base_ir=$ir; }
  printf "%-16s %9s %12.0f %9.2f %9.3f\n" "$layers layers" "$t" \
    "$(echo "$ir / 1024" | bc -l)" "$(echo "$t / $base_t" | bc -l)" \
    "$(echo "$ir / $base_ir" | bc -l)"
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
