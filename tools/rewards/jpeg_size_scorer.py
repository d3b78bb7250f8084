#!/usr/bin/python3
"""Example external scorer: JPEG size in kB of each image, PIL at quality 95 (the reference
jpeg_incompressibility reward of DDPO/DAG, docs/rewards.md). With --negate: compressibility.

    dagalign train ... --reward.name external \
        --reward.external_command "/usr/bin/python3 tools/rewards/jpeg_size_scorer.py"

Needs numpy and PIL (Debian: python3-numpy python3-pil).
"""
import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dagalign_scorer  # noqa: E402

from PIL import Image  # noqa: E402


def main():
    sign = -1.0 if "--negate" in sys.argv[1:] else 1.0

    def score(images, prompts):
        out = []
        for x in images:  # (H, W, 3) uint8
            buf = io.BytesIO()
            Image.fromarray(x).save(buf, format="JPEG", quality=95)
            out.append(sign * buf.tell() / 1000.0)
        return out

    dagalign_scorer.serve(score)


if __name__ == "__main__":
    main()
