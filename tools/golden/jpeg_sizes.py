#!/usr/bin/python3
"""Golden JPEG sizes for the jpeg_(in)compressibility rewards (docs/rewards.md).

Writes tests/data/jpeg/<name>.u8 (raw uint8, H x W x 3, row-major) and tests/data/jpeg/sizes.json with the
byte count of PIL's `Image.fromarray(x).save(buf, format="JPEG", quality=95)` -- exactly the reference
reward's encoder call (DDPO/DAG `jpeg_incompressibility`). Run with Debian's /usr/bin/python3 (PIL + numpy):

    /usr/bin/python3 tools/golden/jpeg_sizes.py
"""
import io
import json
import os

import numpy as np
import PIL
from PIL import Image, features

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "jpeg")


def images(rng):
    """(name, HxWx3 uint8) test images: noise, smooth, flat, shapes, odd sizes (partial MCUs)."""
    yield "noise_32x32", rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:32, 0:32]
    grad = np.stack([xx * 8, yy * 8, (xx + yy) * 4], axis=-1).clip(0, 255).astype(np.uint8)
    yield "gradient_32x32", grad
    yield "flat_32x32", np.full((32, 32, 3), (40, 80, 220), dtype=np.uint8)
    disc = np.full((32, 32, 3), (242, 230, 25), dtype=np.uint8)
    disc[(yy - 15.5) ** 2 + (xx - 17.0) ** 2 <= 64] = (217, 25, 25)
    yield "disc_32x32", disc
    yield "noise_17x23", rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    y2, x2 = np.mgrid[0:48, 0:64]
    wave = (127.5 + 127.5 * np.stack([np.sin(x2 / 3.0), np.cos(y2 / 5.0), np.sin((x2 + y2) / 7.0)], -1))
    yield "waves_48x64", np.round(wave).astype(np.uint8)
    yield "noise_8x8", rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    blocks = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    yield "blocks_32x32", blocks


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240601)
    entries = []
    for name, x in images(rng):
        assert x.dtype == np.uint8 and x.ndim == 3 and x.shape[2] == 3
        buf = io.BytesIO()
        Image.fromarray(x).save(buf, format="JPEG", quality=95)  # the reference call, PIL defaults otherwise
        x.tofile(os.path.join(OUT, name + ".u8"))
        entries.append({"name": name, "height": x.shape[0], "width": x.shape[1], "bytes": buf.tell()})
    meta = {"encoder": "PIL %s, libjpeg-turbo %s" % (PIL.__version__, features.version("jpg")),
            "call": 'Image.fromarray(x).save(buf, format="JPEG", quality=95)', "images": entries}
    with open(os.path.join(OUT, "sizes.json"), "w") as f:
        json.dump(meta, f, indent=1)
    for e in entries:
        print("%-16s %3dx%-3d %6d bytes" % (e["name"], e["height"], e["width"], e["bytes"]))


if __name__ == "__main__":
    main()
