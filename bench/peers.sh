#!/bin/bash
# tfmc beside llama.cpp and llama2.c, in one run, with the peers' own bench
# (../shared/peers/bench.sh): decode of 128 tokens and prefill of a 128-token
# prompt at -t 1 and -t 2 (with DEPTH, also decode after a long context),
# median of RUNS runs, on random-weight llama2.c checkpoints at real shapes.
# A peer that is absent is skipped by bench.sh; without ../shared/peers this
# script says so and exits 0.
#
#   bench/peers.sh [LABEL=BUILD_DIR[,TFMC_FLAG...] ...]   (default: tfmc=build)
#
# Each LABEL=BUILD_DIR is a tfmc build (for example before=/tmp/old/build
# after=build loops=build,--no-kernels): its tfmc compiles SIZE.bin
# with the peers' tokenizer.bin (and the flags after the commas), and the
# executable runs beside the peers. The flag gguf:TYPE compiles the peers'
# SIZE-TYPE.gguf instead (q8=build,gguf:q8_0: the file llama.cpp's q8_0 runs).
# Warm-up: llama-bench evaluates the prompt once untimed before its timed
# repetitions, so its pp128 is a warm call (weights, code and buffers
# touched). tfmc's executable gets the same: it runs with --warmup, which
# evaluates the prompt once untimed and forgets it, so its "prompt:" rate is
# a warm 128-token prefill too, not the process's first call (2-4x slower
# on the stories shapes; on the 110M shape half of that call was the kernel
# zeroing the fresh KV cache's and arena's huge pages, which llama-bench's
# warm-up pays for it too).
# Decode starts from an empty KV cache in all three (llama-bench's tg128,
# llama2.c's BOS-only prompt, the executable's default BOS prompt, in a run
# of its own), so each step attends to as many keys in every program. A
# build from before --warmup runs without it (a note says so).
# A SIZE-TYPE.gguf that make-models.sh does not write (bf16, q4_k_m, ...),
# named by gguf:TYPE or by TYPES, is made once by llama-quantize from
# SIZE-f32.gguf (TYPE as llama-quantize names it, any case: q4_k_m is its
# Q4_K_M mix, with q6_K/q8_0 in some layers).
#
# Shapes (SIZE, one or several, default s15):
#   s15   stories15M shape   \  make-models.sh's files (llama2.c .bin and
#   s110  stories110M shape  /   int8, GGUF f32/f16/q8_0/q4_0); made when missing
#   tl1b  TinyLlama-1.1B shape (dim 2048, hidden 5632, 22 layers, GQA 32/4,
#         vocab 32000, context 2048): the compile bench's checkpoint
#         (TL1B_CHECKPOINT, default /tmp/cbench/tinyllama-1.1B.bin; written by
#         test/fixtures/write_checkpoint.py --llama2c-random when absent) and
#         its f32 GGUF by bench/llama2c_to_gguf.py (the peers' converter aborts
#         on a 4 GB model); f32 only (no int8 file for runq).
#
# First the machine's limits (bench-roofline: read bandwidth, f32 FMA peak),
# then per shape bench.sh's table, the limits again (a shared machine's
# bandwidth drifts over a run), and every program's fraction of the
# roofline, against the higher of the two figures: decode tok/s x (the bytes
# it reads per token: its matrices in its own format, bench/matrix_bytes.py
# for a GGUF, and its KV cache at the mean position) / bandwidth, prefill
# tok/s x (2 FLOPs per layer matrix weight, plus the classifier's once per
# prompt: only the last row's logits are computed) / FMA peak.
#
# Environment: SIZE, RUNS (default 3), THREADS, TYPES, PEERS (passed to
# bench.sh), PEER_BIN (default /tmp/peer-bin: build-native.sh's output),
# PEER_MODELS (default /tmp/peer-models: make-models.sh's output), TFMC_FLAGS
# (extra tfmc flags for every build), TL1B_CHECKPOINT, DEPTH (for example
# 1024: per shape also decode of 128 tokens after a DEPTH-token context beside
# llama-bench -d, llama.cpp only; decode_at_depth below), ADJACENT (for
# example 5: per shape also N rounds of decode with the bandwidth measured
# beside each run; adjacent_fractions below).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"
SHARED=${TFM_TEST_DATA:-$ROOT/../shared}
PEERS_DIR=$SHARED/peers
SIZES=${SIZE:-s15}
PEER_BIN=${PEER_BIN:-/tmp/peer-bin}
PEER_MODELS=${PEER_MODELS:-/tmp/peer-models}
TL1B_CHECKPOINT=${TL1B_CHECKPOINT:-/tmp/cbench/tinyllama-1.1B.bin}

