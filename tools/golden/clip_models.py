#!/usr/bin/env python3
"""Goldens for the CLIP text encoder, the CLIP vision tower + projection, CLIP preprocessing and the
LAION aesthetic head, from transformers (tiny random configurations, float32, CPU).

Writes, under tests/data/clip/:
  tiny_sd/text_encoder/{config.json,model.safetensors}  CLIPTextModel.save_pretrained (tiny, quick_gelu)
  text_golden.safetensors     input_ids, last_hidden_state, pooler_output, hidden_state_1, clip_skip_1
  tiny_clip/{config.json,model.safetensors}             CLIPModel.save_pretrained (tiny, vision gelu)
  aesthetic_head_tiny.safetensors                       layers.{0,2,4,6,7}.* of the LAION head layout
  vision_golden.safetensors   pixel_values -> image_features; images (float in [0,1]) -> processor
                              pixel_values -> features -> L2-normalised embeddings -> aesthetic scores
  preprocess_golden.safetensors  a 300x257 uint8 image and CLIPImageProcessor's 224x224 resize+crop

    tools/golden/.venv/bin/python tools/golden/clip_models.py
"""
import json
import os

import numpy as np
import torch
import transformers
from safetensors.torch import save_file
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTextConfig, CLIPTextModel

OUT = os.path.join("tests", "data", "clip")


def perturb(model, seed):
    # HF initialises LayerNorms to (1, 0) and biases to 0: perturb every parameter so each one matters.
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))


def text_golden():
    torch.manual_seed(0)
    cfg = CLIPTextConfig(vocab_size=512, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                         num_attention_heads=4, max_position_embeddings=77, hidden_act="quick_gelu",
                         layer_norm_eps=1e-5, projection_dim=32, bos_token_id=0, eos_token_id=2, pad_token_id=1)
    model = CLIPTextModel(cfg).eval()
    perturb(model, 1)
    folder = os.path.join(OUT, "tiny_sd", "text_encoder")
    model.save_pretrained(folder, safe_serialization=True)
    # SD-style ids: [bos=510] + tokens + [eos=511] + eos padding (argmax pooling picks the first 511).
    g = torch.Generator().manual_seed(2)
    ids = torch.full((3, 77), 511, dtype=torch.long)
    for b, n in enumerate([5, 30, 75]):
        ids[b, 0] = 510
        ids[b, 1 : 1 + n] = torch.randint(0, 510, (n,), generator=g)
    with torch.no_grad():
        out = model(input_ids=ids, output_hidden_states=True)
        inner = getattr(model, "text_model", model)  # transformers 5 dropped the text_model level (and prefix)
        skip1 = inner.final_layer_norm(out.hidden_states[-2])
    save_file({"input_ids": ids, "last_hidden_state": out.last_hidden_state.contiguous(),
               "pooler_output": out.pooler_output.contiguous(), "hidden_state_1": out.hidden_states[1].contiguous(),
               "clip_skip_1": skip1.contiguous()},
              os.path.join(OUT, "text_golden.safetensors"),
              metadata={"generator": f"transformers {transformers.__version__} CLIPTextModel"})
    print("text: keys in file:", sorted(json.load(open(os.path.join(folder, "config.json"))).keys())[:5], "...")


def image_features(model, pixel_values):
    out = model.get_image_features(pixel_values=pixel_values)
    return out if torch.is_tensor(out) else out.pooler_output  # transformers 5 returns an output object


