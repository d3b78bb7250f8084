#!/usr/bin/env python3
"""CLIP tokenizer and text-encoder timings: dagalign (C++) and transformers in the same run, with ratios.

    tools/golden/.venv/bin/python tools/golden/clip_bench.py [--cmd "build/dagalign bench clip"] [--threads 2]

Runs the C++ bench (its lines `name value`), then the same work in Python on the same prompts and configs:
  tokenizer: transformers CLIPTokenizer (Rust tokenizers backend), one call per prompt and one batched call,
             and openai's pure-Python SimpleTokenizer (open_clip), cold (fresh object) and warm (second pass);
  encoder:   CLIPTextModel forward under no_grad, float32, batch 8 x 77, median of reps after 1 warm-up.
Prints a markdown table for docs/benchmarks.md.
"""
import argparse
import gzip
import json
import os
import shlex
import shutil
import statistics
import subprocess
import tempfile
import time

import torch
import transformers
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

DATA = os.path.join("tests", "data", "clip")


def median_time(fn, reps):
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return statistics.median(t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cmd", default="build/dagalign bench clip")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()

    cpp = {}
    run = subprocess.run(shlex.split(a.cmd) + ["--clip.threads", str(a.threads), "--clip.reps", str(a.reps),
                                               "--clip.data", DATA], capture_output=True, text=True, check=True)
    for line in run.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                cpp[parts[0]] = float(parts[1])
            except ValueError:
                pass
    print(run.stdout)

    torch.set_num_threads(a.threads)
    prompts = [c["prompt"] for c in json.load(open(os.path.join(DATA, "tokenizer_golden.json")))["cases"]]
    tmp = tempfile.mkdtemp()
    try:
        for name in ("vocab.json", "merges.txt"):
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(gzip.open(os.path.join(DATA, name + ".gz")).read())
        py = {}
        enc = lambda tok: [tok(p, padding="max_length", max_length=77, truncation=True)["input_ids"] for p in prompts]
        cold, warm = [], []
        for _ in range(a.reps):
            tok = CLIPTokenizer.from_pretrained(tmp)
            t0 = time.perf_counter(); enc(tok); cold.append(time.perf_counter() - t0)
            t0 = time.perf_counter(); enc(tok); warm.append(time.perf_counter() - t0)
        py["hf_cold"] = len(prompts) / statistics.median(cold)
        py["hf_warm"] = len(prompts) / statistics.median(warm)
        tok = CLIPTokenizer.from_pretrained(tmp)
        py["hf_batch"] = len(prompts) / median_time(
            lambda: tok(prompts, padding="max_length", max_length=77, truncation=True), a.reps)
        try:
            from open_clip.tokenizer import SimpleTokenizer
            cold, warm = [], []
            for _ in range(a.reps):
                st = SimpleTokenizer()
                t0 = time.perf_counter(); [st.encode(p) for p in prompts]; cold.append(time.perf_counter() - t0)
                t0 = time.perf_counter(); [st.encode(p) for p in prompts]; warm.append(time.perf_counter() - t0)
            py["openai_cold"] = len(prompts) / statistics.median(cold)
            py["openai_warm"] = len(prompts) / statistics.median(warm)
        except Exception as e:
            print("open_clip unavailable:", e)
    finally:
        shutil.rmtree(tmp)

    def forward_ms(model, ids):
        with torch.no_grad():
            model(input_ids=ids)
            return 1e3 * median_time(lambda: model(input_ids=ids).last_hidden_state.sum().item(), a.reps)

    tiny = CLIPTextModel.from_pretrained(os.path.join(DATA, "tiny_sd", "text_encoder")).eval()
    py["tiny_ms"] = forward_ms(tiny, torch.randint(0, tiny.config.vocab_size, (8, 77)))
    if "text_encoder_sd15_ms" in cpp:
        cfg = CLIPTextConfig(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                             num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu",
                             eos_token_id=2)
        full = CLIPTextModel(cfg).eval()
        py["sd15_ms"] = forward_ms(full, torch.randint(0, 49408, (8, 77)))

    print(f"\ntorch {torch.__version__}, transformers {transformers.__version__}, {a.threads} threads, "
          f"{len(prompts)} prompts, median of {a.reps}\n")
    print("| measure | dagalign (C++) | transformers / Python | ratio (dagalign / Python) |")
    print("|---|---:|---:|---:|")
    rows = [("tokenizer, cold cache, prompts/s (vs HF per-prompt calls)", "tokenizer_cold_prompts_per_s", "hf_cold", 1),
            ("tokenizer, warm cache, prompts/s (vs HF per-prompt calls)", "tokenizer_warm_prompts_per_s", "hf_warm", 1),
            ("tokenizer, warm, prompts/s (vs HF one batched call)", "tokenizer_warm_prompts_per_s", "hf_batch", 1),
            ("tokenizer, cold, prompts/s (vs openai SimpleTokenizer)", "tokenizer_cold_prompts_per_s", "openai_cold", 1),
            ("tokenizer, warm, prompts/s (vs openai SimpleTokenizer)", "tokenizer_warm_prompts_per_s", "openai_warm", 1),
            ("text encoder tiny (32-d, 3 layers), batch 8x77, ms", "text_encoder_tiny_ms", "tiny_ms", -1),
            ("text encoder SD 1.5 (123 M), batch 8x77, ms", "text_encoder_sd15_ms", "sd15_ms", -1)]
    for label, c, p, sense in rows:
        if c in cpp and p in py:
            ratio = cpp[c] / py[p]
            note = "faster" if (ratio > 1) == (sense > 0) else "slower"
            print(f"| {label} | {cpp[c]:.1f} | {py[p]:.1f} | {ratio:.2f} ({note}) |")


if __name__ == "__main__":
    main()
