#!/usr/bin/env python3
"""diffusers-side golden for the LoRA export (tests/unit/models/test_lora_diffusers.cpp).

Reads tests/data/lora/tiny_linear_lora.safetensors (written by dagalign's save_lora; regenerate it with
DAGALIGN_WRITE_LORA_GOLDEN=1 build/tests/test_models --gtest_filter=LoraDiffusers.*), loads it into a
StableDiffusionPipeline built around the tiny_linear UNet with `pipe.load_lora_weights(...)`, checks that
every LoRA factor of the file landed in a peft layer (no unexpected or missing keys), and writes
tests/data/lora/tiny_linear_lora_io.safetensors {"eps": UNet output on tiny_linear/io.safetensors inputs}.
Run: tools/golden/.venv/bin/python tools/golden/lora_golden.py
"""
import json
import os

import torch
from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from safetensors.torch import load_file, save_file

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data")


def load_component(cls, sub):
    d = os.path.join(DATA, sub)
    with open(os.path.join(d, "config.json")) as f:
        cfg = {k: v for k, v in json.load(f).items() if not k.startswith("_")}
    model = cls(**cfg)
    sd = {k: v.float() for k, v in load_file(os.path.join(d, "diffusion_pytorch_model.safetensors")).items()}
    model.load_state_dict(sd, strict=True)
    return model.eval()


def main():
    unet = load_component(UNet2DConditionModel, "unet/tiny_linear")
    vae = load_component(AutoencoderKL, "vae/tiny")
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=None, tokenizer=None, unet=unet, scheduler=DDIMScheduler(),
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    lora_file = os.path.join(DATA, "lora", "tiny_linear_lora.safetensors")
    pipe.load_lora_weights(lora_file)
    # every factor of the file is in a peft layer of the UNet, with the same values
    file_sd = load_file(lora_file)
    modules = dict(pipe.unet.named_modules())
    for key, value in file_sd.items():
        assert key.startswith("unet."), key
        path, factor = key[len("unet."):].rsplit(".lora_", 1)
        layer = modules[path]
        adapter = next(iter(layer.lora_A.keys()))
        got = (layer.lora_A if factor.startswith("A") else layer.lora_B)[adapter].weight
        assert torch.equal(got, value), key
        assert layer.scaling[adapter] == 1.0, (path, layer.scaling)
    n_layers = sum(1 for m in modules.values() if hasattr(m, "lora_A") and len(m.lora_A) > 0)
    assert n_layers * 2 == len(file_sd), (n_layers, len(file_sd))
    io = load_file(os.path.join(DATA, "unet", "tiny_linear", "io.safetensors"))
    with torch.no_grad():
        eps = pipe.unet(io["sample"], io["timestep"], encoder_hidden_states=io["context"]).sample
    print(f"{n_layers} LoRA layers loaded; |eps_lora - eps_base| max {(eps - io['eps']).abs().max():.4f}")
    save_file({"eps": eps.contiguous()}, os.path.join(DATA, "lora", "tiny_linear_lora_io.safetensors"))


if __name__ == "__main__":
    main()
