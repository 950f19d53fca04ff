#!/usr/bin/env bash
# loader_rss.sh — the streaming loader's peak memory from 10k to 1M jets
# (DESIGN rule 6: memory bounded by a few chunks whatever the file size).
#
#   bench/loader_rss.sh [BUILD_DIR] [MODES]      # default: build, "flat ragged kd all"; also "cached"
#
# Writes random jets in the ATLAS layout (200 columns, 5..120 real
# constituents, via jl.io) to /tmp/jetlab_rss_{10k,100k,1M}.h5 when missing
# (about 1 GB for 1M jets; delete them afterwards), then runs one shuffled pass
# per file and mode (bench/loader_rss.lua) and prints its JSON line: jets/s and
# the process's peak resident set (VmHWM). Flat means the peak does not grow
# with the file; what remains is the chunks in flight, HDF5's chunk caches,
# the allocator's caches and 8 bytes per jet of a split's index list.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
modes="${2:-flat ragged kd all}"
jetlab="$build/jetlab"
for n in 10000 100000 1000000; do
  name="$((n / 1000))k"
  [ "$n" -eq 1000000 ] && name="1M"
  file="/tmp/jetlab_rss_$name.h5"
  if [ ! -s "$file" ]; then
    echo "writing $file ($n jets)" >&2
    "$jetlab" "$root/bench/loader_rss.lua" gen "$file" "$n"
  fi
  for mode in $modes; do
    "$jetlab" "$root/bench/loader_rss.lua" run "$file" "$mode"
  done
done
