#!/usr/bin/env python3
"""Golden files for the UNet2DConditionModel parity tests (tests/unit/models/test_unet_parity.cpp).

For each tiny configuration it writes a diffusers component folder
  tests/data/unet/<name>/config.json                          (diffusers save_config)
  tests/data/unet/<name>/diffusion_pytorch_model.safetensors  (random weights, stored as F16)
  tests/data/unet/<name>/io.safetensors                       (sample, timestep, context -> eps, float32)
The weights are drawn in float32, rounded to float16 values and used as float32 by the reference model,
so the F16 file holds exactly the weights the reference ran with (small files, exact parity inputs).

Run (once; outputs are committed):
  tools/golden/.venv/bin/python tools/golden/unet_golden.py
"""
import os
import sys

import torch
from diffusers import UNet2DConditionModel
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "unet")

CONFIGS = {
    # the suggested tiny shape: conv proj_in/out (SD 1.x style), 2 heads everywhere
    "tiny_conv": dict(
        sample_size=16, in_channels=4, out_channels=4, block_out_channels=(32, 64), layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        attention_head_dim=2, cross_attention_dim=32, norm_num_groups=8, use_linear_projection=False,
    ),
    # SD 2.x style: Linear proj_in/out, per-block heads, three levels with an odd latent size (10x12 -> 5x6 -> 3x3,
    # so the up path must upsample to the skip's size), flip_sin_to_cos false and freq_shift 1.
    "tiny_linear": dict(
        sample_size=12, in_channels=4, out_channels=4, block_out_channels=(16, 32, 32), layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        attention_head_dim=(1, 2, 2), cross_attention_dim=24, norm_num_groups=8, use_linear_projection=True,
        flip_sin_to_cos=False, freq_shift=1,
    ),
}
INPUTS = {"tiny_conv": dict(hw=(16, 16), ctx_len=7), "tiny_linear": dict(hw=(10, 12), ctx_len=5)}


def randomize_(model, gen):
    """Every parameter random (norm weights around 1), rounded to float16-representable values."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=gen) * 0.2
            if "norm" in name and name.endswith("weight"):
                r = 1.0 + r
            p.copy_(r.half().float())


def main():
    torch.manual_seed(0)
    for name, cfg in CONFIGS.items():
        gen = torch.Generator().manual_seed(1234)
        model = UNet2DConditionModel(**cfg).eval()
        randomize_(model, gen)
        h, w = INPUTS[name]["hw"]
        sample = torch.randn(2, cfg["in_channels"], h, w, generator=gen)
        timestep = torch.tensor([999, 7], dtype=torch.int64)
        context = torch.randn(2, INPUTS[name]["ctx_len"], cfg["cross_attention_dim"], generator=gen)
        with torch.no_grad():
            eps = model(sample, timestep, encoder_hidden_states=context).sample
        out = os.path.join(ROOT, name)
        os.makedirs(out, exist_ok=True)
        model.save_config(out)
        save_file({k: v.half().contiguous() for k, v in model.state_dict().items()},
                  os.path.join(out, "diffusion_pytorch_model.safetensors"))
        save_file({"sample": sample, "timestep": timestep, "context": context, "eps": eps.contiguous()},
                  os.path.join(out, "io.safetensors"))
        n = sum(p.numel() for p in model.parameters())
        print(f"{name}: {n} params, {len(model.state_dict())} tensors, eps std {eps.std():.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()
