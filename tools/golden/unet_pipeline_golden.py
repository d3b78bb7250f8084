#!/usr/bin/env python3
"""End-to-end golden for dagalign's SD pipeline (tests/unit/models/test_sd_pipeline.cpp).

Builds tests/data/unet/tiny_pipeline/, a diffusers Stable Diffusion folder assembled from the other
goldens (symlinks: unet -> ../tiny_conv, vae -> ../../vae/tiny) plus a tiny byte-level CLIP tokenizer (every
byte with and without "</w>", two merges, the two specials: 516 ids), a tiny random CLIP text encoder
(vocab 516, hidden 32 = the UNet's cross_attention_dim, 2 layers; weights rounded to float16 and stored as
F16) and a DDIM scheduler config. Then runs diffusers'
StableDiffusionPipeline (DDIM, eta 1, 4 steps, guidance 5, 32x32) once per (prompt, seed) with
torch.Generator().manual_seed(seed) and writes golden.safetensors {x_T, x_0 (final latents), images}.
Run: tools/golden/.venv/bin/python tools/golden/unet_pipeline_golden.py
"""
import json
import os

import torch
from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from safetensors.torch import load_file, save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data")
OUT = os.path.join(DATA, "unet", "tiny_pipeline")
PROMPTS = ["a red circle", "two cats, on a mat!"]
SEEDS = [11, 12]
STEPS, GUIDANCE, SIZE = 4, 5.0, 32


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def write_folder():
    tok = os.path.join(OUT, "tokenizer")
    os.makedirs(tok, exist_ok=True)
    b2u = bytes_to_unicode()
    vocab = {}
    for b in range(256):
        vocab[b2u[b]] = len(vocab)
    for b in range(256):
        vocab[b2u[b] + "</w>"] = len(vocab)
    merges = [("r", "e"), ("re", "d</w>")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    with open(os.path.join(tok, "vocab.json"), "w") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(tok, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    with open(os.path.join(tok, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "do_lower_case": True,
                   "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
                   "pad_token": "<|endoftext|>"}, f, indent=2)
    sch = os.path.join(OUT, "scheduler")
    os.makedirs(sch, exist_ok=True)
    with open(os.path.join(sch, "scheduler_config.json"), "w") as f:
        json.dump({"_class_name": "DDIMScheduler", "beta_start": 0.00085, "beta_end": 0.012,
                   "beta_schedule": "scaled_linear", "num_train_timesteps": 1000, "clip_sample": False,
                   "set_alpha_to_one": False, "steps_offset": 1, "prediction_type": "epsilon",
                   "trained_betas": None}, f, indent=2)
    with open(os.path.join(OUT, "model_index.json"), "w") as f:
        json.dump({"_class_name": "StableDiffusionPipeline", "scheduler": ["diffusers", "DDIMScheduler"],
                   "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
                   "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}, f, indent=2)
    for name, target in [("unet", "../tiny_conv"), ("vae", "../../vae/tiny")]:
        link = os.path.join(OUT, name)
        if not os.path.islink(link):
            os.symlink(target, link)


def write_text_encoder():
    torch.manual_seed(5)
    cfg = CLIPTextConfig(vocab_size=516, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=77, hidden_act="quick_gelu",
                         bos_token_id=514, eos_token_id=515, pad_token_id=515)
    model = CLIPTextModel(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape) * 0.2
            if "norm" in name and name.endswith("weight"):
                r = 1.0 + r
            p.copy_(r.half().float())
    model.half().save_pretrained(os.path.join(OUT, "text_encoder"))
    return model.float()


def load_component(cls, d):
    with open(os.path.join(d, "config.json")) as f:
        cfg = {k: v for k, v in json.load(f).items() if not k.startswith("_")}
    model = cls(**cfg)
    model.load_state_dict({k: v.float() for k, v in load_file(os.path.join(d, "diffusion_pytorch_model.safetensors")).items()})
    return model.eval()


def main():
    write_folder()
    pipe = StableDiffusionPipeline(
        vae=load_component(AutoencoderKL, os.path.join(OUT, "vae")),
        text_encoder=write_text_encoder(),
        tokenizer=CLIPTokenizer.from_pretrained(os.path.join(OUT, "tokenizer")),
        unet=load_component(UNet2DConditionModel, os.path.join(OUT, "unet")),
        scheduler=DDIMScheduler.from_pretrained(os.path.join(OUT, "scheduler")),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    print("ids", pipe.tokenizer(PROMPTS[1]).input_ids)
    xs, x0s, images = [], [], []
    for prompt, seed in zip(PROMPTS, SEEDS):
        xs.append(torch.randn(1, 4, SIZE // 2, SIZE // 2, generator=torch.Generator().manual_seed(seed)))
        out = pipe(prompt, height=SIZE, width=SIZE, num_inference_steps=STEPS, guidance_scale=GUIDANCE, eta=1.0,
                   generator=torch.Generator().manual_seed(seed), output_type="pt")
        images.append(out.images)
        lat = pipe(prompt, height=SIZE, width=SIZE, num_inference_steps=STEPS, guidance_scale=GUIDANCE, eta=1.0,
                   generator=torch.Generator().manual_seed(seed), output_type="latent")
        x0s.append(lat.images)  # the final latents (what the VAE decodes after / scaling_factor)
    images = torch.cat(images)
    print("images", images.shape, float(images.min()), float(images.max()), float(images.std()))
    save_file({"x_T": torch.cat(xs).contiguous(), "x_0": torch.cat(x0s).contiguous(), "images": images.contiguous()}, os.path.join(OUT, "golden.safetensors"))


if __name__ == "__main__":
    main()
