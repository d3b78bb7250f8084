#!/usr/bin/env bash
# K optimiser steps with 2 ranks equal those of 1 rank with the same global batch and seeds.
# usage: equivalence.sh DAGALIGN COMPARE MPIEXEC ALGORITHM WORKDIR
set -euo pipefail
bin=$1 compare=$2 mpiexec=$3 algo=$4 work=$5
rm -rf "$work"; mkdir -p "$work"
common=(--config "$(dirname "$0")/../../configs/toy2d/dagdb.ini" --train.algorithm "$algo" --train.epochs 3
        --sample.steps 10 --sample.batches_per_epoch 1 --train.batch_size 16 --toy2d.pretrain_steps 200
        --toy2d.hidden 64 --run.threads 1 --train.max_grad_norm 1.0 --train.per_prompt_stats false)
# One rank: 32 trajectories per epoch in 2 micro-batches of 16, one optimiser step per epoch.
"$bin" train "${common[@]}" --sample.batch_size 32 --train.grad_accum 2 --run.dir "$work/one" > "$work/one.log" 2>&1
# Two ranks: 16 trajectories each, one micro-batch each; gradients averaged over ranks.
"$mpiexec" -np 2 "$bin" train "${common[@]}" --sample.batch_size 16 --train.grad_accum 1 --run.dir "$work/two" \
  > "$work/two.log" 2>&1
grep -h "epoch 3/3" "$work/one.log" "$work/two.log"
"$compare" "$work/one/params-final.safetensors" "$work/two/params-final.safetensors" 1e-6
