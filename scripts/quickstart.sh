#!/usr/bin/env bash
# From a fresh Debian 12 machine (as root): install what tfmc needs, build it,
# compile the real aidreams260K checkpoint into an executable, generate text.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
shared="${TFM_TEST_DATA:-$(pwd)/../shared}"
mkdir -p out
if [ -f "$shared/models/aidreams260K/model.bin" ]; then
  build/bin/tfmc examples/aidreams260K.tfm -o out/aidreams260K
  out/aidreams260K -p "Once upon a time" -n 116 --temp 0
else
  echo "quickstart: $shared/models/aidreams260K is absent; compiling a random-weight example instead"
  build/bin/tfmc examples/llama-style.tfm -o out/llama-style
  out/llama-style -p "1 2 3" -n 16 --temp 0
fi
