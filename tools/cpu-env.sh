# Sourced (not run) by tools/main-job.sh, tools/test.sh and the Slurm templates (slurm/common.sh): CPU
# settings that LibTorch reads when it loads, so they must be in the environment before dagalign starts. A
# variable that is already set is left alone. docs/benchmarks.md "Tiny model: CPU environment" has the
# measurements (1.57x on the main job's epochs).
# Results do not depend on these settings' rounding: every tensor has the same shape however a run is split
# over ranks or interrupted (docs/algorithms.md "Exact by construction"), so 2 ranks equal 1 rank and a
# resumed run equals an uninterrupted one bitwise under any kernel family, as long as both parts of a
# comparison run under the same one (tests labelled rounding, run by tools/test.sh under two families).
#
# - OPENBLAS_CORETYPE: the widest kernel family the CPU supports (tools/blas-kernels.sh --widest: SkylakeX
#   for AVX-512, Haswell for AVX2). OpenBLAS 0.3.21 does not know every CPU family; on some it falls back to
#   its SSE3 ("Prescott") sgemm kernels, which held 44 % of a plain main-job rank's time (perf).
# - MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_: glibc hands activations over its threshold back to
#   the kernel on every free, and page faults are slow in VMs; with these the heap keeps them.
# - OMP_WAIT_POLICY=PASSIVE: idle OpenMP threads sleep instead of spinning against MPI ranks.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -r /proc/cpuinfo ]; then
  OPENBLAS_CORETYPE=$("$(dirname "${BASH_SOURCE[0]}")/blas-kernels.sh" --widest)
  export OPENBLAS_CORETYPE
fi
export MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-4294967296}
export MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-4294967296}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
