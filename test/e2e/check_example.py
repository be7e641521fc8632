#!/usr/bin/python3
"""End-to-end check of one architecture: tfmc's executable vs the PyTorch oracle.

  check_example.py EXAMPLE.tfm --tfmc PATH --workdir DIR [--no-fuse] [--prefill-chunk N]
                   [--target-cpu CPU] [--target TARGET]

1. Writes random weights (numpy, seeded) with canonical names into a real
   safetensors file, and a copy of EXAMPLE.tfm whose `weights = random(...)`
   is replaced by that file with an explicit name mapping.
2. Compiles it with tfmc and runs the executable greedily on a fixed prompt
   with --logits-out (prompt rows, then one row per decode step). With a
   --prefill-chunk shorter than the prompt, the prompt is evaluated in
   several calls, each at its own position.
3. Runs test/reference/reference.py on the same description and weights.
4. Compares every logits row (max abs error relative to the largest logit,
   tolerance 1e-4) and the greedy tokens, and prints one summary line.
"""

import os
import re
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "test", "reference"))
sys.path.insert(0, os.path.join(ROOT, "test", "fixtures"))
import reference  # noqa: E402
import tfm_to_arch  # noqa: E402
from write_checkpoint import write_safetensors  # noqa: E402
from e2e_args import arg_parser, parse_args  # noqa: E402,F401 (re-exported)

PROMPT = [1, 17, 42, 99, 5, 300, 7, 128]
STEPS = 8
TOLERANCE = 1e-4
# With q8_0 layers' integer dot products (activations quantized to int8 per
# block of 32): issue 12's bound on the max abs logit error relative to the
# logit scale.
INT_DOT_TOLERANCE = 1e-2


def random_weights(shapes, seed):
    """Scaled like trained weights so that logits are O(1..10)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in sorted(shapes.items()):
        if name.endswith("norm.weight"):
            w = 1.0 + 0.1 * rng.standard_normal(shape)
        elif name.endswith(".bias"):
            w = 0.1 * rng.standard_normal(shape)
        elif name.startswith(("tok_embeddings", "pos_embeddings")):
            w = rng.standard_normal(shape)
        else:
            w = rng.uniform(-1.0, 1.0, shape) * np.sqrt(3.0 / shape[1])
        out[name] = w.astype(np.float32)
    return out


def templated(names):
    """layers.3.wq.weight -> layers.{i}.wq.weight, each template once."""
    return sorted({re.sub(r"^layers\.\d+\.", "layers.{i}.", n) for n in names})


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {r.returncode}\n{r.stderr}")
    return r.stdout


def with_safetensors_weights(example, workdir, seed):
    """Writes random weights for EXAMPLE into workdir/weights.safetensors and a
    copy of the description that maps them; returns (arch, description path)."""
    arch = reference.complete_arch(tfm_to_arch.translate(example)["arch"])
    shapes = reference.expected_shapes(arch)
    write_safetensors(os.path.join(workdir, "weights.safetensors"),
                      random_weights(shapes, seed=seed))
    text = open(example).read()
    mapping = "\n".join(f'    "{t}" = "{t}"' for t in templated(shapes))
    text, n = re.subn(r"weights\s*=\s*random\([^)]*\)",
                      f'weights = safetensors("weights.safetensors") {{\n{mapping}\n  }}', text)
    if n != 1:
        sys.exit(f"FAIL: {example} has no `weights = random(...)` line")
    desc = os.path.join(workdir, os.path.splitext(os.path.basename(example))[0] + ".tfm")
    open(desc, "w").write(text)
    return arch, desc


def run_reference(model, tokens, steps, logits_out, extra=()):
    """The oracle's greedy tokens (the first `steps`), its logits in logits_out."""
    out = run(["/usr/bin/python3", os.path.join(ROOT, "test", "reference", "reference.py"),
               model, "--tokens", ",".join(map(str, tokens)), "--steps", str(steps - 1),
               "--logits-out", logits_out] + list(extra))
    return [int(t) for t in out.strip().split(",")][:steps]


def compare_logits(label, got, want, exe_tokens, ref_tokens, detail="",
                   tolerance=TOLERANCE, tokens_must_match=True):
    """Max abs error relative to the largest reference logit (at most
    `tolerance`), and the greedy tokens (equal unless not
    `tokens_must_match`); prints one summary line and exits 1 on a
    failure."""
    err = float(np.max(np.abs(got - want)))
    scale = float(np.max(np.abs(want)))
    rel = err / scale if scale else err
    print(f"{label}, max abs error {err:.3g}, max |logit| {scale:.3g}, relative {rel:.3g}; "
          f"greedy {'equal' if exe_tokens == ref_tokens else 'DIFFERENT'} ({len(exe_tokens)} tokens)")
    if rel > tolerance or (tokens_must_match and exe_tokens != ref_tokens):
        print(f"FAIL: exe tokens {exe_tokens}\n      ref tokens {ref_tokens}\n{detail}")
        sys.exit(1)


def main():
    ap = arg_parser("example")
    ap.add_argument("--no-fuse", action="store_true")
    ap.add_argument("--prefill-chunk", type=int)
    ap.add_argument("--target-cpu", help="tfmc --target-cpu (default: the host)")
    ap.add_argument("--target", help="tfmc --target (default: the host)")
    args = parse_args(ap)
    name = os.path.splitext(os.path.basename(args.example))[0]

    arch, desc = with_safetensors_weights(args.example, args.workdir, seed=20261125)

    exe = os.path.join(args.workdir, name)
    flags = ["--no-fuse"] if args.no_fuse else []
    if args.prefill_chunk:
        flags.append(f"--prefill-chunk={args.prefill_chunk}")
    if args.target_cpu:
        flags.append(f"--target-cpu={args.target_cpu}")
    if args.target:
        flags.append(f"--target={args.target}")
    run([args.tfmc, desc, "-o", exe] + flags)
    exe_logits = os.path.join(args.workdir, "exe.f32")
    out = run([exe, "-p", " ".join(map(str, PROMPT)), "-n", str(STEPS), "--temp", "0",
               "--no-display-prompt", "--no-timing", "--logits-out", exe_logits])
    exe_tokens = [int(t) for t in out.split()]

    ref_logits = os.path.join(args.workdir, "ref.f32")
    ref_tokens = run_reference(desc, PROMPT, STEPS, ref_logits)

    vocab = arch["vocab_size"]
    a = np.fromfile(exe_logits, dtype="<f4")
    b = np.fromfile(ref_logits, dtype="<f4")
    rows = len(PROMPT) + STEPS - 1
    if a.size != rows * vocab or b.size != rows * vocab:
        sys.exit(f"FAIL: {name}: {a.size // vocab} exe rows, {b.size // vocab} reference rows,"
                 f" expected {rows}")
    mode = "unfused" if args.no_fuse else "fused"
    if args.prefill_chunk:
        mode += f", prefill chunks of {args.prefill_chunk}"
    if args.target_cpu:
        mode += f", {args.target_cpu}"
    if args.target:
        mode += f", --target={args.target}"
    compare_logits(f"{name} ({mode}): {rows} rows", a, b, exe_tokens, ref_tokens)


if __name__ == "__main__":
    main()
