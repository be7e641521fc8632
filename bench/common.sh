# shellcheck shell=bash
# Helpers sourced by bench/peers.sh and bench/arithmetic.sh.

# read_gbs BUILD THREADS: bench-roofline's best read bandwidth (GB/s) at
# THREADS threads, over 512 MiB (about a second).
read_gbs() {
  "$1/bin/bench-roofline" --mib 512 | awk -v k="read_gbs_t$2" '$1 == k { print $2 }'
}

# awk functions over a space-separated list of numbers: sorted (into a, the
# count returned) and median ("" for none).
# shellcheck disable=SC2034 # used by the scripts that source this file
AWK_MEDIAN='
    function sorted(list, a,   m, i, j, x) {
      m = split(list, a, " ")
      for (i = 2; i <= m; i++) { x = a[i]; for (j = i - 1; j > 0 && a[j] + 0 > x + 0; j--) a[j + 1] = a[j]; a[j + 1] = x }
      return m
    }
    function median(list,   a, m) { m = sorted(list, a); return m == 0 ? "" : m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2 }'
