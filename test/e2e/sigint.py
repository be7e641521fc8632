#!/usr/bin/python3
"""sigint.py EXE ARGS...: runs EXE -i ARGS with standard input held open,
sends SIGINT (Ctrl-C) once it waits for a line ("> " on stderr), and prints
its exit code, stdout and stderr for FileCheck."""
import signal
import subprocess
import sys

p = subprocess.Popen(sys.argv[1:] + ["-i"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
err = b""
while not err.endswith(b"> "):
    c = p.stderr.read(1)
    if not c:
        sys.exit("the executable ended before asking for input: " + err.decode())
    err += c
p.send_signal(signal.SIGINT)
out, rest = p.communicate(timeout=60)
print(f"exit {p.returncode}")
print("stdout: " + out.decode().replace("\n", "|"))
print("stderr: " + (err + rest).decode().replace("\n", "|"))
