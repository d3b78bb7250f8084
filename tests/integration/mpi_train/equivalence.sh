#!/usr/bin/env bash
# K optimiser steps with 2 ranks equal, bitwise, those of 1 rank doing both ranks' work.
# usage: equivalence.sh DAGALIGN COMPARE MPIEXEC ALGORITHM WORKDIR [WORLD] [ACCUM]
#   WORLD = toy2d (default): the 2-D world, 3 steps of 32 trajectories x 10 DDIM steps (ACCUM 1), or of 48 in
#           micro-batches of 8 (ACCUM 3: 2 x 3 vs 1 x 6 micro-batches, a pairwise sum with an odd split).
#   WORLD = tiny-shapes: the tiny pixel-space text-to-image model (LoRA + flow network), a freshly initialised
#           folder of models/tiny-shapes' layout (dagalign pretrain with 0 steps), tests/integration/mpi_train/tiny-shapes.ini:
#           2 steps of 4 trajectories x 4 DDIM steps with CFG.
# Both runs have the same per-process shapes: sampling batches of the same size (one rank samples twice as many
# batches) and micro-batches of the same size (one rank accumulates twice as many). Every tensor a rank computes
# then has the shape the single rank gave it for those rows, and the trainer sums micro-batch gradients in
# halves (Trainer::train_on) as the all-reduce adds the two ranks, so the parameters must be equal bitwise
# whatever BLAS kernels run (the test suite runs this under two OpenBLAS kernel families, label rounding).
set -euo pipefail
bin=$1 compare=$2 mpiexec=$3 algo=$4 work=$5 world=${6:-toy2d} accum=${7:-1}
src=$(cd "$(dirname "$0")/../../.." && pwd)
rm -rf "$work"; mkdir -p "$work"
case "$world" in
  toy2d)
    if [ "$accum" = 1 ]; then per_rank=16 micro=16; else per_rank=$((8 * accum)) micro=8; fi
    epochs=3
    common=(--config "$src/configs/toy2d/dagdb.ini" --toy2d.pretrain_steps 200 --toy2d.hidden 64
            --sample.steps 10 --train.max_grad_norm 1.0) ;;
  tiny-shapes)
    per_rank=2 micro=2 epochs=2
    "$bin" pretrain --config "$src/configs/tiny-shapes/pretrain.ini" --pretrain.steps 0 --pretrain.eval_samples 0 \
      --pretrain.threads 1 --pretrain.out "$work/model" --pretrain.dir "$work/pretrain" > "$work/pretrain.log" 2>&1
    common=(--config "$src/tests/integration/mpi_train/tiny-shapes.ini" --model.path "$work/model") ;;
  *) echo "equivalence.sh: unknown world '$world' (toy2d or tiny-shapes)" >&2; exit 2 ;;
esac
[ $((per_rank % (micro * accum))) = 0 ] || { echo "equivalence.sh: $per_rank per rank is not $accum x $micro" >&2; exit 2; }
common+=(--train.algorithm "$algo" --train.epochs "$epochs" --sample.batch_size "$per_rank" --train.batch_size "$micro"
         --run.threads 1 --train.per_prompt_stats false)
# One rank: two sampling batches, 2 * ACCUM micro-batches, one optimiser step per epoch.
"$bin" train "${common[@]}" --sample.batches_per_epoch 2 --train.grad_accum $((2 * accum)) --run.dir "$work/one" \
  > "$work/one.log" 2>&1
# Two ranks: one sampling batch and ACCUM micro-batches each; gradients averaged over ranks.
"$mpiexec" -np 2 "$bin" train "${common[@]}" --sample.batches_per_epoch 1 --train.grad_accum "$accum" \
  --run.dir "$work/two" > "$work/two.log" 2>&1
grep -h "epoch $epochs/$epochs" "$work/one.log" "$work/two.log"
"$compare" "$work/one/params-final.safetensors" "$work/two/params-final.safetensors" 0
