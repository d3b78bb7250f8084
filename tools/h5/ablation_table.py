#!/usr/bin/env python3
"""Table and curves of the off-policy ablation (tools/bench/replay-ablation.sh, docs/results.md).

usage: ablation_table.py ABLATION_DIR [-o curves.png]

ABLATION_DIR holds <arm>-s<seed>/ run directories (metrics.h5, eval/eval.json) and base/eval/eval.json.
Prints, per arm, each seed's reward and prompt fidelity on the 256 evaluation samples of its final LoRA,
their mean, and the arm's mean paired difference to the base model (the same evaluation seeds); draws the
per-epoch training reward of the arms that sample (on-policy rows only) with one line per seed.
Needs numpy, matplotlib and h5py: Debian's /usr/bin/python3 has them.
"""
import argparse
import json
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot_curves import load  # noqa: E402

ARMS = ["onpolicy", "mix", "replay"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("-o", "--output", default="")
    a = ap.parse_args()
    base = json.load(open(os.path.join(a.dir, "base", "eval", "eval.json")))
    base_r = np.array(base["samples"]["rewards"])
    print(f"base model: reward {base_r.mean():.3f}, fidelity {base['fidelity']['fidelity']:.3f} "
          f"({base['reward']['n']} samples)")
    runs = {}
    for name in sorted(os.listdir(a.dir)):
        m = re.fullmatch(r"(\w+)-s(\d+)", name)
        if m and os.path.exists(os.path.join(a.dir, name, "eval", "eval.json")):
            runs.setdefault(m.group(1), []).append((int(m.group(2)), os.path.join(a.dir, name)))
    print("| arm | seed | reward (kB, negated) | paired gain vs base (s.e.) | fidelity |")
    print("|---|---|---|---|---|")
    for arm in [x for x in ARMS if x in runs] + [x for x in runs if x not in ARMS]:
        gains, fids = [], []
        for seed, d in runs[arm]:
            e = json.load(open(os.path.join(d, "eval", "eval.json")))
            r = np.array(e["samples"]["rewards"])
            diff = r - base_r
            gains.append(diff.mean())
            fids.append(e["fidelity"]["fidelity"])
            print(f"| {arm} | {seed} | {r.mean():.3f} | {diff.mean():+.3f} ({diff.std(ddof=1) / np.sqrt(len(diff)):.3f}) "
                  f"| {fids[-1]:.3f} |")
        print(f"| {arm} | mean | | {np.mean(gains):+.3f} | {np.mean(fids):.3f} |")
    if a.output:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 3.6))
        colours = {"onpolicy": "C0", "mix": "C1"}
        for arm, colour in colours.items():
            for i, (seed, d) in enumerate(runs.get(arm, [])):
                epochs, metrics = load(d)
                ax.plot(epochs, metrics["reward_mean"], color=colour, alpha=0.85, lw=1.2,
                        ls="-" if i == 0 else "--", label=f"{arm} seed {seed}")
        ax.axhline(base_r.mean(), color="grey", lw=0.8, label="base model (eval)")
        for i, (seed, d) in enumerate(runs.get("replay", [])):
            e = json.load(open(os.path.join(d, "eval", "eval.json")))
            ax.axhline(e["reward"]["mean"], color="C2", lw=1.0, ls="-" if i == 0 else "--",
                       label=f"replay seed {seed} (final, eval)")
        ax.set_xlabel("epoch (32 on-policy trajectories each)")
        ax.set_ylabel("mean reward (−kB)")
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        fig.savefig(a.output, dpi=110)
        print(f"wrote {a.output}")


if __name__ == "__main__":
    main()
