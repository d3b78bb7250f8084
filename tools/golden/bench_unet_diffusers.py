#!/usr/bin/env python3
"""The diffusers side of `dagalign bench unet` (src/cli/bench_unet.cpp): the same modules, inputs, thread
count and measurement (median of --reps runs after one warm-up; peak RSS rise over the RSS before the runs,
reset through /proc/self/clear_refs). Prints one JSON line per case:
{"case", "fwd_s", "fwdbwd_s", "fwd_peak_mb", "fwdbwd_peak_mb", "torch"}.
"""
import argparse
import json
import statistics
import time

import torch
from diffusers import UNet2DConditionModel
from diffusers.models.unets.unet_2d_blocks import CrossAttnDownBlock2D


def status_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return -1.0


def measure(fn, reps):
    fn()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = status_mb("VmRSS")
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), status_mb("VmHWM") - base


def case_tiny():
    unet = UNet2DConditionModel(sample_size=16, in_channels=4, out_channels=4, block_out_channels=(32, 64),
                                layers_per_block=1, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), attention_head_dim=2,
                                cross_attention_dim=32, norm_num_groups=8)
    x, ctx = torch.randn(4, 4, 16, 16), torch.randn(4, 77, 32)
    t = torch.full((4,), 500, dtype=torch.long)

    def step(grad):
        xi, ci = (x.clone().requires_grad_(True), ctx.clone().requires_grad_(True)) if grad else (x, ctx)
        return unet(xi, t, encoder_hidden_states=ci).sample
    return unet, step


def case_down0():
    block = CrossAttnDownBlock2D(in_channels=320, out_channels=320, temb_channels=1280, num_layers=2, resnet_eps=1e-5,
                                 resnet_act_fn="silu", resnet_groups=32, num_attention_heads=8,
                                 cross_attention_dim=768, downsample_padding=1, add_downsample=True,
                                 use_linear_projection=False)
    x, temb, ctx = torch.randn(1, 320, 64, 64), torch.randn(1, 1280), torch.randn(1, 77, 768)

    def step(grad):
        xi = x.clone().requires_grad_(True) if grad else x
        return block(xi, temb, encoder_hidden_states=ctx)[0]
    return block, step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cases", default="tiny,down0")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for name in a.cases.split(","):
        module, step = {"tiny": case_tiny, "down0": case_down0}[name]()

        def fwd():
            with torch.no_grad():
                step(False)

        def fwdbwd():
            module.zero_grad()
            step(True).sum().backward()
        f, fm = measure(fwd, a.reps)
        b, bm = measure(fwdbwd, a.reps)
        print(json.dumps({"case": name, "fwd_s": f, "fwdbwd_s": b, "fwd_peak_mb": fm, "fwdbwd_peak_mb": bm,
                          "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
