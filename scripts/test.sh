#!/usr/bin/env bash
# Installs dependencies, builds jetlab, and runs every test:
#   1. the Release build (CUDA compiled when nvcc is present): ctest (C, Lua, shell suites);
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build of core: the C suites again.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/install-deps.sh"

echo "== release build"
bash "$root/scripts/build.sh" "$root/build"
(cd "$root/build" && ctest --output-on-failure -j 2)

echo "== sanitizer build (ASan + UBSan), C suites"
bash "$root/scripts/build.sh" "$root/build-asan" -DJETLAB_SANITIZE=ON -DJETLAB_CUDA=OFF -DCMAKE_BUILD_TYPE=Debug
(cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j 2 -R '^c\.')
