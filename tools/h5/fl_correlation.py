#!/usr/bin/env python3
"""How well DAG's forward-looking term predicts the final reward, per timestep, from a run's trajectories.

usage: fl_correlation.py RUN_DIR --model MODEL_DIR [--rows a:b] [--csv OUT.csv]

For every state s_k (timestep t_k) of the stored trajectories it computes the one-step prediction
    x0hat = clamp((x_t - sqrt(1 - abar_t) * eps) / sqrt(abar_t), -1, 1)
from the stored sampling-time eps (the CFG eps: the trainer's term uses the conditional branch alone),
its JPEG compressibility r(x0hat) = -(bytes at quality 95) / 1000 (PIL), and prints per timestep:
  corr      Pearson correlation of r(x0hat(s_k)) with the stored final reward r(x_0), over trajectories;
  corr|p    the same within prompts (each prompt's mean removed from both);
  sd inc    standard deviation (kB, within prompts) of the increment r(x0hat(s_{k+1})) - r(x0hat(s_k)),
            the term that beta multiplies in a transition's DB residual.
A state whose r(x0hat) hardly correlates with r(x_0) gives its transitions increments that are noise for
the final reward (docs/results.md). Needs h5py, numpy and PIL; the model folder gives the noise schedule
(scheduler/scheduler_config.json: linear or scaled_linear betas) and is read for nothing else.
"""
import argparse
import io
import json
import os

import numpy as np


def alphas_cumprod(model_dir):
    with open(os.path.join(model_dir, "scheduler", "scheduler_config.json")) as f:
        c = json.load(f)
    n, b0, b1 = c["num_train_timesteps"], c["beta_start"], c["beta_end"]
    if c["beta_schedule"] == "linear":
        betas = np.linspace(b0, b1, n, dtype=np.float64)
    elif c["beta_schedule"] == "scaled_linear":
        betas = np.linspace(b0 ** 0.5, b1 ** 0.5, n, dtype=np.float64) ** 2
    else:
        raise SystemExit(f"{model_dir}: beta_schedule '{c['beta_schedule']}' is not linear or scaled_linear")
    return np.cumprod(1 - betas)


def jpeg_reward(x):
    """-(JPEG bytes at quality 95) / 1000 of a (3, H, W) image in [-1, 1], quantised as the trainer does."""
    from PIL import Image
    u = np.clip(np.round((x.transpose(1, 2, 0) * 0.5 + 0.5) * 255), 0, 255).astype(np.uint8)
    b = io.BytesIO()
    Image.fromarray(u).save(b, format="JPEG", quality=95)
    return -b.tell() / 1000


def table(latents, eps, timesteps, rewards, prompt_rows, abar):
    """Per state k: (corr, corr within prompts, sd of the within-prompt increment from k to k+1)."""
    n, T = timesteps.shape
    R = np.zeros((n, T + 1))
    for k in range(T):
        a = abar[timesteps[:, k]].reshape(n, 1, 1, 1)
        x0 = np.clip((latents[:, k] - np.sqrt(1 - a) * eps[:, k]) / np.sqrt(a), -1, 1)
        R[:, k] = [jpeg_reward(x) for x in x0]
    R[:, T] = rewards
    Rc = R.copy()
    for p in np.unique(prompt_rows):
        Rc[prompt_rows == p] -= Rc[prompt_rows == p].mean(0)
    corr = [np.corrcoef(R[:, k], rewards)[0, 1] for k in range(T + 1)]
    corr_p = [np.corrcoef(Rc[:, k], Rc[:, T])[0, 1] for k in range(T + 1)]
    inc = [np.diff(Rc, axis=1)[:, k].std() for k in range(T)] + [float("nan")]
    return corr, corr_p, inc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--model", required=True, help="diffusers folder of the run's model (its scheduler)")
    ap.add_argument("--rows", default="0:128", help="trajectory rows a:b of trajectories/index.h5")
    ap.add_argument("--csv", default="", help="also write the table to this CSV file")
    args = ap.parse_args()
    import h5py
    a, b = (int(v) for v in args.rows.split(":"))
    path = os.path.join(args.run_dir, "trajectories", "index.h5")
    with h5py.File(path, "r") as f:
        for name in ("latents", "eps", "timesteps", "rewards", "prompt_ids"):
            if name not in f:
                raise SystemExit(f"{path}: no dataset '{name}' (text-to-image runs store it)")
        s = slice(a, b)
        lat, eps, ts, r, ids = (f[k][s] for k in ("latents", "eps", "timesteps", "rewards", "prompt_ids"))
    if len(r) < 4 or lat.ndim != 5:
        raise SystemExit(f"{path}: rows {args.rows} hold {len(r)} trajectories of shape {lat.shape[1:]}; "
                         "need >= 4 image trajectories")
    _, prompt_rows = np.unique(ids, axis=0, return_inverse=True)
    corr, corr_p, inc = table(lat, eps, ts, r, prompt_rows.ravel(), alphas_cumprod(args.model))
    labels = [str(t) for t in ts[0]] + ["x_0"]
    print(f"{path}: rows {a}:{a + len(r)}, {len(np.unique(prompt_rows))} prompts")
    print("t       " + " ".join(f"{x:>6}" for x in labels))
    print("corr    " + " ".join(f"{x:6.2f}" for x in corr))
    print("corr|p  " + " ".join(f"{x:6.2f}" for x in corr_p))
    print("sd inc  " + " ".join(f"{x:6.3f}" for x in inc[:-1]))
    if args.csv:
        with open(args.csv, "w") as f:
            f.write("t,corr,corr_within_prompt,sd_increment_kB\n")
            for row in zip(labels, corr, corr_p, inc):
                f.write(",".join(str(v) for v in row) + "\n")


if __name__ == "__main__":
    main()
