#!/usr/bin/env python3
"""Writes tests/data/weights/python_written.safetensors with the reference `safetensors` package.

The values follow closed formulas that tests/unit/weights/test_safetensors.cpp restates, so the C++ reader is
checked against a file it did not write. Run from the repository root:
    tools/golden/.venv/bin/python tools/golden/clip_weights_safetensors.py
"""
import os

import torch
from safetensors.torch import load_file, save_file

OUT = os.path.join("tests", "data", "weights", "python_written.safetensors")


def main():
    base = torch.arange(24, dtype=torch.float64).reshape(2, 3, 4) * 0.25 - 2.5
    tensors = {
        "f32": base.to(torch.float32),
        "f64": base,
        "f16": base.to(torch.float16),
        "bf16": base.to(torch.bfloat16),
        "i64": torch.arange(-6, 6, dtype=torch.int64).reshape(3, 4) * 1000000007,
        "i32": torch.arange(-6, 6, dtype=torch.int32),
        "u8": torch.arange(0, 256, 17, dtype=torch.uint8),
        "bool": torch.arange(7) % 3 == 0,
        "scalar": torch.tensor(-1.5, dtype=torch.float32),  # 0-rank
        "empty": torch.empty(2, 0, dtype=torch.float16),  # zero-size
        "text_model.embeddings.position_ids": torch.arange(77, dtype=torch.int64).unsqueeze(0),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save_file(tensors, OUT, metadata={"format": "pt", "writer": "safetensors.torch.save_file"})
    back = load_file(OUT)
    assert all(torch.equal(back[k], v) for k, v in tensors.items())
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes, {len(tensors)} tensors)")


if __name__ == "__main__":
    main()
