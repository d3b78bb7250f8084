#!/usr/bin/env bash
# Set up and run the main job: install packages, build, and align the base model of the 2-D world with
# DAG-DB (CPU, about a minute). Extra arguments override config keys, e.g. --train.epochs 20.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j"$(nproc)"
export OMP_WAIT_POLICY=PASSIVE
build/dagalign train --config configs/toy2d/dagdb.ini "$@"
run=runs/toy2d-dagdb
segs=("$run"/trajectories/seg-*.rank-000.h5)
/usr/bin/python3 tools/h5/plot_curves.py "$run" -o "$run/curves.png"
/usr/bin/python3 tools/h5/sample_grid.py "${segs[0]}" -o "$run/samples-first-epoch.png"
/usr/bin/python3 tools/h5/sample_grid.py "${segs[-1]}" -o "$run/samples-last-epoch.png"
echo "results in $run: metrics.jsonl, metrics.h5, curves.png, samples-{first,last}-epoch.png, checkpoints/, trajectories/"
