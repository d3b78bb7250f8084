#!/bin/bash
# Configure and build the CUDA/NCCL code path (-DDAGALIGN_CUDA=ON) against a CUDA-enabled LibTorch:
# the PyPI torch wheel, unpacked (no pip install, no Python needed at build time). Builds only
# dagalign_dist (with NcclCommunicator) and the nccl_smoke program; runs nothing (no GPU needed).
# Idempotent: downloads and unpacks only what is missing. Details: docs/gpu-build.md.
#
#   tools/build-cuda.sh                      # -> build-cuda/nccl_smoke
#   DEPS=/path BUILD=build-x TORCH_VERSION=2.11.0 CUDA_HOME=/usr/local/cuda tools/build-cuda.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TORCH_VERSION=${TORCH_VERSION:-2.11.0}     # PyPI Linux wheel = CUDA 13.0 build (matches nvcc 13.0 here)
DEPS=${DEPS:-$PWD/../cuda-libtorch}        # outside the repository (531 MB wheel + 1.4 GB unpacked)
BUILD=${BUILD:-build-cuda}
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
TARGETS=${TARGETS:-"dagalign_dist nccl_smoke"}

[ -x "$CUDA_HOME/bin/nvcc" ] || { echo "build-cuda: no nvcc at $CUDA_HOME/bin/nvcc (set CUDA_HOME)" >&2; exit 2; }
mkdir -p "$DEPS"
find_wheel() { find "$DEPS" -maxdepth 1 -name "torch-$TORCH_VERSION-*manylinux*_x86_64.whl" | head -1; }
wheel=$(find_wheel)
if [ -z "$wheel" ]; then
  echo "build-cuda: downloading torch==$TORCH_VERSION (Linux x86_64 wheel, ~530 MB) into $DEPS"
  python3 -m pip download --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_28_x86_64 -d "$DEPS" "torch==$TORCH_VERSION"
  wheel=$(find_wheel)
fi
TORCH="$DEPS/torch-$TORCH_VERSION"
if [ ! -f "$TORCH/.unpacked" ]; then
  echo "build-cuda: unpacking include/ lib/ share/ of $(basename "$wheel") into $TORCH"
  rm -rf "$TORCH" && mkdir -p "$TORCH"
  unzip -q -o "$wheel" 'torch/include/*' 'torch/lib/*' 'torch/share/*' -d "$TORCH"
  touch "$TORCH/.unpacked"
fi
T="$TORCH/torch"

# libtorch_cuda.so needs libcusparseLt.so.0, libnvshmem_host.so.3 (via libtorch_nvshmem.so) and
# libcufile.so.0, which neither the torch wheel nor the CUDA toolkit here ships: fetch the exact wheels
# torch pins (~310 MB) and unpack their lib/ folders into one directory for the linker (-rpath-link).
EXTRA="$DEPS/cuda-extra-$TORCH_VERSION/lib"
if [ ! -f "$EXTRA/.unpacked" ]; then
  meta=$(unzip -p "$wheel" "torch-$TORCH_VERSION.dist-info/METADATA")
  pins=$(echo "$meta" | sed -n 's/^Requires-Dist: \(nvidia-\(cusparselt\|nvshmem\)-cu[0-9]*==[0-9.]*\).*/\1/p')
  toolkit=$(echo "$meta" | sed -n 's/^Requires-Dist: cuda-toolkit\[.*\]==\([0-9.]*\).*/\1/p')
  pipdl() { python3 -m pip download --no-deps --only-binary=:all: --python-version 3.11 \
              --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
              --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$DEPS/wheels" "$@"; }
  pipdl "cuda-toolkit==$toolkit"
  cufile=$(unzip -p "$DEPS"/wheels/cuda_toolkit-"$toolkit"-*.whl '*/METADATA' \
             | sed -n "s/^Requires-Dist: \(nvidia-cufile==[0-9.*]*\); .*extra == 'cufile'.*/\1/p")
  echo "build-cuda: torch $TORCH_VERSION pins: $(echo "$pins" | tr '\n' ' ')$cufile"
  # shellcheck disable=SC2086
  pipdl $pins "$cufile"
  rm -rf "$EXTRA" && mkdir -p "$EXTRA"
  for w in "$DEPS"/wheels/nvidia_*.whl; do
    tmp=$(mktemp -d)
    unzip -q -o "$w" '*.so*' -d "$tmp"
    find "$tmp" -name '*.so*' -exec cp -a {} "$EXTRA"/ \;
    rm -rf "$tmp"
  done
  touch "$EXTRA/.unpacked"
fi
nvcc_ver=$("$CUDA_HOME/bin/nvcc" --version | sed -n 's/.*release \([0-9.]*\),.*/\1/p')
echo "build-cuda: LibTorch $T (CUDA wheel), nvcc $nvcc_ver at $CUDA_HOME"

# TorchConfig.cmake looks libtorch/libc10 up with find_library(... PATHS prefix), which finds Debian's
# CPU LibTorch in /usr/lib first: pin the wheel's libraries. cuDNN/cuSPARSELt are not needed by
# dagalign (USE_CUDNN stays 0); TORCH_CUDA_ARCH_LIST only affects .cu files (we have none).
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDAGALIGN_CUDA=ON \
  -DCMAKE_PREFIX_PATH="$T/share/cmake" \
  -DCMAKE_CUDA_COMPILER="$CUDA_HOME/bin/nvcc" -DCUDAToolkit_ROOT="$CUDA_HOME" \
  -DTORCH_CUDA_ARCH_LIST="9.0" \
  -DTORCH_LIBRARY="$T/lib/libtorch.so" -Dc10_LIBRARY="$T/lib/libc10.so" \
  -DC10_CUDA_LIBRARY="$T/lib/libc10_cuda.so" \
  -DNCCL_ROOT="${NCCL_ROOT:-$CUDA_HOME}" \
  -DCMAKE_EXE_LINKER_FLAGS="-Wl,--disable-new-dtags -Wl,-rpath-link,$EXTRA -Wl,-rpath,$EXTRA"
# shellcheck disable=SC2086
cmake --build "$BUILD" --target $TARGETS -j"${JOBS:-2}"
echo "build-cuda: built $BUILD/nccl_smoke"
ldd "$BUILD/nccl_smoke" | grep -E 'torch|c10|nccl|cudart|not found' || true