def vision_golden():
    torch.manual_seed(0)
    text = dict(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                max_position_embeddings=16)
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=32,
                  patch_size=8, hidden_act="gelu", layer_norm_eps=1e-5)
    cfg = CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)
    model = CLIPModel(cfg).eval()
    perturb(model, 3)
    model.save_pretrained(os.path.join(OUT, "tiny_clip"), safe_serialization=True)

    # The aesthetic head layout (Linear, Dropout, Linear, Dropout, Linear, Dropout, Linear, Linear), tiny widths.
    head = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.Dropout(0.2), torch.nn.Linear(32, 16),
                               torch.nn.Dropout(0.2), torch.nn.Linear(16, 8), torch.nn.Dropout(0.1),
                               torch.nn.Linear(8, 4), torch.nn.Linear(4, 1)).eval()
    save_file({f"layers.{k}": v.contiguous() for k, v in head.state_dict().items()},
              os.path.join(OUT, "aesthetic_head_tiny.safetensors"))

    g = torch.Generator().manual_seed(4)
    pixel_values = torch.randn(2, 3, 32, 32, generator=g)
    # Images as a diffusion sample gives them: float in [0, 1]; one is upscaled (24x40), one downscaled (48x37).
    u8 = [torch.randint(0, 256, (3, 24, 40), generator=g, dtype=torch.uint8),
          torch.randint(0, 256, (3, 48, 37), generator=g, dtype=torch.uint8)]
    proc = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    golden = {"pixel_values": pixel_values}
    with torch.no_grad():
        golden["image_features"] = image_features(model, pixel_values).contiguous()
        for i, img in enumerate(u8):
            x = img.float() / 255  # what the reward receives
            q = (x * 255).round().clamp(0, 255).to(torch.uint8)  # DDPO: (x * 255).round().clamp(0, 255)
            pv = proc(images=[q], return_tensors="pt")["pixel_values"]
            feats = image_features(model, pv)
            emb = feats / feats.norm(dim=-1, keepdim=True)
            golden[f"image_{i}"] = x.unsqueeze(0).contiguous()
            golden[f"processed_{i}"] = pv.contiguous()
            golden[f"embedding_{i}"] = emb.contiguous()
            golden[f"score_{i}"] = head(emb).squeeze(-1).contiguous()
    save_file(golden, os.path.join(OUT, "vision_golden.safetensors"),
              metadata={"generator": f"transformers {transformers.__version__} CLIPModel + CLIPImageProcessor"})


def preprocess_golden():
    g = torch.Generator().manual_seed(5)
    # A smooth-ish image (random blocks upsampled) plus noise, so resizing is not trivial.
    base = torch.randint(0, 256, (3, 30, 26), generator=g).float()
    img = torch.nn.functional.interpolate(base[None], size=(300, 257), mode="bilinear", align_corners=False)[0]
    img = (img + torch.randint(-20, 21, img.shape, generator=g)).clamp(0, 255).round().to(torch.uint8)
    proc = CLIPImageProcessor(do_rescale=False, do_normalize=False)
    crop = proc(images=[img], return_tensors="pt")["pixel_values"][0]
    assert torch.equal(crop, crop.round())
    save_file({"image": img.contiguous(), "resized_cropped": crop.to(torch.uint8).contiguous()},
              os.path.join(OUT, "preprocess_golden.safetensors"))
    # How far PIL's bicubic (CLIPImageProcessorPil) is from the torchvision path matched here.
    try:
        from transformers import CLIPImageProcessorPil
        from PIL import Image
        pil = CLIPImageProcessorPil(do_rescale=False, do_normalize=False)
        pil_crop = torch.as_tensor(np.asarray(pil(images=[Image.fromarray(img.permute(1, 2, 0).numpy())],
                                                  return_tensors="np")["pixel_values"][0]))
        d = (pil_crop.float() - crop.float()).abs()
        print(f"PIL vs torchvision resize+crop (uint8 levels): max {d.max().item():.0f}, "
              f"mean {d.mean().item():.3f}, differing pixels {(d > 0).float().mean().item() * 100:.1f}%")
    except Exception as e:
        print("PIL comparison skipped:", e)


def main():
    os.makedirs(OUT, exist_ok=True)
    text_golden()
    vision_golden()
    preprocess_golden()
    for root, _, files in os.walk(OUT):
        for f in sorted(files):
            if f.endswith((".safetensors", ".json")) and "tokenizer" not in f:
                p = os.path.join(root, f)
                print(f"{p}: {os.path.getsize(p)} bytes")


if __name__ == "__main__":
    main()
