#!/usr/bin/env python3
"""Show samples of a trajectory file as a PNG grid.

usage: sample_grid.py FILE.h5 [-o grid.png] [-n 16] [--rows a:b]

- With an `images` dataset (N, H, W, 3) uint8: an image grid titled with reward (and prompt).
- Without images, 2-D states (latents (N, T+1, 2)): a scatter of the final states x_0 = latents[:, -1]
  coloured by reward (all rows, or --rows), plus a few full trajectories x_T -> x_0 as lines.
- Without images, image-like states (latents (N, T+1, C, H, W)): x_0 channels 0..2 (or 0) as images,
  min-max normalised per sample.
Needs h5py, numpy, matplotlib (Debian's /usr/bin/python3 has them).
"""
import argparse
import math
import sys

import numpy as np


def parse_rows(spec, n):
    if not spec:
        return 0, n
    a, _, b = spec.partition(":")
    a = int(a) if a else 0
    b = int(b) if b else n
    return max(0, a), min(n, b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("-o", "--output", default="grid.png")
    ap.add_argument("-n", type=int, default=16, help="samples in an image grid")
    ap.add_argument("--rows", default="", help="row range a:b")
    args = ap.parse_args()
    import h5py
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with h5py.File(args.file, "r") as f:
        kind = f.attrs.get("kind")
        if kind not in ("trajectories", "trajectory-index"):
            sys.exit(f"{args.file}: not a trajectory file (kind = {kind!r})")
        n = int(f.attrs["n_trajectories"])
        lo, hi = parse_rows(args.rows, n)
        if hi <= lo:
            sys.exit(f"{args.file}: no trajectories in rows {lo}:{hi} (file holds {n})")
        rewards = f["rewards"][lo:hi]
        prompts = [p.decode() if isinstance(p, bytes) else p for p in f["prompts"][lo:hi]] if "prompts" in f else []
        lat = f["latents"]
        state = lat.shape[2:]
        if "images" in f:
            k = min(args.n, hi - lo)
            imgs = f["images"][lo:lo + k]
            mode = "images"
        elif state == (2,):
            x = lat[lo:hi].astype(np.float32)
            mode = "scatter"
        else:
            k = min(args.n, hi - lo)
            x0 = lat[lo:lo + k, -1].astype(np.float32)
            mode = "latents"

    if mode == "scatter":
        fig, ax = plt.subplots(figsize=(6, 5.5))
        for i in range(min(8, len(x))):
            ax.plot(x[i, :, 0], x[i, :, 1], lw=0.6, alpha=0.5, color="gray")
        sc = ax.scatter(x[:, -1, 0], x[:, -1, 1], c=rewards, s=10, cmap="viridis")
        fig.colorbar(sc, ax=ax, label="reward")
        ax.set_title(f"x_0 of {len(x)} trajectories (rows {lo}:{hi})")
        ax.set_aspect("equal", adjustable="datalim")
    else:
        k = len(imgs) if mode == "images" else len(x0)
        cols = math.ceil(math.sqrt(k))
        rows = math.ceil(k / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.4 * rows), squeeze=False)
        for i, ax in enumerate(axes.flat):
            ax.axis("off")
            if i >= k:
                continue
            if mode == "images":
                ax.imshow(imgs[i])
            else:
                c = x0[i][:3] if x0[i].shape[0] >= 3 else x0[i][:1]
                c = (c - c.min()) / max(float(c.max() - c.min()), 1e-12)
                ax.imshow(np.moveaxis(c, 0, -1).squeeze(), cmap="gray" if c.shape[0] == 1 else None)
            title = f"r={rewards[i]:.3g}"
            if prompts and prompts[i]:
                title += "\n" + prompts[i][:24]
            ax.set_title(title, fontsize=7)
    fig.tight_layout()
    fig.savefig(args.output, dpi=100)
    print(f"wrote {args.output} ({mode})")


if __name__ == "__main__":
    main()