if [ ! -x "$PEERS_DIR/bench.sh" ]; then
  echo "peers.sh: $PEERS_DIR/bench.sh not found; nothing to compare with" >&2
  exit 0
fi
[ -d "$PEER_BIN" ] || "$PEERS_DIR/build-native.sh" "$PEER_BIN"
for size in $SIZES; do
  case $size in
    s15 | s110)
      [ -f "$PEER_MODELS/$size.bin" ] ||
        "$PEERS_DIR/make-models.sh" "$PEER_MODELS" "$size" "$SHARED/tokenizers/llama2/tokenizer.bin" ;;
    tl1b)
      mkdir -p "$PEER_MODELS"
      [ -f "$PEER_MODELS/tokenizer.bin" ] ||
        cp "$SHARED/tokenizers/llama2/tokenizer.bin" "$PEER_MODELS/tokenizer.bin"
      if [ ! -f "$PEER_MODELS/tl1b.bin" ]; then
        if [ -f "$TL1B_CHECKPOINT" ]; then
          ln -s "$TL1B_CHECKPOINT" "$PEER_MODELS/tl1b.bin"
        else # bench/compile.sh's TinyLlama shape
          /usr/bin/python3 "$ROOT/test/fixtures/write_checkpoint.py" --llama2c-random \
            "$PEER_MODELS/tl1b.bin" --dim 2048 --hidden 5632 --layers 22 --heads 32 \
            --kv-heads 4 --seq-len 2048
        fi
      fi
      if [ ! -f "$PEER_MODELS/tl1b-f32.gguf" ]; then
        /usr/bin/python3 "$ROOT/bench/llama2c_to_gguf.py" "$PEER_MODELS/tl1b.bin" \
          "$PEER_MODELS/tokenizer.bin" "$PEER_MODELS/tl1b-f32.gguf.tmp"
        mv "$PEER_MODELS/tl1b-f32.gguf.tmp" "$PEER_MODELS/tl1b-f32.gguf"
      fi ;;
    *) echo "peers.sh: SIZE must be s15, s110 or tl1b, got '$size'" >&2; exit 2 ;;
  esac
  for ty in ${TYPES:-} $(printf '%s\n' "$@" | tr ',' '\n' | sed -n 's/^gguf://p'); do
    f=$PEER_MODELS/$size-$ty.gguf
    [ -f "$f" ] && continue
    "$PEER_BIN/llama-quantize" "$PEER_MODELS/$size-f32.gguf" "$f.tmp" "$ty" \
      > "$PEER_MODELS/quantize-$size-$ty.log" 2>&1 ||
      { tail -5 "$PEER_MODELS/quantize-$size-$ty.log" >&2; exit 1; }
    mv "$f.tmp" "$f"
  done
done

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
fi

# The weights of the matrices a token multiplies (llama2.c header: dim,
# hidden, layers, heads, kv heads, vocab (< 0: separate classifier), seq):
# every layer's q, k, v, o, w1, w2, w3 and the classifier; with `layers`,
# the layers' only (a prompt's rows but its last skip the classifier, in
# tfmc and in llama-bench alike).
matrix_params() {
  od -An -t d4 -N 28 "$1" | tr -s ' \n' '  ' | awk -v only="${2:-}" '{ d = $1; h = $2; l = $3; kv = d / $4 * $5; v = $6 < 0 ? -$6 : $6
    printf "%.0f\n", l * (2 * d * d + 2 * kv * d + 3 * d * h) + (only == "layers" ? 0 : v * d) }'
}

# Keys and values a decode step reads from the cache, summed over the
# layers, at the mean position of 128 steps from an empty cache (64.5).
kv_floats_per_token() {
  od -An -t d4 -N 28 "$1" | tr -s ' \n' '  ' | awk '{ printf "%.0f\n", $3 * 2 * $1 / $4 * $5 * 64.5 }'
}

