#!/bin/bash
# Builds the libFuzzer targets (fuzz/, clang 19) and runs each on its seed
# corpus for SECONDS (default 60), with the dictionary of its input language
# (fuzz/dicts/), then prints one summary line per target.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 10 gguf
#
# Environment: BUILD (default build-fuzz), JOBS (build parallelism, default 2).
# The growing corpus of each target is kept in $BUILD/corpus/<target> (seeds
# stay in $BUILD/seeds/<target>); crashes land in $BUILD/crashes/<target>/.
# To keep a crash as a regression input, copy it to test/fuzz/regressions/<target>/.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_PER=${1:-60}
shift || true
BUILD=${BUILD:-$ROOT/build-fuzz}
JOBS=${JOBS:-2}
ALL="config description llama2c gguf_import safetensors gguf npy tokenizer_llama2c tokenizer_deserialize tokenizer_gpt2 tokenizer_encode"
TARGETS=${*:-$ALL}

command -v clang++-19 >/dev/null || { echo "fuzz.sh: clang++-19 not found" >&2; exit 1; }
cmake -S "$ROOT/fuzz" -B "$BUILD" -G Ninja -DCMAKE_C_COMPILER=clang-19 \
  -DCMAKE_CXX_COMPILER=clang++-19 >/dev/null || exit 1
ninja -C "$BUILD" -j"$JOBS" >/dev/null || { ninja -C "$BUILD" -j1 | tail -40; exit 1; }
rm -rf "$BUILD/seeds"
/usr/bin/python3 "$ROOT/fuzz/make_seeds.py" "$BUILD/seeds" >/dev/null || exit 1

summary=()
status=0
for t in $TARGETS; do
  corpus=$BUILD/corpus/$t
  crashes=$BUILD/crashes/$t
  mkdir -p "$corpus" "$crashes"
  log=$BUILD/logs/$t.log
  mkdir -p "$(dirname "$log")"
  dict=()
  case $t in
    config | safetensors | tokenizer_gpt2) dict=(-dict="$ROOT/fuzz/dicts/json.dict") ;;
    gguf | gguf_import) dict=(-dict="$ROOT/fuzz/dicts/gguf.dict") ;;
    description) dict=(-dict="$ROOT/fuzz/dicts/description.dict") ;;
  esac
  echo "== fuzz_$t for ${SECONDS_PER}s" >&2
  "$BUILD/fuzz_$t" -max_total_time="$SECONDS_PER" -timeout=10 -rss_limit_mb=2048 \
    -max_len=131072 -print_final_stats=1 "${dict[@]}" -artifact_prefix="$crashes/" \
    "$corpus" "$BUILD/seeds/$t" >"$log" 2>&1
  rc=$?
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
  corp=$(echo "$last" | sed -n 's/.*corp: \([^ ]*\).*/\1/p')
  if [ $rc -eq 0 ]; then
    result=ok
  else
    result="FAILED (rc $rc): $(ls -t "$crashes" | head -1) -- see $log"
    status=1
  fi
  summary+=("$(printf '%-22s execs %-9s cov %-5s ft %-6s corpus %-12s %s' \
    "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result")")
done
echo
printf '%s\n' "${summary[@]}"
exit $status
