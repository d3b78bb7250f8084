#!/usr/bin/env python3
"""Adapter: HPSv2 / HPSv2.1 (open_clip ViT-H-14 fine-tuned on HPD) as a dagalign external reward. For
clusters with `pip install hpsv2` and the checkpoint (xswu/HPSv2, HPS_v2.1_compressed.pt) pre-downloaded
(hpsv2 fetches it from the Hugging Face hub on first use). Not run by the test suite.

    dagalign train ... --reward.name external \
        --reward.external_command "python3 tools/rewards/hpsv2_scorer.py --version v2.1" \
        --reward.external_startup_timeout 900

Score = hpsv2.score(images, prompt): the cosine similarity of image and text embeddings without logit scale
(diag(image_features @ text_features.T)), as in NABLA's hpscore (docs/rewards.md).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dagalign_scorer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", default="v2.1", choices=["v2.0", "v2.1"])
    args = ap.parse_args()

    import hpsv2
    from PIL import Image

    print("hpsv2_scorer: HPS %s" % args.version, file=sys.stderr)

    def score(images, prompts):
        out = [0.0] * len(prompts)
        by_prompt = {}
        for i, p in enumerate(prompts):
            by_prompt.setdefault(p, []).append(i)
        for p, idx in by_prompt.items():
            s = hpsv2.score([Image.fromarray(images[i]) for i in idx], p, hps_version=args.version)
            for i, v in zip(idx, list(s)):
                out[i] = float(v)
        return out

    dagalign_scorer.serve(score)


if __name__ == "__main__":
    main()