# DEPTH: 128 decode steps after a DEPTH-token context, llama-bench's -d
# (its KV cache filled by a batched prompt before each timed tg128) and the
# executables' "generated:" rate after a DEPTH-token prompt of "a"s (BOS +
# DEPTH-1 x "a", as bench.sh's 128-token prompt). Both evaluate positions
# DEPTH..DEPTH+126 (llama-bench one more), so the context must hold
# DEPTH+128: a shape whose context is shorter (s110: 1024, s15: 256) runs at
# the deepest depth it holds, and the table says which. No --warmup: the
# depth's prefill already touches the weights, code and KV cache that decode
# uses. llama2.c is left out: its timer spans the prompt's token-by-token
# steps too, so the last 128 steps' rate would be the difference of two runs'
# times (one with the prompt only), each mostly the DEPTH prompt steps.
decode_at_depth() {
  local seq depth prompt models="" ty t label exe wtype
  seq=$(od -An -t d4 -j 24 -N 4 "$PEER_MODELS/$SIZE.bin" | tr -d ' ')
  depth=$DEPTH
  [ $((depth + 128)) -le "$seq" ] || depth=$((seq - 128))
  local samples=$OUT/depth-$SIZE.tsv # label, threads, tok/s (one run)
  : > "$samples"
  for ty in $types; do
    [ -f "$PEER_MODELS/$SIZE-$ty.gguf" ] && models=$models${models:+,}$PEER_MODELS/$SIZE-$ty.gguf
  done
  echo
  echo "decode of 128 tokens at depth $depth, $SIZE (context $seq$([ "$depth" = "$DEPTH" ] ||
    echo ": too short for $DEPTH + 128")), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  if [ -n "$models" ] && [[ " ${PEERS:-llama.cpp} " == *" llama.cpp "* ]]; then
    "$PEER_BIN/llama-bench" -m "$models" -t "$(echo "${THREADS:-1 2}" | tr ' ' ,)" -p 0 -n 128 \
      -d "$depth" -r "${RUNS:-3}" -o jsonl > "$OUT/depth-$SIZE.jsonl" 2> "$OUT/depth-$SIZE.log" ||
      { tail -5 "$OUT/depth-$SIZE.log" >&2; }
    sed -nE 's/.*"model_filename": "[^"]*-([^"/]*)\.gguf".*"n_threads": ([0-9]+).*"samples_ts": \[([^]]*)\].*/\1 \2 \3/p' \
      "$OUT/depth-$SIZE.jsonl" | tr -d ',' |
      awk '{ for (i = 3; i <= NF; i++) printf "llama.cpp %s\t%s\t%s\n", $1, $2, $i }' >> "$samples"
  fi
  # The most "a"s whose tokens fit the depth: bench/llama2c_to_gguf.py's
  # vocabulary (tl1b's GGUFs) keeps llama2.c's ' ' for U+2581, so there each
  # " a" is U+2581's 3 byte tokens and "a" (llama-bench's random ids do not
  # care).
  local labels=() exes=() prompts=() one per k n
  while IFS=$'\t' read -r label exe wtype; do
    one=$("$exe" -p a --tokenize < /dev/null | wc -w)
    per=$(($("$exe" -p "a a" --tokenize < /dev/null | wc -w) - one))
    k=$(((depth - one) / per + 1))
    prompt="a$(printf ' a%.0s' $(seq $((k - 1))))"
    n=$("$exe" -p "$prompt" --tokenize < /dev/null | wc -w)
    [ "$n" = "$depth" ] || echo "peers.sh: $label's prompt is $n tokens (\" a\" is $per)" >&2
    labels+=("$label") exes+=("$exe") prompts+=("$prompt")
  done < "$OUT/exes-$SIZE"
  # Runs alternate between the executables, so a disturbance hits them alike.
  for t in ${THREADS:-1 2}; do
    for _ in $(seq "${RUNS:-3}"); do
      for k in "${!exes[@]}"; do
        "${exes[k]}" -p "${prompts[k]}" -n 128 -t "$t" --temp 0 --ignore-eos 2>&1 > /dev/null |
          awk -F'[,|]' -v l="${labels[k]}" -v t="$t" '/generated:/ { split($4, f, " "); print l "\t" t "\t" f[1] }' \
            >> "$samples" || echo "peers.sh: ${labels[k]} failed at depth $depth" >&2
      done
    done
  done
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  # Medians; "of @0": of the same program's decode from an empty cache
  # (bench.sh's row above); "x llama.cpp": tfmc over llama.cpp's same weights
  # type at the same depth.
  awk -F'\t' -v threads="${THREADS:-1 2}" -v d="$depth" '
    FILENAME == ARGV[1] { type[$1] = $3; next }
    FILENAME == ARGV[2] { if ($2 == "decode") zero[$1 "\t" $3] = $4; next }
    { k = $1 "\t" $2; s[k] = s[k] " " $3; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
    '"$AWK_MEDIAN"'
    END {
      nt = split(threads, ts, " ")
      printf "%-24s", "program weights"
      for (i = 1; i <= nt; i++) printf " %11s", "@" d " " ts[i] "T"
      for (i = 1; i <= nt; i++) printf " %11s", "of @0 " ts[i] "T"
      for (i = 1; i <= nt; i++) printf " %13s", "x llama.cpp " ts[i] "T"
      printf "\n"
      for (r = 1; r <= n; r++) for (i = 1; i <= nt; i++) med[order[r], ts[i]] = median(s[order[r] "\t" ts[i]])
      for (r = 1; r <= n; r++) {
        l = order[r]; printf "%-24s", l
        for (i = 1; i <= nt; i++) printf " %11s", med[l, ts[i]] == "" ? "-" : sprintf("%.2f", med[l, ts[i]])
        for (i = 1; i <= nt; i++) {
          z = zero[l "\t" ts[i]]
          printf " %11s", med[l, ts[i]] == "" || z == "" || z == "-" ? "-" : sprintf("%.2f", med[l, ts[i]] / z)
        }
        for (i = 1; i <= nt; i++) {
          p = med["llama.cpp " type[l], ts[i]]
          printf " %13s", !(l in type) || med[l, ts[i]] == "" || p == "" ? "-" : sprintf("%.2fx", med[l, ts[i]] / p)
        }
        printf "\n"
      }
    }' "$OUT/exes-$SIZE" "$OUT/logs-$SIZE/results.tsv" "$samples"
}

