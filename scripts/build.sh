#!/usr/bin/env bash
# Configures (once) and builds tfmc, tfm-opt, the runtime and the tests in build/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLVM_USE_LINKER=lld
fi
# -j2: MLIR translation units take up to 1.5 GB each.
ninja -C build -j"${TFM_JOBS:-2}"
