#!/usr/bin/python3
"""Example external scorer, stdlib only: the mean brightness of each image in [0, 1] (the mean of its
uint8 pixel values over 255). With --negate: darkness.

    dagalign train ... --reward.name external \
        --reward.external_command "/usr/bin/python3 tools/rewards/brightness_scorer.py"

A reward that one global, low-frequency change of the policy raises, so a few epochs of training move it
clearly; the end-to-end training test (tests/unit/train/test_tiny_shapes_train.cpp) uses it for that reason.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dagalign_scorer  # noqa: E402


def main():
    sign = -1.0 if "--negate" in sys.argv[1:] else 1.0

    def score(batch, prompts):
        b, h, w, c = batch.shape
        n = h * w * c
        return [sign * sum(batch.pixels[i * n:(i + 1) * n]) / (255.0 * n) for i in range(b)]

    dagalign_scorer.serve(score, as_numpy=False)


if __name__ == "__main__":
    main()