# ADJACENT: decode's fraction of the bandwidth bound with the bound read
# beside each run, not once per shape: this machine's read bandwidth moves by
# 10-20% within minutes (a two-thread figure from 44.7 to 33.0 GB/s over one
# shape's runs), more than the differences being measured. Each round runs
# every program once per thread count (tfmc's executables, then llama-bench
# -r 1 on each TYPES file), each run between two bench-roofline readings
# (--mib 512, about a second); a run's fraction is tok/s x its bytes over the
# higher of the two readings at its thread count. Medians, min and max over
# the rounds.
adjacent_fractions() {
  local rounds=$ADJACENT samples=$OUT/adjacent-$SIZE.tsv
  local t label exe wtype ty rate models=() labels=() exes=()
  : > "$samples" # label, threads, tok/s, GB/s before, GB/s after
  while IFS=$'\t' read -r label exe wtype; do labels+=("$label") exes+=("$exe"); done < "$OUT/exes-$SIZE"
  if [[ " ${PEERS:-llama.cpp} " == *" llama.cpp "* ]] && [ -x "$PEER_BIN/llama-bench" ]; then
    for ty in $types; do [ -f "$PEER_MODELS/$SIZE-$ty.gguf" ] && models+=("$ty"); done
  fi
  echo
  echo "decode with the bandwidth read beside each run, $SIZE ($rounds rounds), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  for _ in $(seq "$rounds"); do
    for t in ${THREADS:-1 2}; do
      for k in "${!exes[@]}" ${models[@]+"${models[@]}"}; do
        before=$(read_gbs "$first_build" "$t")
        if [[ $k =~ ^[0-9]+$ ]]; then
          label=${labels[k]}
          rate=$("${exes[k]}" -n 128 -t "$t" --temp 0 --ignore-eos 2>&1 > /dev/null |
            awk -F'[,|]' '/generated:/ { split($4, f, " "); print f[1] }')
        else
          label="llama.cpp $k"
          rate=$("$PEER_BIN/llama-bench" -m "$PEER_MODELS/$SIZE-$k.gguf" -t "$t" -p 0 -n 128 -r 1 -o jsonl 2> /dev/null |
            sed -nE 's/.*"avg_ts": ([0-9.e+]+).*/\1/p')
        fi
        printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$t" "${rate:--}" "$before" "$(read_gbs "$first_build" "$t")" >> "$samples"
      done
    done
  done
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  awk -F'\t' -v threads="${THREADS:-1 2}" '
    FILENAME == ARGV[1] { bytes[$1] = $2; next }
    $3 == "-" || !($1 in bytes) { next }
    {
      k = $1 "\t" $2; bw = $4 > $5 ? $4 : $5
      f[k] = f[k] " " $3 * bytes[$1] / (bw * 1e9); r[k] = r[k] " " $3; g[k] = g[k] " " bw
      if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
    }
    '"$AWK_MEDIAN"'
    function range(list,   a, m) { m = sorted(list, a); return sprintf("%.2f-%.2f", a[1], a[m]) }
    END {
      nt = split(threads, ts, " ")
      printf "%-24s", "program weights"
      for (i = 1; i <= nt; i++) printf " %10s %10s %19s", "tok/s " ts[i] "T", "GB/s " ts[i] "T", "fraction " ts[i] "T"
      printf "\n"
      for (o = 1; o <= n; o++) {
        printf "%-24s", order[o]
        for (i = 1; i <= nt; i++) {
          k = order[o] "\t" ts[i]
          if (!(k in f)) { printf " %10s %10s %19s", "-", "-", "-"; continue }
          printf " %10.1f %10.1f %8.2f (%s)", median(r[k]), median(g[k]), median(f[k]), range(f[k])
        }
        printf "\n"
      }
    }' "$OUT/bytes-$SIZE" "$samples"
}

