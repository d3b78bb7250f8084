#!/usr/bin/env python3
"""Converts the LAION improved-aesthetic-predictor head (a PyTorch pickle such as
`sac+logos+ava1-l14-linearMSE.pth`, christophschuhmann/improved-aesthetic-predictor) to the safetensors file
dagalign's AestheticReward loads (keys layers.{0,2,4,6,7}.{weight,bias}, widths 768-1024-128-64-16-1).

    tools/golden/.venv/bin/python tools/golden/clip_aesthetic_convert.py IN.pth OUT.safetensors

The CLIP backbone is used as transformers saves it: a CLIPModel folder (config.json + model.safetensors of
openai/clip-vit-large-patch14); `AestheticReward::from_files(clip_dir, OUT.safetensors)`.
"""
import sys

import torch
from safetensors.torch import save_file

EXPECTED = {"layers.0.weight": (1024, 768), "layers.0.bias": (1024,), "layers.2.weight": (128, 1024),
            "layers.2.bias": (128,), "layers.4.weight": (64, 128), "layers.4.bias": (64,),
            "layers.6.weight": (16, 64), "layers.6.bias": (16,), "layers.7.weight": (1, 16), "layers.7.bias": (1,)}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1:]
    sd = torch.load(src, map_location="cpu", weights_only=True)
    if "state_dict" in sd:
        sd = sd["state_dict"]
    missing = [k for k in EXPECTED if k not in sd]
    unexpected = [k for k in sd if k not in EXPECTED]
    shapes = [f"{k}: expected {EXPECTED[k]}, found {tuple(sd[k].shape)}" for k in EXPECTED
              if k in sd and tuple(sd[k].shape) != EXPECTED[k]]
    if missing or unexpected or shapes:
        sys.exit(f"{src}: missing {missing}, unexpected {unexpected}, mis-shaped {shapes}")
    save_file({k: sd[k].float().contiguous() for k in EXPECTED}, dst,
              metadata={"source": src.split("/")[-1], "format": "pt"})
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
