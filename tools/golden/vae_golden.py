#!/usr/bin/env python3
"""Golden files for the AutoencoderKL parity tests (tests/unit/models/test_vae_parity.cpp).

Writes a diffusers component folder tests/data/vae/tiny/{config.json, diffusion_pytorch_model.safetensors}
(random weights, stored as F16 and used as the same float32 values by the reference) and
tests/data/vae/tiny/io.safetensors with
  image   [2,3,16,16] in [-1, 1]      -> mean, logvar (posterior after quant_conv and the clamp)
  latents [2,4,8,8] (unscaled z)       -> decoded (decoder(post_quant_conv(z)))
Run once (outputs are committed): tools/golden/.venv/bin/python tools/golden/vae_golden.py
"""
import os
import sys

import torch
from diffusers import AutoencoderKL
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "vae", "tiny")
CONFIG = dict(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(16, 32), layers_per_block=1,
              down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
              norm_num_groups=8, sample_size=16, scaling_factor=0.5)


def main():
    gen = torch.Generator().manual_seed(4321)
    model = AutoencoderKL(**CONFIG).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=gen) * 0.2
            if "norm" in name and name.endswith("weight"):
                r = 1.0 + r
            p.copy_(r.half().float())
    image = torch.rand(2, 3, 16, 16, generator=gen) * 2 - 1
    latents = torch.randn(2, 4, 8, 8, generator=gen)
    with torch.no_grad():
        post = model.encode(image).latent_dist
        decoded = model.decode(latents).sample
    os.makedirs(OUT, exist_ok=True)
    model.save_config(OUT)
    save_file({k: v.half().contiguous() for k, v in model.state_dict().items()},
              os.path.join(OUT, "diffusion_pytorch_model.safetensors"))
    save_file({"image": image, "mean": post.mean.contiguous(), "logvar": post.logvar.contiguous(),
               "latents": latents, "decoded": decoded.contiguous()}, os.path.join(OUT, "io.safetensors"))
    n = sum(p.numel() for p in model.parameters())
    print(f"vae tiny: {n} params, {len(model.state_dict())} tensors", file=sys.stderr)


if __name__ == "__main__":
    main()
