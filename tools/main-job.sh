#!/usr/bin/env bash
# Set up and run the main job: install packages, build, and align the tiny text-to-image model
# (models/tiny-shapes) with DAG-DB + LoRA against JPEG compressibility (CPU, <= 10 min on 2 cores).
# Extra arguments override config keys, e.g. --train.epochs 12 (more than train.flow_warmup_epochs = 7).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j"$(nproc)"
export OMP_WAIT_POLICY=PASSIVE
build/dagalign train --config configs/tiny-shapes/compress-dagdb.ini "$@"
run=runs/tiny-compress-dagdb
/usr/bin/python3 tools/h5/plot_curves.py "$run" -o "$run/curves.png"
echo "results in $run: samples-before.png, samples-after.png, curves.png, metrics.jsonl, metrics.h5," \
     "lora-final.safetensors, params-final.safetensors, checkpoints/, trajectories/"
