#!/usr/bin/env python3
"""Adapter: ImageReward (THUDM, BLIP-based) as a dagalign external reward. For clusters with the package
and weights installed (`pip install image-reward`; weights are fetched to ~/.cache/ImageReward on first use,
so pre-download them on a login node). Not run by the test suite.

    dagalign train ... --reward.name external \
        --reward.external_command "python3 tools/rewards/imagereward_scorer.py --device cuda" \
        --reward.external_startup_timeout 600

Scores: ImageReward.score(prompt, PIL images), i.e. the model's normalised reward
(mlp - 0.16717362830052426) / 1.0333394966054072 (THUDM/ImageReward ImageReward.py). The DAG/DDPO reference
code calls score_gard on tensors resized with torchvision (bicubic 224, CLIP normalisation); this adapter
goes through PIL like ImageReward's own API, which can differ in the last decimals (resampling filter).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dagalign_scorer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--model", default="ImageReward-v1.0")
    args = ap.parse_args()

    import torch
    import ImageReward as RM
    from PIL import Image

    model = RM.load(args.model, device=args.device)
    model.eval()
    print("imagereward_scorer: loaded %s on %s" % (args.model, args.device), file=sys.stderr)

    def score(images, prompts):
        out = [0.0] * len(prompts)
        by_prompt = {}
        for i, p in enumerate(prompts):  # one forward per distinct prompt
            by_prompt.setdefault(p, []).append(i)
        with torch.no_grad():
            for p, idx in by_prompt.items():
                pil = [Image.fromarray(images[i]) for i in idx]
                s = model.score(p, pil)
                s = s if isinstance(s, list) else [s]
                for i, v in zip(idx, s):
                    out[i] = float(v)
        return out

    dagalign_scorer.serve(score)


if __name__ == "__main__":
    main()
