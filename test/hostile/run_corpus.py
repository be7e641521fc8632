#!/usr/bin/python3
"""Runs the cases make_corpus.py wrote and checks how each one ends.

Usage: run_corpus.py OUTDIR TFMC SANITIZED [--filter SUBSTRING]

Every case must end by itself (no hang: its `seconds`, default 60), with its
exact exit status (a signal, an abort or a sanitizer report is never one of
them), a stderr holding each expected fragment, a peak RSS under its
`megabytes` (default 1024; the kernel's own count, from wait4) and the files
it must and must not leave. One line per case, then a line per finding
class; the exit status is 1 if any case failed. SANITIZED is 1 for a build
with ASan/UBSan: the limits are then 4 times larger.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time


def expand(value, subst):
    for k, v in subst.items():
        value = value.replace("{" + k + "}", v)
    return value


def run(c, subst, slack):
    """Returns (failures, seconds, megabytes)."""
    argv = [expand(a, subst) for a in c["argv"]]
    cwd = expand(c.get("cwd", subst["dir"]), subst)
    limit = c.get("seconds", 60) * slack
    most = c.get("megabytes", 1024) * slack
    err = tempfile.TemporaryFile()
    out = open(expand(c["stdout"], subst), "wb") if "stdout" in c else subprocess.DEVNULL
    start = time.monotonic()
    p = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                         start_new_session=True)
    status, usage, hung = None, None, False
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - start > limit:
            hung = True
            os.killpg(p.pid, signal.SIGKILL)
            _, status, usage = os.wait4(p.pid, 0)
            break
        time.sleep(0.01)
    p.returncode = 0  # reaped here; Popen must not wait for it again
    seconds = time.monotonic() - start
    megabytes = usage.ru_maxrss / 1024.0
    if out is not subprocess.DEVNULL:
        out.close()
    err.seek(0)
    stderr = err.read().decode("utf-8", "replace")
    fails = []
    if hung:
        fails.append("still running after %d s (killed)" % limit)
    elif os.WIFSIGNALED(status):
        fails.append("killed by signal %d" % os.WTERMSIG(status))
    elif os.WEXITSTATUS(status) != c["rc"]:
        fails.append("exit %d, expected %d" % (os.WEXITSTATUS(status), c["rc"]))
    for fragment in c["expect"]:
        if expand(fragment, subst) not in stderr:
            fails.append("stderr lacks %r" % fragment)
    for marker in ("Sanitizer", "runtime error:", "LLVM ERROR", "Stack dump", "terminate called"):
        if marker in stderr:
            fails.append("stderr has %r" % marker)
    if megabytes > most:
        fails.append("peak RSS %.0f MB, above %d MB" % (megabytes, most))
    for path in c.get("creates", []):
        if not os.path.exists(expand(path, subst)):
            fails.append("did not create %s" % expand(path, subst))
    for path in c.get("absent", []):
        if os.path.lexists(expand(path, subst)):
            fails.append("created %s" % expand(path, subst))
    if fails:
        fails.append("command: %s\n    stderr: %s" % (" ".join(argv), stderr.strip()[:2000]))
    return fails, seconds, megabytes


def main(argv):
    if len(argv) < 4:
        print(__doc__)
        return 2
    outdir, tfmc = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    slack = 4 if argv[3] == "1" else 1
    only = argv[5] if len(argv) > 5 and argv[4] == "--filter" else ""
    cases = json.load(open(os.path.join(outdir, "cases.json")))
    subst = {"tfmc": tfmc, "dir": outdir, "exe": os.path.join(outdir, "exe", "model")}
    failed, by_finding = 0, {}
    for c in cases:
        if only not in c["name"]:
            continue
        fails, seconds, megabytes = run(c, subst, slack)
        failed += bool(fails)
        by_finding.setdefault(c["finding"], []).append(not fails)
        print("%-4s %-34s finding %-2d exit %d  %6.2f s %6.0f MB" %
              ("FAIL" if fails else "ok", c["name"], c["finding"], c["rc"], seconds, megabytes))
        for f in fails:
            print("    " + f)
    for finding in sorted(by_finding):
        oks = by_finding[finding]
        print("finding %d: %d of %d cases ok" % (finding, sum(oks), len(oks)))
    print("%d cases, %d failed" % (sum(map(len, by_finding.values())), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
