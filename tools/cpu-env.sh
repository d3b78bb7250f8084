# Sourced (not run) by tools/main-job.sh: CPU settings that LibTorch reads when it
# loads, so they must be in the environment before dagalign starts. A variable that is already set is left
# alone. docs/benchmarks.md "Tiny model: CPU environment" has the measurements (1.57x on the main job's
# epochs; reference/environment.md §1c-d for the causes).
# The price: the SkylakeX sgemm kernels (measured; Haswell's untested) round differently for different
# matrix shapes, so 2 ranks and 1 rank x grad_accum 2 are no longer bitwise equal (1.2e-6 relative on the
# 2-D world, up to 0.14 on tiny-shapes after 2 epochs), and a run resumed under
# other settings than it started with differs from an uninterrupted one. tools/test.sh (tests/mpi,
# tests/slurm check both bitwise) and the Slurm templates do not source it; source it in a job script
# yourself when every step of the run will have it.
#
# - OPENBLAS_CORETYPE: OpenBLAS 0.3.21 does not know this CPU family and falls back to its oldest (SSE3,
#   "Prescott") sgemm kernels, which held 44 % of a plain main-job rank's time (perf). Name the
#   kernel family the CPU supports (AVX-512 -> SkylakeX, AVX2 -> Haswell); forcing one the CPU lacks
#   would crash, so nothing is set on other CPUs.
# - MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_: glibc hands activations over its threshold back to
#   the kernel on every free, and page faults are slow in VMs; with these the heap keeps them.
# - OMP_WAIT_POLICY=PASSIVE: idle OpenMP threads sleep instead of spinning against MPI ranks.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -r /proc/cpuinfo ]; then
  if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell
  fi
fi
export MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-4294967296}
export MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-4294967296}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
