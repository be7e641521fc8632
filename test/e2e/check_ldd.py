#!/usr/bin/python3
"""check_ldd.py FILE [SANITIZED]: the shared libraries FILE needs (ldd) must
be the C and C++ runtime only: libc, libm, libstdc++, libgcc_s, the dynamic
loader and the vDSO (no libfmt, nothing from a build tree). SANITIZED is 1 in
a -DTFM_SANITIZE=ON build, whose executables also need the ASan and UBSan
runtimes (lit's %sanitized)."""
import re
import subprocess
import sys

allowed = ("linux-vdso", "libc.so", "libm.so", "libstdc++.so", "libgcc_s.so",
           "ld-linux", "libpthread.so", "libdl.so")
if len(sys.argv) > 2 and sys.argv[2] == "1":
    allowed += ("libasan.so", "libubsan.so")
out = subprocess.run(["ldd", sys.argv[1]], capture_output=True, text=True,
                     check=True).stdout
libs = [line.split()[0] for line in out.splitlines() if line.strip()]
extra = [l for l in libs if not any(re.search(re.escape(a), l) for a in allowed)]
if extra:
    sys.exit("unexpected libraries: " + ", ".join(extra))
print("only system C/C++ libraries: " + " ".join(sorted(
    re.sub(r"\.so.*", "", l.rsplit("/", 1)[-1]) for l in libs)))
