#!/usr/bin/python3
"""tools/h5/fl_correlation.py on a synthetic run whose answer is known: eps = 0, so x0hat(s_k) =
x_k / sqrt(abar_{t_k}); states k >= 5 hold sqrt(abar) * (the final image) and states k < 5 an independent
image, so r(x0hat) correlates exactly (1.0) with the stored final reward from k = 5 on and not before.
The final rewards are PIL's JPEG sizes of the final images. usage: check_fl_correlation.py"""
import csv
import io
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "..", "..", "..", "tools", "h5", "fl_correlation.py")


def image(rng):
    """A square of random size, colour and place on a random background, in [-1, 1]; shape (3, 16, 16)."""
    x = np.ones((3, 16, 16)) * rng.uniform(-1, 1, (3, 1, 1))
    s = rng.integers(2, 14)
    i, j = rng.integers(0, 16 - s, 2)
    x[:, i:i + s, j:j + s] = rng.uniform(-1, 1, (3, 1, 1))
    return x + 0.2 * rng.standard_normal(x.shape) * rng.uniform(0, 1)


def jpeg(x):
    u = np.clip(np.round((x.transpose(1, 2, 0) * 0.5 + 0.5) * 255), 0, 255).astype(np.uint8)
    b = io.BytesIO()
    Image.fromarray(u).save(b, format="JPEG", quality=95)
    return -b.tell() / 1000


def main():
    rng = np.random.default_rng(7)
    n, T = 96, 10
    ts = np.arange(901, 0, -100)
    betas = np.linspace(1e-4, 0.02, 1000)
    abar = np.cumprod(1 - betas)
    final = np.clip([image(rng) for _ in range(n)], -1, 1)
    lat = np.zeros((n, T + 1, 3, 16, 16), np.float32)
    for k in range(T):
        img = final if k >= 5 else np.clip([image(rng) for _ in range(n)], -1, 1)
        lat[:, k] = np.sqrt(abar[ts[k]]) * img
    lat[:, T] = final
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "run", "trajectories"))
        os.makedirs(os.path.join(d, "model", "scheduler"))
        with open(os.path.join(d, "model", "scheduler", "scheduler_config.json"), "w") as f:
            json.dump({"num_train_timesteps": 1000, "beta_start": 1e-4, "beta_end": 0.02, "beta_schedule": "linear"}, f)
        with h5py.File(os.path.join(d, "run", "trajectories", "index.h5"), "w") as h:
            h["latents"] = lat
            h["eps"] = np.zeros((n, T, 3, 16, 16), np.float32)
            h["timesteps"] = np.tile(ts, (n, 1)).astype(np.int64)
            h["rewards"] = np.array([jpeg(x) for x in lat[:, T].astype(np.float64)], np.float32)
            h["prompt_ids"] = rng.integers(0, 4, (n, 1)).repeat(3, axis=1)  # 4 prompts, 3 tokens each
        out = os.path.join(d, "t.csv")
        p = subprocess.run([sys.executable, TOOL, os.path.join(d, "run"), "--model", os.path.join(d, "model"),
                            "--rows", f"0:{n}", "--csv", out], capture_output=True, text=True)
        assert p.returncode == 0, p.stdout + p.stderr
        print(p.stdout)
        rows = list(csv.DictReader(open(out)))
        assert [r["t"] for r in rows] == [str(t) for t in ts] + ["x_0"], rows
        corr = [float(r["corr"]) for r in rows]
        corr_p = [float(r["corr_within_prompt"]) for r in rows]
        for k in range(5, T + 1):
            assert corr[k] > 0.999 and corr_p[k] > 0.999, (k, corr[k], corr_p[k])
        for k in range(5):
            assert abs(corr[k]) < 0.4 and abs(corr_p[k]) < 0.4, (k, corr[k], corr_p[k])
        # the increment from the last independent state to the first copy of the final image carries the spread
        inc = [float(r["sd_increment_kB"]) for r in rows[:T]]
        assert inc[4] > 0.01 and max(inc[5:]) < 1e-6, inc  # float32 latents: ~1e-8
        # a run without image trajectories is refused with a message naming the file
        with h5py.File(os.path.join(d, "run", "trajectories", "index.h5"), "a") as h:
            del h["eps"]
        p = subprocess.run([sys.executable, TOOL, os.path.join(d, "run"), "--model", os.path.join(d, "model")],
                           capture_output=True, text=True)
        assert p.returncode != 0 and "no dataset 'eps'" in p.stderr, p.stderr
    print("fl_correlation: ok")


if __name__ == "__main__":
    main()
