#!/usr/bin/env bash
# Installs every Debian package tfmc needs to build, test and benchmark.
# Idempotent: when everything is present it only checks and exits.
set -euo pipefail

PKGS=(
  # Toolchain and build.
  cmake ninja-build g++ lld-19
  # libFuzzer and sanitizer runtimes of clang-19 (fuzz/, TFM_SANITIZE builds).
  libclang-rt-19-dev
  # LLVM/MLIR 19 (never libmlir-22-dev: it silently removes MLIR 19).
  llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools clang-19
  # scripts/check-format.sh.
  clang-format-19
  # Needed by the LLVM/MLIR CMake config on a fresh machine.
  libzstd-dev zlib1g-dev libedit-dev libcurl4-openssl-dev libxml2-dev
  # Libraries.
  libfmt-dev libgtest-dev googletest
  # Reference checks in tests.
  python3 python3-numpy python3-torch python3-sentencepiece
  # tfm-inspect's pictures (tfm_plot.py draws the numbers tfm-inspect computes).
  python3-matplotlib
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
