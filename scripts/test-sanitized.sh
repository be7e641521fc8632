#!/usr/bin/env bash
# Builds everything with AddressSanitizer + UndefinedBehaviorSanitizer in
# build-sanitize/ (-DTFM_SANITIZE=ON: tfmc then links the sanitizer runtime
# into every executable it makes) and runs the whole suite there. Every
# sanitizer report is fatal, so it fails the test that produced it.
#
#   scripts/test-sanitized.sh [CTEST ARGS...]     e.g. -R 'tfmrt|frontend'
#
# About 6x slower than scripts/test.sh on 2 cores; TFM_JOBS sets ninja's -j.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
if [ ! -f build-sanitize/build.ninja ]; then
  cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DLLVM_USE_LINKER=lld -DTFM_SANITIZE=ON
fi
ninja -C build-sanitize -j"${TFM_JOBS:-2}"
built=$(date +%s)
# halt_on_error: UBSan otherwise prints and carries on, and the test passes.
# abort_on_error: a report ends the process with SIGABRT, not exit status 1,
# which lit's `not` (expected failures) would count as the failure it wants.
# allocator_may_return_null: malloc may fail as it does without ASan; the
# runtime checks it (an impossible size would otherwise abort inside ASan).
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1:abort_on_error=1
status=0
(cd build-sanitize && ctest -j2 --output-on-failure "$@") || status=$?
end=$(date +%s)
echo "sanitized suite: build $((built - start)) s, tests $((end - built)) s"
exit $status
