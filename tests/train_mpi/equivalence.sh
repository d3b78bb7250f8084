#!/usr/bin/env bash
# K optimiser steps with 2 ranks equal those of 1 rank with the same global batch and seeds.
# usage: equivalence.sh DAGALIGN COMPARE MPIEXEC ALGORITHM WORKDIR [WORLD]
#   WORLD = toy2d (default): the 2-D world, 3 steps of 32 trajectories x 10 DDIM steps.
#   WORLD = tiny-shapes: the tiny pixel-space text-to-image model (LoRA + flow network), a freshly initialised
#           folder of models/tiny-shapes' layout (dagalign pretrain with 0 steps), tests/train_mpi/tiny-shapes.ini:
#           2 steps of 4 trajectories x 4 DDIM steps with CFG.
# One rank trains on the global batch in 2 micro-batches, two ranks on one micro-batch each; the trainer sums
# each micro-batch's gradient on its own before adding them (Trainer::train_on), so the two runs are expected
# to agree bitwise; the tolerance leaves room for batch-size-dependent kernels on other machines.
set -euo pipefail
bin=$1 compare=$2 mpiexec=$3 algo=$4 work=$5 world=${6:-toy2d}
src=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$work"; mkdir -p "$work"
case "$world" in
  toy2d)
    per_rank=16 micro=16 epochs=3
    common=(--config "$src/configs/toy2d/dagdb.ini" --toy2d.pretrain_steps 200 --toy2d.hidden 64
            --sample.steps 10 --train.max_grad_norm 1.0) ;;
  tiny-shapes)
    per_rank=2 micro=2 epochs=2
    "$bin" pretrain --config "$src/configs/tiny-shapes/pretrain.ini" --pretrain.steps 0 --pretrain.eval_samples 0 \
      --pretrain.threads 1 --pretrain.out "$work/model" --pretrain.dir "$work/pretrain" > "$work/pretrain.log" 2>&1
    common=(--config "$src/tests/train_mpi/tiny-shapes.ini" --model.path "$work/model") ;;
  *) echo "equivalence.sh: unknown world '$world' (toy2d or tiny-shapes)" >&2; exit 2 ;;
esac
common+=(--train.algorithm "$algo" --train.epochs "$epochs" --sample.batches_per_epoch 1 --train.batch_size "$micro"
         --run.threads 1 --train.per_prompt_stats false)
# One rank: 2 * per_rank trajectories per epoch in 2 micro-batches, one optimiser step per epoch.
"$bin" train "${common[@]}" --sample.batch_size $((2 * per_rank)) --train.grad_accum 2 --run.dir "$work/one" \
  > "$work/one.log" 2>&1
# Two ranks: per_rank trajectories each, one micro-batch each; gradients averaged over ranks.
"$mpiexec" -np 2 "$bin" train "${common[@]}" --sample.batch_size "$per_rank" --train.grad_accum 1 --run.dir "$work/two" \
  > "$work/two.log" 2>&1
grep -h "epoch $epochs/$epochs" "$work/one.log" "$work/two.log"
"$compare" "$work/one/params-final.safetensors" "$work/two/params-final.safetensors" 1e-6
