#!/usr/bin/env python3
"""FLOP counts of diffusers' UNet2DConditionModel by torch.utils.flop_counter.FlopCounterMode (matmul, conv,
linear and attention kernels; 2 FLOPs per multiply-add; bias adds, norms, softmax and activations not counted),
for the C++ counter's test (tests/unit/models/test_unet_flops.cpp). Meta tensors: no memory, any size.
Writes tests/data/unet/flops.json {case: {"batch", "height", "width", "ctx_len", "forward", "backward",
"down_blocks.0"...}} where backward is the count of the backward pass with every parameter and the input
requiring grad, and per-module entries are forward counts.
Run: tools/golden/.venv/bin/python tools/golden/unet_flops.py
"""
import json
import os

import torch
from diffusers import UNet2DConditionModel
from torch.utils.flop_counter import FlopCounterMode

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "unet")
CASES = {"tiny_conv": (2, 16, 16, 7), "tiny_linear": (2, 10, 12, 5), "sd15": (1, 64, 64, 77)}


def count(name, batch, h, w, ctx_len):
    with open(os.path.join(DATA, name, "config.json")) as f:
        cfg = {k: v for k, v in json.load(f).items() if not k.startswith("_")}
    with torch.device("meta"):
        unet = UNet2DConditionModel(**cfg)
        x = torch.randn(batch, unet.config.in_channels, h, w, requires_grad=True)
        ctx = torch.randn(batch, ctx_len, unet.config.cross_attention_dim, requires_grad=True)
        t = torch.full((batch,), 500, dtype=torch.long)
    fwd = FlopCounterMode(display=False)
    with fwd:
        out = unet(x, t, encoder_hidden_states=ctx).sample
    bwd = FlopCounterMode(display=False)
    with bwd:
        out.sum().backward()
    res = {"batch": batch, "height": h, "width": w, "ctx_len": ctx_len,
           "forward": fwd.get_total_flops(), "backward": bwd.get_total_flops()}
    per_module = fwd.get_flop_counts()
    # FlopCounterMode's module keys are "UNet2DConditionModel.down_blocks.0" etc.
    for key, ops in per_module.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[1] in ("down_blocks", "up_blocks") or (len(parts) == 2 and parts[1] in ("mid_block", "conv_in", "conv_out", "time_embedding")):
            res[".".join(parts[1:])] = int(sum(ops.values()))
    return res


if __name__ == "__main__":
    out = {name: count(name, *args) for name, args in CASES.items()}
    with open(os.path.join(DATA, "flops.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
    print(json.dumps(out, indent=1))
