#!/usr/bin/python3
"""Draws the pictures of tfm-inspect with matplotlib (python3-matplotlib).

  tfm_plot.py SPEC.json OUT svg|png

SPEC.json is written by tfm-inspect: the numbers come from tfmc's frontend
and executables, this script only draws them. Kinds:
  heatmap  panels of matrices (positions, attention heads), one cell per
           entry, drawn with pcolormesh; panel k's cells are the <path>
           elements of the SVG group id "cells-k"
  scatter  labelled points (embedding-map)
  bars     grouped bars (probs at several temperatures)
The picture is exactly `size` pixels (100 dpi, no tight bounding box). SVG
keeps text as <text> elements (svg.fonttype none), so labels stay
searchable; the output carries no date, so it is reproducible.
"""

import json
import math
import sys


def fail(message):
    print("tfm_plot.py: error: %s" % message, file=sys.stderr)
    sys.exit(1)


try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
except ImportError as e:  # pragma: no cover - depends on the machine
    fail("%s: pictures need python3-matplotlib (scripts/install-deps.sh)" % e)

matplotlib.rcParams["svg.fonttype"] = "none"
matplotlib.rcParams["svg.hashsalt"] = "tfm-inspect"
matplotlib.rcParams["font.size"] = 8

DPI = 100


def tick_labels(ax, labels, axis, count):
    """Token labels on an axis when there are few enough to read."""
    if labels and count <= 64:
        ticks = np.arange(count) + 0.5
        if axis == "x":
            ax.set_xticks(ticks)
            ax.set_xticklabels(labels, rotation=90)
        else:
            ax.set_yticks(ticks)
            ax.set_yticklabels(labels)


def heatmap(fig, spec):
    panels = spec["panels"]
    n = len(panels)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    values = [np.array(p["values"], dtype=float).reshape(p["rows"], p["cols"]) for p in panels]
    vmin = min(float(v.min()) for v in values)
    vmax = max(float(v.max()) for v in values)
    axes = fig.subplots(rows, cols, squeeze=False)
    mesh = None
    for k, (p, v) in enumerate(zip(panels, values)):
        ax = axes[k // cols][k % cols]
        mesh = ax.pcolormesh(np.arange(p["cols"] + 1), np.arange(p["rows"] + 1), v,
                             cmap="viridis", vmin=vmin, vmax=vmax, shading="flat")
        mesh.set_gid("cells-%d" % k)
        ax.set_xlim(0, p["cols"])
        ax.set_ylim(p["rows"], 0)  # row 0 at the top, as a matrix is read
        ax.set_title(p["title"])
        if n <= 4 or k // cols == rows - 1:
            ax.set_xlabel(p["col_axis"])
        if n <= 4 or k % cols == 0:
            ax.set_ylabel(p["row_axis"])
        tick_labels(ax, p["col_labels"], "x", p["cols"])
        tick_labels(ax, p["row_labels"], "y", p["rows"])
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].set_axis_off()
    fig.colorbar(mesh, ax=axes.ravel().tolist(), shrink=0.8)


def scatter(fig, spec):
    ax = fig.add_subplot()
    pts = np.array(spec["points"], dtype=float)
    ax.scatter(pts[:, 0], pts[:, 1], s=16, gid="points")
    for (x, y), label in zip(pts, spec["labels"]):
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 4))
    ax.set_title(spec["title"])
    ax.set_xlabel(spec["x_axis"])
    ax.set_ylabel(spec["y_axis"])
    ax.axhline(0, color="0.85", lw=0.5, zorder=0)
    ax.axvline(0, color="0.85", lw=0.5, zorder=0)


def bars(fig, spec):
    ax = fig.add_subplot()
    labels = spec["labels"]
    series = spec["series"]
    x = np.arange(len(labels))
    width = 0.8 / max(1, len(series))
    for i, s in enumerate(series):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, s["values"], width,
               label=s["label"], gid="bars-%d" % i)
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=60, ha="right")
    ax.set_title(spec["title"])
    ax.set_xlabel(spec["x_axis"])
    ax.set_ylabel(spec["y_axis"])
    ax.legend()


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("svg", "png"):
        fail("usage: tfm_plot.py SPEC.json OUT svg|png")
    with open(sys.argv[1]) as fh:
        spec = json.load(fh)
    width, height = spec["size"]
    fig = plt.figure(figsize=(width / DPI, height / DPI), dpi=DPI,
                     layout="constrained")
    draw = {"heatmap": heatmap, "scatter": scatter, "bars": bars}.get(spec["kind"])
    if draw is None:
        fail("unknown picture kind %r" % spec["kind"])
    draw(fig, spec)
    metadata = {"Date": None} if sys.argv[3] == "svg" else {"Software": None}
    try:
        fig.savefig(sys.argv[2], format=sys.argv[3], dpi=DPI, metadata=metadata)
    except OSError as e:
        fail("cannot write %s: %s" % (sys.argv[2], e.strerror or e))


if __name__ == "__main__":
    main()
