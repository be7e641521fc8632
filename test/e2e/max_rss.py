#!/usr/bin/python3
"""Runs a command and fails if its peak resident memory exceeds a limit.

  max_rss.py LIMIT_MIB COMMAND [ARGS...]

The command's stdout and stderr pass through; the exit status is the
command's (128 + N when signal N killed it), or 1 when it used more than
LIMIT_MIB.
"""

import resource
import subprocess
import sys


def main():
    limit_mib = int(sys.argv[1])
    rc = subprocess.call(sys.argv[2:])
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if rc != 0:
        sys.exit(rc if rc > 0 else 128 - rc)
    if peak_mib > limit_mib:
        sys.exit(f"FAIL: peak resident memory {peak_mib:.0f} MiB > {limit_mib} MiB")


if __name__ == "__main__":
    main()
