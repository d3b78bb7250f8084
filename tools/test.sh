#!/usr/bin/env bash
# Set up and run the whole test suite: install packages, configure, build, then ctest (labels: unit,
# mpi (mpirun -np 2), slurm (a local Slurm cluster started and stopped by the test)). Arguments go to
# ctest, e.g. tools/test.sh -L unit.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
# One LibTorch/OpenMP thread per test process and no spinning: ctest runs two processes at once.
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
# Not tools/cpu-env.sh: the AVX-512 OpenBLAS kernels round differently for different matrix shapes, and
# tests/mpi and tests/slurm check bitwise equality across rank counts and requeues against plain runs.
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
