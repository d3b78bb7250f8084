#!/usr/bin/env python3
"""Plot per-epoch curves (rewards, losses, ...) of a run from metrics.h5 or metrics.jsonl to a PNG.

usage: plot_curves.py RUN_DIR|metrics.h5|metrics.jsonl [-o curves.png] [--metrics reward_mean,loss]

Default metrics: every metric whose name starts with "reward" or contains "loss" (all if none match).
One panel per metric, epoch on the x axis; NaN (epochs where a metric was not reported) are gaps.
Needs numpy, matplotlib and (for .h5) h5py: Debian's /usr/bin/python3 has them.
"""
import argparse
import json
import math
import os
import sys

import numpy as np


def load(path):
    """Returns (epochs array, {metric: array}) from metrics.h5 or metrics.jsonl."""
    if os.path.isdir(path):
        h5 = os.path.join(path, "metrics.h5")
        path = h5 if os.path.exists(h5) else os.path.join(path, "metrics.jsonl")
    if path.endswith(".jsonl"):
        rows = []
        with open(path) as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    sys.exit(f"{path} line {n}: {e}")
        names = sorted({k for r in rows for k in r if k != "epoch"})
        epochs = np.array([r.get("epoch", i) for i, r in enumerate(rows)], dtype=np.int64)
        cols = {k: np.array([r.get(k) if r.get(k) is not None else math.nan for r in rows], dtype=float)
                for k in names}
        return epochs, cols
    import h5py
    with h5py.File(path, "r") as f:
        if f.attrs.get("kind") != "metrics":
            sys.exit(f"{path}: not a dagalign metrics file (kind = {f.attrs.get('kind')!r})")
        epochs = f["epoch"][:]
        cols = {k: f[k][:].astype(float) for k in f.keys() if k != "epoch"}
    return epochs, cols


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source")
    ap.add_argument("-o", "--output", default="curves.png")
    ap.add_argument("--metrics", default="", help="comma-separated metric names")
    args = ap.parse_args()
    epochs, cols = load(args.source)
    if args.metrics:
        names = [m for m in args.metrics.split(",") if m]
        missing = [m for m in names if m not in cols]
        if missing:
            sys.exit(f"{args.source}: no metric {missing}; available: {sorted(cols)}")
    else:
        names = [k for k in sorted(cols) if k.startswith("reward") or "loss" in k] or sorted(cols)
    if not names or len(epochs) == 0:
        sys.exit(f"{args.source}: nothing to plot")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ncols = min(3, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.5 * ncols, 3.2 * nrows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        ax.plot(epochs, cols[name], marker="." if len(epochs) < 50 else None)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(args.output, dpi=100)
    print(f"wrote {args.output} ({len(names)} metrics, {len(epochs)} epochs)")


if __name__ == "__main__":
    main()
