#!/usr/bin/env bash
# Set up and run the main job: install packages, build, and align the tiny text-to-image model
# (models/tiny-shapes) with DAG-DB + LoRA against JPEG compressibility (CPU, <= 10 min on 2 cores): 2 MPI
# ranks of 1 thread, the layout configs/tiny-shapes/compress-dagdb.ini is written for.
# Extra arguments override config keys, e.g. --train.epochs 14 (more than train.flow_warmup_epochs = 4).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh --main
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDAGALIGN_TESTS=OFF > /dev/null
cmake --build build -j"$(nproc)" --target dagalign  # only the binary (tools/test.sh builds the tests)
source tools/cpu-env.sh  # OpenBLAS kernels, malloc thresholds, passive OpenMP (1.57x)
mpi=(-np 2)
[ "$(nproc)" -ge 2 ] || mpi+=(--oversubscribe)
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
mpirun "${mpi[@]}" build/dagalign train --config configs/tiny-shapes/compress-dagdb.ini "$@"
run=runs/tiny-compress-dagdb
/usr/bin/python3 tools/h5/plot_curves.py "$run" -o "$run/curves.png"
echo "results in $run: samples-before.png, samples-after.png, curves.png, metrics.jsonl, metrics.h5," \
     "lora-final.safetensors, params-final.safetensors, checkpoints/, trajectories/"
