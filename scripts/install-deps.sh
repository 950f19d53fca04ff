#!/usr/bin/env bash
# Installs what jetlab needs to build and test on Debian (12+), as root or via sudo.
# Idempotent: skips apt when every package is already installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  liblua5.4-dev libhdf5-dev libopenblas-dev libreadline-dev libcriterion-dev
  hdf5-tools python3 python3-numpy python3-h5py tmux
  libfastjet-dev fastjet-examples hdf5-filter-plugin-blosc-serial gnuplot-nox
  clang libclang-rt-dev
  lua-check
  libopenmpi-dev openmpi-bin
  slurm-wlm munge
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
echo "installing: ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
