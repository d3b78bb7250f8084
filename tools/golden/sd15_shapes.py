#!/usr/bin/env python3
"""Tensor names and shapes of the SD 1.5 UNet and VAE as diffusers builds them from the committed
config.json files (tests/data/{unet,vae}/sd15/config.json), instantiated on the meta device (no memory).
Writes tests/data/{unet,vae}/sd15/shapes.json: {"name": [shape...], ...}.
Run once (outputs are committed): tools/golden/.venv/bin/python tools/golden/sd15_shapes.py
"""
import json
import os

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data")


def dump(cls, sub):
    d = os.path.join(DATA, sub, "sd15")
    with open(os.path.join(d, "config.json")) as f:
        cfg = {k: v for k, v in json.load(f).items() if not k.startswith("_")}
    with torch.device("meta"):
        model = cls(**cfg)
    shapes = {k: list(v.shape) for k, v in model.state_dict().items()}
    with open(os.path.join(d, "shapes.json"), "w") as f:
        json.dump(shapes, f, indent=0, sort_keys=True)
    print(sub, len(shapes), "tensors", sum(p.numel() for p in model.parameters()), "params")


if __name__ == "__main__":
    dump(UNet2DConditionModel, "unet")
    dump(AutoencoderKL, "vae")
