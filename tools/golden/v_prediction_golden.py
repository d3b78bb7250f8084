#!/usr/bin/env python3
"""Golden for v-prediction (tests/unit/models/test_v_prediction.cpp): diffusers' DDIMScheduler with
prediction_type="v_prediction" and clip_sample=True (the tiny-shapes schedule: linear betas 1e-4..0.02,
steps_offset 1, 20 steps) takes one step per sample from (x_t, v) with given variance noise, eta 1.
Writes tests/data/ddim/v_prediction.safetensors {x_t, v, noise, t (int64), prev (diffusers' x_t')}.
Run: tools/golden/.venv/bin/python tools/golden/v_prediction_golden.py
"""
import os

import torch
from diffusers import DDIMScheduler
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "ddim",
                   "v_prediction.safetensors")


def main():
    s = DDIMScheduler(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02, beta_schedule="linear",
                      steps_offset=1, clip_sample=True, clip_sample_range=1.0, set_alpha_to_one=False,
                      prediction_type="v_prediction")
    s.set_timesteps(20)
    g = torch.Generator().manual_seed(7)
    ts = [int(s.timesteps[i]) for i in (0, 3, 10, 19)]  # 951 (x0_hat clamped), 801, 451, 1
    x = torch.randn(len(ts), 3, 4, 4, generator=g) * 1.5
    v = torch.randn(len(ts), 3, 4, 4, generator=g)
    z = torch.randn(len(ts), 3, 4, 4, generator=g)
    prev = torch.stack([s.step(v[i:i + 1], ts[i], x[i:i + 1], eta=1.0, variance_noise=z[i:i + 1]).prev_sample[0]
                        for i in range(len(ts))])
    save_file({"x_t": x, "v": v, "noise": z, "t": torch.tensor(ts, dtype=torch.int64), "prev": prev.contiguous()}, OUT)
    print(f"wrote {OUT}: t = {ts}")


if __name__ == "__main__":
    main()
