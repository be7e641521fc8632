#!/usr/bin/python3
"""The attention probe (tfmc --probes=attention) against the PyTorch oracle.

  check_attention.py EXAMPLE.tfm --tfmc PATH --workdir DIR [--prefill-chunk N]
                     [--production]

1. Writes random weights and a description reading them, as check_example.py.
2. Compiles it with --probes=attention and runs the executable on a fixed
   prompt with --attention-out (a float32 .npy [layers, heads, P, P]).
3. Runs test/reference/reference.py --attention-out on the same description.
4. Compares every probability (max abs error 1e-5), and checks causality
   (zero above the diagonal) and that rows sum to 1.
With --production, also compiles without --probes and checks that the
executable has no probe symbol and refuses --attention-out with a message.
"""

import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from check_example import PROMPT, arg_parser, parse_args, run, with_safetensors_weights  # noqa: E402

TOLERANCE = 1e-5


def main():
    ap = arg_parser("example")
    ap.add_argument("--prefill-chunk", type=int)
    ap.add_argument("--production", action="store_true")
    args = parse_args(ap)
    name = os.path.splitext(os.path.basename(args.example))[0]

    arch, desc = with_safetensors_weights(args.example, args.workdir, seed=20261202)

    exe = os.path.join(args.workdir, name)
    flags = ["--probes=attention", "--quiet"]
    if args.prefill_chunk:
        flags.append(f"--prefill-chunk={args.prefill_chunk}")
    run([args.tfmc, desc, "-o", exe] + flags)
    got_path = os.path.join(args.workdir, "exe.npy")
    run([exe, "-p", " ".join(map(str, PROMPT)), "-n", "1", "--temp", "0", "--no-timing",
         "--attention-out", got_path])
    want_path = os.path.join(args.workdir, "ref.npy")
    run(["/usr/bin/python3", os.path.join(ROOT, "test", "reference", "reference.py"), desc,
         "--tokens", ",".join(map(str, PROMPT)), "--attention-out", want_path])
    got, want = np.load(got_path), np.load(want_path)
    p = len(PROMPT)
    shape = (arch["n_layers"], arch["n_heads"], p, p)
    if got.dtype != np.float32 or got.shape != shape or want.shape != shape:
        sys.exit(f"FAIL: {name}: shapes {got.dtype} {got.shape} / {want.shape}, expected {shape}")
    err = float(np.max(np.abs(got - want)))
    upper = float(np.max(np.abs(np.triu(got, k=1))))
    sums = float(np.max(np.abs(got.sum(axis=-1) - 1)))
    mode = f"prefill chunks of {args.prefill_chunk}" if args.prefill_chunk else "one prefill call"
    print(f"{name} attention ({mode}): {shape}, max abs error {err:.3g}, "
          f"above the diagonal {upper:.3g}, |row sum - 1| <= {sums:.3g}")
    if err > TOLERANCE or upper != 0 or sums > 1e-5:
        sys.exit("FAIL")

    if args.production:
        plain = exe + "-plain"
        run([args.tfmc, desc, "-o", plain, "--quiet"])
        symbols = run(["nm", plain])
        probed = run(["nm", exe])
        if "tfm_probe_attention" in symbols or "tfm_block_probe_attention" in symbols:
            sys.exit("FAIL: a production executable has a probe symbol")
        if "_mlir_ciface_tfm_probe_attention" not in probed:
            sys.exit("FAIL: the probed executable has no _mlir_ciface_tfm_probe_attention")
        r = subprocess.run([plain, "-p", "1 2", "-n", "1", "--attention-out",
                            os.path.join(args.workdir, "none.npy")], capture_output=True, text=True)
        if r.returncode != 2 or "--probes=attention" not in r.stderr:
            sys.exit(f"FAIL: --attention-out without the probe: exit {r.returncode}, {r.stderr}")
        print(f"{name}: without --probes no probe symbol; --attention-out refused: {r.stderr.strip()}")


if __name__ == "__main__":
    main()
