#!/usr/bin/env bash
# Set up and run the whole test suite: install packages, configure, build, then ctest (labels: unit,
# mpi (mpirun -np 2), slurm (a local Slurm cluster started and stopped by the test), rounding (results that
# must not depend on how the BLAS kernels round)). Arguments go to ctest, e.g. tools/test.sh -L unit.
# Without arguments the rounding-labelled tests and the training tests run a second time under another
# OpenBLAS kernel family:
# SSE3 (Prescott), or the widest one the CPU has when the first pass already ran SSE3.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
# ccache (found by CMakeLists.txt) hashes paths relative to the checkout: another clone reuses its objects.
export CCACHE_BASEDIR=$PWD
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDAGALIGN_TESTS=ON
cmake --build build -j"$(nproc)"
# The environment of the main job and the Slurm templates (the CPU's widest OpenBLAS kernels, malloc
# thresholds); one LibTorch/OpenMP thread per test process: ctest runs two processes at once.
# shellcheck source=tools/cpu-env.sh
source tools/cpu-env.sh
export OMP_NUM_THREADS=1
first=$(tools/blas-kernels.sh)
cd build
echo "test.sh: pass 1, OpenBLAS kernels $first"
ctest --output-on-failure -j"$(nproc)" "$@"
[ $# -eq 0 ] || exit 0
second=Prescott
[ "$first" != Prescott ] || second=$(../tools/blas-kernels.sh --widest)
[ "$second" != "$first" ] || { echo "test.sh: this CPU has no kernel family beyond SSE3: one pass only"; exit 0; }
echo "test.sh: pass 2, the rounding-sensitive tests under OpenBLAS kernels $second"
OPENBLAS_CORETYPE=$second ctest --output-on-failure -j"$(nproc)" -L rounding
# The training tests of tests/unit/train (bitwise resume, the statistical tests): gtest cases carry one label.
OPENBLAS_CORETYPE=$second ctest --output-on-failure -j"$(nproc)" -R '^(Toy2d|TinyShapesTrain|ResumeState)'