for SIZE in $SIZES; do
  echo
  echo "== $SIZE"
  params=$(matrix_params "$PEER_MODELS/$SIZE.bin")
  layer_params=$(matrix_params "$PEER_MODELS/$SIZE.bin" layers)
  if [ -f "$OUT/roofline" ]; then
    awk -v p="$params" '/^read_gbs_t/ { sub("read_gbs_", "", $1);
      printf "  f32 decode bound %s: %.1f tok/s (%s GB/s over %.0f MB of matrices)\n", $1, $2 * 1e9 / (4 * p), $2, 4 * p / 1e6 }' \
      "$OUT/roofline"
  fi
  # Bytes each program reads per decoded token (label, bytes): its matrices
  # in their format, and its KV cache at the mean position of 128 decode
  # steps from an empty cache (64.5 keys and values a layer), f32 in tfmc and
  # llama2.c, f16 in llama.cpp (its default).
  kv_floats=$(kv_floats_per_token "$PEER_MODELS/$SIZE.bin")
  bytes_of() { echo $(($(/usr/bin/python3 "$ROOT/bench/matrix_bytes.py" "$1") + $2 * kv_floats)); }
  types=${TYPES:-}
  [ -n "$types" ] || { [ "$SIZE" = tl1b ] && types=f32 || types="f32 f16 q8_0 q4_0"; }
  : > "$OUT/bytes-$SIZE"
  for ty in $types; do
    [ -f "$PEER_MODELS/$SIZE-$ty.gguf" ] &&
      printf 'llama.cpp %s\t%s\n' "$ty" "$(bytes_of "$PEER_MODELS/$SIZE-$ty.gguf" 2)" >> "$OUT/bytes-$SIZE"
  done
  printf 'llama2.c run f32\t%s\n' $((4 * params + 4 * kv_floats)) >> "$OUT/bytes-$SIZE"
  if [ -f "$PEER_MODELS/${SIZE}_q80.bin" ]; then # int8 + an f32 scale per group
    group=$(od -An -t d4 -j 37 -N 4 "$PEER_MODELS/${SIZE}_q80.bin" | tr -d ' ')
    printf 'llama2.c runq int8\t%s\n' $((params + 4 * params / group + 4 * kv_floats)) >> "$OUT/bytes-$SIZE"
  fi
  commands=()
  : > "$OUT/exes-$SIZE" # label, executable, weights type (for DEPTH)
  for arg in "$@"; do
    label=${arg%%=*} build=${arg#*=}
    flags=""
    case $build in *,*) flags=$(echo "${build#*,}" | tr ',' ' ') build=${build%%,*} ;; esac
    exe=$OUT/$label-$SIZE
    # gguf:TYPE compiles the peers' SIZE-TYPE.gguf (the file llama.cpp runs),
    # with its own vocabulary, instead of SIZE.bin.
    model=("$PEER_MODELS/$SIZE.bin" --tokenizer "$PEER_MODELS/tokenizer.bin")
    tfmc_flags=()
    wtype=f32
    for f in $flags; do
      case $f in
        gguf:*) model=("$PEER_MODELS/$SIZE-${f#gguf:}.gguf") wtype=${f#gguf:} ;;
        --quantize=*) tfmc_flags+=("$f") wtype=${f#--quantize=} ;;
        *) tfmc_flags+=("$f") ;;
      esac
    done
    printf '%s\t%s\t%s\n' "$label" "$exe" "$wtype" >> "$OUT/exes-$SIZE"
    case ${model[0]} in
      *.gguf) printf '%s\t%s\n' "$label" "$(bytes_of "${model[0]}" 4)" >> "$OUT/bytes-$SIZE" ;;
      *) printf '%s\t%s\n' "$label" $((4 * params + 4 * kv_floats)) >> "$OUT/bytes-$SIZE" ;;
    esac
    # shellcheck disable=SC2086
    "$build/bin/tfmc" "${model[@]}" --quiet ${TFMC_FLAGS:-} "${tfmc_flags[@]}" -o "$exe"
    warmup=--warmup # not `--help | grep -q`: grep's early exit is a SIGPIPE pipefail sees
    case $("$exe" --help 2>&1) in
      *--warmup*) ;;
      *) warmup=""; echo "peers.sh: $label has no --warmup: its prefill is a first call" >&2 ;;
    esac
    # The executable's timing line is "prompt: N tokens, X tok/s | generated:
    # N tokens, Y tok/s"; bench.sh wants one line per figure.
    # Decode from an empty cache (the prompt is BOS), as llama-bench's tg128
    # and llama2.c's decode, through EOS as theirs (a random model's first
    # token can be EOS); prefill of the 128-token prompt in a second run.
    commands+=("$label=$exe -n {n} -t {t} --temp 0 --ignore-eos $warmup 2>&1 >/dev/null |
      awk -F'[,|]' '/prompt:/ { print \"decode: \" \$4 }';
      $exe -p {prompt} -n 1 -t {t} --temp 0 $warmup 2>&1 >/dev/null |
      awk -F'[,|]' '/prompt:/ { print \"prefill: \" \$2 }'")
  done
  mkdir -p "$OUT/logs-$SIZE"
  SIZE=$SIZE TYPES=$types LOGDIR=$OUT/logs-$SIZE \
    "$PEERS_DIR/bench.sh" "$PEER_BIN" "$PEER_MODELS" "${commands[@]}"
  # Each program's fraction of the roofline (results.tsv: label, metric,
  # threads, median tok/s), against the higher of the limits before and
  # after.
  if [ -f "$OUT/roofline" ]; then
    "$first_build/bin/bench-roofline" > "$OUT/roofline-after"
    echo
    echo "machine limits after $SIZE (bench-roofline):" $(tr '\n' ' ' < "$OUT/roofline-after")
    echo
    echo "fraction of the roofline, $SIZE (decode: of read bandwidth / the bytes the program reads, its matrices and KV cache; prefill: of the f32 FMA peak, 2 FLOPs per layer weight and prompt token, the classifier once per 128 tokens)"
    awk -F'\t' -v p="$params" -v lp="$layer_params" -v threads="${THREADS:-1 2}" '
      FILENAME == ARGV[1] || FILENAME == ARGV[2] {
        split($0, f, " "); if (!(f[1] in lim) || f[2] + 0 > lim[f[1]] + 0) lim[f[1]] = f[2]; next
      }
      FILENAME == ARGV[3] { bytes[$1] = $2; next }
      { v[$1 "\t" $2 "\t" $3] = $4; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
      END {
        nt = split(threads, ts, " ")
        printf "%-24s", "program weights"
        for (i = 1; i <= nt; i++) printf " %11s", "decode " ts[i] "T"
        for (i = 1; i <= nt; i++) printf " %11s", "prefill " ts[i] "T"
        printf "\n"
        for (r = 1; r <= n; r++) {
          printf "%-24s", order[r]
          for (i = 1; i <= nt; i++) {
            x = v[order[r] "\tdecode\t" ts[i]]; bw = lim["read_gbs_t" ts[i]]
            b = bytes[order[r]]
            if (x == "" || x == "-" || bw == "" || b == "") printf " %11s", "-"
            else printf " %11.2f", x * b / (bw * 1e9)
          }
          for (i = 1; i <= nt; i++) {
            x = v[order[r] "\tprefill\t" ts[i]]
            peak = lim["fma512_gflops_t" ts[i]]; if (peak == "") peak = lim["fma256_gflops_t" ts[i]]
            if (x == "" || x == "-" || peak == "") printf " %11s", "-"
            else printf " %11.2f", x * 2 * (lp + (p - lp) / 128) / (peak * 1e9)
          }
          printf "\n"
        }
      }' "$OUT/roofline" "$OUT/roofline-after" "$OUT/bytes-$SIZE" "$OUT/logs-$SIZE/results.tsv"
  fi
  if [ -n "${DEPTH:-}" ]; then decode_at_depth; fi
  if [ -n "${ADJACENT:-}" ] && [ -f "$OUT/roofline" ]; then adjacent_fractions; fi
done
