#!/usr/bin/env bash
# dagalign bench fl on a small configuration: the forward-looking term cached per state and the official
# per-transition form give the same losses (the bench exits 1 beyond bench.tolerance = 1e-5 relative).
# usage: fl.sh DAGALIGN WORKDIR WORLD ALGORITHM   (WORLD: toy2d | tiny-shapes; ALGORITHM: dagdb | dagkl)
set -euo pipefail
bin=$1 work=$2 world=$3 algo=$4
src=$(cd "$(dirname "$0")/../../.." && pwd)
rm -rf "$work"; mkdir -p "$work"
case "$world" in
  toy2d)
    args=(--config "$src/configs/toy2d/dagdb.ini" --toy2d.pretrain_steps 200 --toy2d.hidden 64 --sample.steps 10
          --sample.batch_size 32 --train.batch_size 16 --train.grad_accum 2) ;;
  tiny-shapes)
    # A freshly initialised folder of models/tiny-shapes' layout (the trained weights are not needed here).
    "$bin" pretrain --config "$src/configs/tiny-shapes/pretrain.ini" --pretrain.steps 0 --pretrain.eval_samples 0 \
      --pretrain.threads 1 --pretrain.out "$work/model" --pretrain.dir "$work/pretrain" > "$work/pretrain.log" 2>&1
    args=(--config "$src/tests/integration/mpi_train/tiny-shapes.ini" --model.path "$work/model" --sample.batch_size 4
          --train.batch_size 2 --train.grad_accum 2) ;;
  *) echo "fl.sh: unknown world '$world' (toy2d or tiny-shapes)" >&2; exit 2 ;;
esac
"$bin" bench fl "${args[@]}" --train.algorithm "$algo" --sample.batches_per_epoch 1 --bench.runs 1 --bench.threads 1 \
  | tee "$work/bench.log"
grep -q "^losses: " "$work/bench.log"
