#!/usr/bin/env bash
# Prints the OpenBLAS kernel family that BLAS calls get in this environment (OPENBLAS_CORETYPE, else the
# CPU's, e.g. Prescott, Haswell, SkylakeX, Cooperlake), as dagalign's start-up line reports it.
#   tools/blas-kernels.sh --widest   the widest family this CPU can run: SkylakeX (AVX-512), Haswell (AVX2)
#                                    or Prescott (SSE3, every x86-64)
set -euo pipefail
if [ "${1:-}" = --widest ]; then
  if grep -qw avx512f /proc/cpuinfo; then echo SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then echo Haswell
  else echo Prescott
  fi
  exit 0
fi
# Debian's numpy and LibTorch use the same libblas.so.3 (OpenBLAS after tools/install-deps.sh).
OPENBLAS_VERBOSE=2 /usr/bin/python3 -c 'import numpy; a = numpy.ones((8, 8), "f"); a @ a' 2>&1 |
  sed -n 's/^Core: //p' | head -1
