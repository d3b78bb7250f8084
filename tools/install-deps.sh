#!/usr/bin/env bash
# Idempotent installation of everything dagalign needs to build, test and run on Debian 12.
# Usage: tools/install-deps.sh          everything: build, tests, tools (as root, or with sudo available)
#        tools/install-deps.sh --main   what the main job needs (tools/main-job.sh): no test, Slurm or lint packages
set -euo pipefail
main=(
  build-essential cmake ninja-build pkg-config git ccache
  libtorch-dev libopenblas0-openmp          # LibTorch 1.13 (CPU) + a fast BLAS (default is reference BLAS)
  libopenmpi-dev openmpi-bin                # MPI
  libhdf5-dev hdf5-tools                    # HDF5 C API (serial; one file per rank) + h5dump
  libboost-program-options-dev              # configuration
  libturbojpeg0-dev libpng-dev zlib1g-dev   # JPEG reward, PNG grids
  nlohmann-json3-dev                        # safetensors headers, config.json, JSONL
  libicu-dev                                # CLIP tokenizer (Unicode categories, NFC, lowercase)
  python3-h5py python3-numpy python3-matplotlib python3-pil   # tools/ scripts, run by /usr/bin/python3
)
rest=(
  libgtest-dev libgmock-dev                 # tests
  slurm-wlm munge                           # local Slurm cluster for the slurm-labelled tests
  shellcheck                                # lint of slurm/ and tests/integration/slurm/ shell scripts
)
pkgs=("${main[@]}")
[ "${1:-}" = "--main" ] || pkgs+=("${rest[@]}")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
