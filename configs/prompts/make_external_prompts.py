#!/usr/bin/env python3
"""Builds the prompt files of the ImageReward and HPSv2 experiments from their public sources, with the
train/test splits of DAG's alignment/prompts.py (docs/rewards.md):

  drawbench_train.txt   DrawBench ("DrawBench Prompts.csv", columns Prompts, Category) without the
                        "Misspellings" and "Rare Words" categories, the first 2 prompts of each category
                        held out (drawbench_test.txt): 165 training prompts.
  hpd_<variant>.txt     HPDv2 benchmark prompts (benchmark_{anime,concept-art,paintings,photo}.json, 800
                        each, shipped in DAG's alignment/assets/HPDv2/ and in the HPSv2 package), the first
                        10 of each style held out (hpd_test.txt): 790 per style. Variants as DAG's:
                        hpd (all 4 styles), hpd_photo, hpd_photo_painting, hpd_photo_anime, hpd_photo_concept.

One prompt per line; a prompt's own line breaks become spaces and its ends are stripped (DAG keeps them,
which changes nothing for the tokenizer). Usage, with /usr/bin/python3 (standard library only):
  configs/prompts/make_external_prompts.py --drawbench "DrawBench Prompts.csv" --hpd-dir DIR [--out configs/prompts]
"""
import argparse
import csv
import json
import os
import sys

HPD_STYLES = ["anime", "concept-art", "paintings", "photo"]
HPD_VARIANTS = {
    "hpd": HPD_STYLES,
    "hpd_photo": ["photo"],
    "hpd_photo_painting": ["photo", "paintings"],
    "hpd_photo_anime": ["photo", "anime"],
    "hpd_photo_concept": ["photo", "concept-art"],
}


def clean(prompt):
    return " ".join(prompt.split())


def write(path, prompts):
    with open(path, "w", encoding="utf-8") as f:
        for p in prompts:
            f.write(clean(p) + "\n")
    print(f"{path}: {len(prompts)} prompts")


def drawbench(csv_path, out):
    by_category = {}
    with open(csv_path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            by_category.setdefault(row["Category"], []).append(row["Prompts"])
    train, test = [], []
    for category, prompts in by_category.items():
        if category in ("Misspellings", "Rare Words"):
            continue
        test += prompts[:2]
        train += prompts[2:]
    write(os.path.join(out, "drawbench_train.txt"), train)
    write(os.path.join(out, "drawbench_test.txt"), test)


def hpd(directory, out):
    train, test = {}, []
    for style in HPD_STYLES:
        with open(os.path.join(directory, f"benchmark_{style}.json"), encoding="utf-8") as f:
            prompts = json.load(f)
        if len(prompts) != 800:
            sys.exit(f"error: {directory}/benchmark_{style}.json has {len(prompts)} prompts, expected 800")
        test += prompts[:10]
        train[style] = prompts[10:]
    for name, styles in HPD_VARIANTS.items():
        write(os.path.join(out, f"{name}.txt"), [p for s in styles for p in train[s]])
    write(os.path.join(out, "hpd_test.txt"), test)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--drawbench", help='path of "DrawBench Prompts.csv"')
    ap.add_argument("--hpd-dir", help="directory holding benchmark_{anime,concept-art,paintings,photo}.json")
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)), help="output directory")
    a = ap.parse_args()
    if not a.drawbench and not a.hpd_dir:
        ap.error("give --drawbench and/or --hpd-dir")
    if a.drawbench:
        drawbench(a.drawbench, a.out)
    if a.hpd_dir:
        hpd(a.hpd_dir, a.out)


if __name__ == "__main__":
    main()
