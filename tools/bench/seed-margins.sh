#!/usr/bin/env bash
# The statistical tests' margins: each of them (tests/train: the 2-D world's DAG-DB convergence, DAG-KL and
# DDPO reward gains, the tiny model's DAG-DB reward gain) under several OpenBLAS kernel families and seeds.
# Prints one line per test, family and seed (from the tests' own output) and the tests' summary lines.
# usage: tools/bench/seed-margins.sh [BUILD_DIR]
#   FAMILIES="Prescott Haswell SkylakeX"  kernel families (only ones the CPU supports: others crash)
#   SEEDS=0,1,2,3,4,5,6,7,8,9             seeds of the 2-D world's tests (the suite runs 0-4)
#   TINY_SEEDS=0                          seeds of the tiny model's test (the suite runs 0; 100 s each)
#   JOBS=2                                tests run at once (one thread each)
set -euo pipefail
build=${1:-build}
bin=$(cd "$build" && pwd)/tests/test_train
families=${FAMILIES:-Prescott Haswell SkylakeX}
out=$(mktemp -d)
run() {  # run FAMILY FILTER SEEDS
  OMP_NUM_THREADS=1 OPENBLAS_CORETYPE=$1 DAGALIGN_TEST_SEEDS=$3 "$bin" --gtest_filter="$2" > "$out/$1.$2.log" 2>&1 || true
  grep -E "seed [0-9]+:|median|FAILED  \]" "$out/$1.$2.log" | grep -v "^\[  FAILED  \] [0-9]" | sed "s/^/$1 $2: /"
}
export -f run
export bin out
for f in $families; do
  for t in Toy2dDagDb.ConvergesToTargetDistribution Toy2dRewardGain.DagKl Toy2dRewardGain.Ddpo; do
    echo "$f $t ${SEEDS:-0,1,2,3,4,5,6,7,8,9}"
  done
  echo "$f TinyShapesTrain.DagDbRaisesAnExternalReward ${TINY_SEEDS:-0}"
done | xargs -P "${JOBS:-2}" -L 1 bash -c 'run "$0" "$1" "$2"'
rm -rf "$out"
