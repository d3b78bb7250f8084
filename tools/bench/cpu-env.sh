#!/usr/bin/env bash
# The main job's epoch time with and without tools/cpu-env.sh (OpenBLAS kernel family, malloc thresholds),
# alternating the two environments REPS times (default 3): 2 MPI ranks of 1 thread, EPOCHS epochs (default
# 3, the first flow-only) of configs/tiny-shapes/compress-dagdb.ini without trajectory files or grids.
# Prints the median sampling and training seconds per epoch (epochs after the first) of each and their ratio.
#   tools/bench/cpu-env.sh [REPS] [EPOCHS]       (docs/benchmarks.md "Tiny model: CPU environment")
set -euo pipefail
cd "$(dirname "$0")/../.."
reps=${1:-3}
epochs=${2:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
run() {  # run NAME: one short training run into $out/NAME
  mpirun -np 2 build/dagalign train --config configs/tiny-shapes/compress-dagdb.ini --run.dir "$out/$1" \
    --train.epochs "$epochs" --train.flow_warmup_epochs 1 --run.preview_prompts 0 \
    --run.save_trajectories false < /dev/null > "$out/$1.log" 2>&1 || { cat "$out/$1.log"; exit 1; }
}
for i in $(seq "$reps"); do
  (unset OPENBLAS_CORETYPE MALLOC_MMAP_THRESHOLD_ MALLOC_TRIM_THRESHOLD_; export OMP_WAIT_POLICY=PASSIVE; run plain-$i)
  (source tools/cpu-env.sh; run env-$i)
done
(source tools/cpu-env.sh; echo "cpu-env.sh sets OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset: CPU has neither AVX-512 nor AVX2)}")
/usr/bin/python3 - "$out" "$reps" <<'EOF'
import json, statistics, sys
out, reps = sys.argv[1], int(sys.argv[2])
def times(kind):
    s, t = [], []
    for i in range(1, reps + 1):
        rows = [json.loads(l) for l in open(f"{out}/{kind}-{i}/metrics.jsonl")][1:]  # skip the flow-only epoch
        s += [r["seconds_sample"] for r in rows]
        t += [r["seconds_train"] for r in rows]
    return statistics.median(s), statistics.median(t), len(s), rows[0]["trajectories"]
ps, pt, n, traj = times("plain")
es, et, _, _ = times("env")
print(f"medians over {n} epochs per environment ({traj:.0f} trajectories per epoch, 2 ranks):")
print(f"  plain    : sample {ps:6.2f} s  train {pt:6.2f} s  epoch {ps + pt:6.2f} s")
print(f"  cpu-env  : sample {es:6.2f} s  train {et:6.2f} s  epoch {es + et:6.2f} s")
print(f"  speed-up : sample {ps / es:5.2f}x   train {pt / et:5.2f}x   epoch {(ps + pt) / (es + et):5.2f}x")
EOF
