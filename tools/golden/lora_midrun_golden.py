#!/usr/bin/env python3
"""diffusers-side golden for a LoRA the training loop wrote mid-run (tests/unit/cli/test_midrun_lora.cpp).

tests/data/lora/tiny-shapes/epoch-000020.lora.safetensors is the policy export the loop writes beside
every checkpoint (here: epoch 20 of the main job, configs/tiny-shapes/compress-dagdb.ini, seed 0). This
script loads models/tiny-shapes with StableDiffusionPipeline.from_pretrained, samples the main job's sampler
(DDIM with the folder's scheduler config, 10 steps, eta 1, guidance 2, 32x32 pixel space: output_type="latent",
the model has no VAE) once per
(prompt, seed) with torch.Generator().manual_seed(seed), without and with `pipe.load_lora_weights(file)`,
and writes tests/data/lora/tiny-shapes/epoch-000020_golden.safetensors {x_T, x_0_base, x_0_lora}.
Run: tools/golden/.venv/bin/python tools/golden/lora_midrun_golden.py
"""
import os

import torch
from diffusers import DDIMScheduler, StableDiffusionPipeline
from safetensors.torch import load_file, save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MODEL = os.path.join(ROOT, "models", "tiny-shapes")
OUT = os.path.join(ROOT, "tests", "data", "lora", "tiny-shapes")
LORA = os.path.join(OUT, "epoch-000020.lora.safetensors")
PROMPTS = ["a black circle on a blue background", "a purple triangle on a red background"]  # training prompts
SEEDS = [3, 4]
STEPS, GUIDANCE, ETA, SIZE = 10, 2.0, 1.0, 32


def sample(pipe):
    out = []
    for prompt, seed in zip(PROMPTS, SEEDS):
        # without a VAE diffusers assumes a factor of 8 between image and latent sides: ask for 8x the state
        side = SIZE * pipe.vae_scale_factor
        out.append(pipe(prompt, height=side, width=side, num_inference_steps=STEPS, guidance_scale=GUIDANCE,
                        eta=ETA, generator=torch.Generator().manual_seed(seed), output_type="latent").images)
    return torch.cat(out)


def main():
    pipe = StableDiffusionPipeline.from_pretrained(MODEL, vae=None, safety_checker=None, feature_extractor=None,
                                                   image_encoder=None, requires_safety_checker=False)
    assert isinstance(pipe.scheduler, DDIMScheduler), type(pipe.scheduler)
    # StableDiffusionPipeline.__init__ resets clip_sample to False (a deprecation for old SD folders); the
    # folder says true (pixel space: x0_hat clamped to [-1, 1]) and dagalign follows the folder
    assert pipe.scheduler.config.clip_sample is False
    pipe.scheduler = DDIMScheduler.from_pretrained(os.path.join(MODEL, "scheduler"))
    assert pipe.scheduler.config.clip_sample is True and pipe.scheduler.config.prediction_type == "v_prediction"
    pipe.set_progress_bar_config(disable=True)
    x_t = torch.cat([torch.randn(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(s)) for s in SEEDS])
    base = sample(pipe)
    pipe.load_lora_weights(LORA)
    # every factor of the file landed in a peft layer with its values (no key dropped or renamed)
    modules = dict(pipe.unet.named_modules())
    file_sd = load_file(LORA)
    for key, value in file_sd.items():
        path, factor = key[len("unet."):].rsplit(".lora_", 1)
        layer = modules[path]
        adapter = next(iter(layer.lora_A.keys()))
        got = (layer.lora_A if factor.startswith("A") else layer.lora_B)[adapter].weight
        assert torch.equal(got, value), key
    lora = sample(pipe)
    print(f"{len(file_sd) // 2} LoRA layers; |x_0 lora - base| max {(lora - base).abs().max():.4f}, "
          f"|x_0| max {lora.abs().max():.3f}")
    save_file({"x_T": x_t.contiguous(), "x_0_base": base.contiguous(), "x_0_lora": lora.contiguous()},
              os.path.join(OUT, "epoch-000020_golden.safetensors"))


if __name__ == "__main__":
    main()
