#!/bin/bash
# tfmc beside llama.cpp and llama2.c, in one run, with the peers' own bench
# (../shared/peers/bench.sh): decode of 128 tokens and prefill of a 128-token
# prompt at -t 1 and -t 2, median of RUNS runs, on the peers' random-weight
# checkpoints at real shapes (make-models.sh). A peer that is absent is skipped
# by bench.sh; without ../shared/peers this script says so and exits 0.
#
#   bench/peers.sh [LABEL=BUILD_DIR[,TFMC_FLAG...] ...]   (default: tfmc=build)
#
# Each LABEL=BUILD_DIR is a tfmc build (for example before=/tmp/old/build
# after=build generated=build,--kernels=generated): its tfmc compiles SIZE.bin
# with the peers' tokenizer.bin (and the flags after the commas), and the
# executable runs beside the peers. Environment: SIZE (s15|s110, default
# s15), RUNS (default 3), THREADS, TYPES, PEERS (passed to bench.sh),
# PEER_BIN (default /tmp/peer-bin: build-native.sh's output), PEER_MODELS
# (default /tmp/peer-models: make-models.sh's output; made when missing),
# TFMC_FLAGS (extra tfmc flags for every build).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${TFM_TEST_DATA:-$ROOT/../shared}
PEERS_DIR=$SHARED/peers
SIZE=${SIZE:-s15}
PEER_BIN=${PEER_BIN:-/tmp/peer-bin}
PEER_MODELS=${PEER_MODELS:-/tmp/peer-models}

if [ ! -x "$PEERS_DIR/bench.sh" ]; then
  echo "peers.sh: $PEERS_DIR/bench.sh not found; nothing to compare with" >&2
  exit 0
fi
[ -d "$PEER_BIN" ] || "$PEERS_DIR/build-native.sh" "$PEER_BIN"
[ -f "$PEER_MODELS/$SIZE.bin" ] ||
  "$PEERS_DIR/make-models.sh" "$PEER_MODELS" "$SIZE" "$SHARED/tokenizers/llama2/tokenizer.bin"

[ $# -gt 0 ] || set -- "tfmc=$ROOT/build"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
# The machine's limits first: every tok/s below is read against them.
first_build=${1#*=}
first_build=${first_build%%,*}
if [ -x "$first_build/bin/bench-roofline" ]; then
  echo "machine limits (bench-roofline):"
  "$first_build/bin/bench-roofline" > "$OUT/roofline"
  sed 's/^/  /' "$OUT/roofline"
  # f32 decode reads every weight once per token (the classifier is the
  # embedding table): the bandwidth bound is bandwidth / checkpoint size.
  bytes=$(stat -c %s "$PEER_MODELS/$SIZE.bin")
  awk -v b="$bytes" '/^read_gbs_t/ { sub("read_gbs_", "", $1);
    printf "  f32 decode bound %s: %.1f tok/s (%s GB/s over %.0f MB)\n", $1, $2 * 1e9 / b, $2, b / 1e6 }' \
    "$OUT/roofline"
fi
commands=()
for arg in "$@"; do
  label=${arg%%=*} build=${arg#*=}
  flags=""
  case $build in *,*) flags=$(echo "${build#*,}" | tr ',' ' ') build=${build%%,*} ;; esac
  exe=$OUT/$label-$SIZE
  # shellcheck disable=SC2086
  "$build/bin/tfmc" "$PEER_MODELS/$SIZE.bin" --tokenizer "$PEER_MODELS/tokenizer.bin" \
    ${TFMC_FLAGS:-} $flags -o "$exe"
  # The executable's timing line is "prompt: N tokens, X tok/s | generated:
  # N tokens, Y tok/s"; bench.sh wants one line per figure.
  commands+=("$label=$exe -p {prompt} -n {n} -t {t} --temp 0 2>&1 >/dev/null |
    awk -F'[,|]' '/prompt:/ { print \"prefill: \" \$2; print \"decode: \" \$4 }'")
done
SIZE=$SIZE "$PEERS_DIR/bench.sh" "$PEER_BIN" "$PEER_MODELS" "${commands[@]}"
