#!/usr/bin/env bash
# The off-policy ablation of docs/results.md ("What replay is for"): DAG-DB on the main job's task and budget
# (configs/tiny-shapes/compress-dagdb.ini: 28 epochs of 32 trajectories, one update each, 2 ranks) from
#   onpolicy  the shipped configuration (on-policy only),
#   mix       train.replay_fraction 0.5 (each update adds 16 stored trajectories of earlier epochs),
#   replay    dagalign replay of the base model's stored trajectories only: the 128 trajectories of the
#             onpolicy run's flow-only epochs 1-4 (the policy does not move in them), 32 rows per epoch.
# Each final LoRA is then evaluated on 256 fresh samples (dagalign eval, the main job's sampler) and
# tools/h5/ablation_table.py prints the table and draws the curves.
# usage: tools/bench/replay-ablation.sh [SEED...]   (default: 0 1; runs in runs/ablation/<arm>-s<seed>/)
#   SKIP_DONE=1  keep the runs whose lora-final.safetensors exists; DAGALIGN=path: the binary (build/dagalign)
set -euo pipefail
cd "$(dirname "$0")/../.."
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(0 1)
source tools/cpu-env.sh
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
bin=${DAGALIGN:-build/dagalign}
cfg=configs/tiny-shapes/compress-dagdb.ini
mpi=(mpirun -np 2 --oversubscribe)
done_() { [ "${SKIP_DONE:-0}" = 1 ] && [ -e "$1/lora-final.safetensors" ]; }
eval_args=(--model models/tiny-shapes --reward jpeg_compressibility --prompts configs/tiny-shapes/prompts-compress.txt
           --eval.n 256 --eval.steps 10 --eval.guidance 2 --threads 2)
evaluate() {  # evaluate RUN_DIR: RUN_DIR/eval/eval.json of its final LoRA
  "$bin" eval "${eval_args[@]}" --lora "$1/lora-final.safetensors" --eval.out "$1/eval" > "$1/eval.log" 2>&1
}
evaluate_base() { "$bin" eval "${eval_args[@]}" --eval.out runs/ablation/base/eval > runs/ablation/base/eval.log 2>&1; }
mkdir -p runs/ablation/base
[ -e runs/ablation/base/eval/eval.json ] || { echo "== base model"; evaluate_base; }
for s in "${seeds[@]}"; do
  on=runs/ablation/onpolicy-s$s
  for arm in onpolicy mix replay; do
    dir=runs/ablation/$arm-s$s
    if ! done_ "$dir"; then
      echo "== $arm seed $s: $dir ($(date -u +%H:%M:%S))"
      common=(--config $cfg --run.seed "$s" --run.dir "$dir" --run.name "$arm-s$s" --run.resume none)
      case $arm in
        onpolicy) "${mpi[@]}" "$bin" train "${common[@]}" > "$dir.log" 2>&1 ;;
        mix) "${mpi[@]}" "$bin" train "${common[@]}" --train.replay_fraction 0.5 > "$dir.log" 2>&1 ;;
        replay) "${mpi[@]}" "$bin" replay "${common[@]}" --replay.dir "$dir" --replay.epochs 28 \
                  --trajectories "$on/trajectories/seg-00000[0-3].rank-*.h5" > "$dir.log" 2>&1 ;;
      esac
    fi
    [ -e "$dir/eval/eval.json" ] || evaluate "$dir"
  done
done
echo "== done ($(date -u +%H:%M:%S))"
/usr/bin/python3 tools/h5/ablation_table.py runs/ablation -o docs/img/replay-ablation.png
