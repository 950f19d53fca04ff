#!/usr/bin/env bash
# Installs dependencies, builds jetlab, and runs every test:
#   1. the Release build (CUDA compiled when nvcc is present): ctest (C, Lua, shell suites);
#   1b. a portable build (-DJETLAB_NATIVE=OFF: no -march=native, so no FMA contraction, as
#      binaries built for mixed cluster nodes): the C and Lua suites and the library's scores,
#      so no tolerance holds only for the floats of one instruction set;
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build of core: the C suites again;
#   3. that build's jetlab: quick training runs (interrupted, resumed) and the resume/NaN-guard
#      suites under LeakSanitizer with JETLAB_CHECK_LEAKS=1 (scripts/memcheck.sh --asan);
#   4. the fuzz harnesses (clang, ASan + UBSan): past crashes replayed, then
#      JETLAB_FUZZ_SECONDS (default 60) of fuzzing each (scripts/fuzz.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/install-deps.sh"
bash "$root/scripts/install-pythia.sh" || echo "pythia8mc not installed: the Pythia tests skip"
bash "$root/scripts/install-test-venv.sh"   # PyTorch for the reference tests (they fail without it)

echo "== release build"
bash "$root/scripts/build.sh" "$root/build"
(cd "$root/build" && ctest --output-on-failure -j 2)

echo "== portable build (JETLAB_NATIVE=OFF): C and Lua suites, the library's scores"
bash "$root/scripts/build.sh" "$root/build-portable" -DJETLAB_NATIVE=OFF -DJETLAB_CUDA=OFF
(cd "$root/build-portable" && ctest --output-on-failure -j 2 -R '^(c|lua)\.|libjetlab')

echo "== sanitizer build (ASan + UBSan), C suites"
bash "$root/scripts/build.sh" "$root/build-asan" -DJETLAB_SANITIZE=ON -DJETLAB_CUDA=OFF -DCMAKE_BUILD_TYPE=Debug
# Criterion runs each test in a child process whose sanitizer reports do not
# always fail the test, so the reports themselves are checked too. libblosc
# is preloaded, as in scripts/memcheck.sh: HDF5 unloads Debian's blosc filter
# plugin at exit with blosc's global context still allocated, reported as a
# leak of an unknown module (test_h5's blosc case).
log="$root/build-asan/sanitizer.log"
blosc=$(ldconfig -p 2>/dev/null | sed -n 's/.*libblosc\.so\.1 .*=> //p' | head -n 1)
(cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=1${blosc:+:verify_asan_link_order=0} LD_PRELOAD="$blosc" \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest -V -j 2 -R '^c\.') >"$log" 2>&1 || { tail -n 80 "$log"; exit 1; }
grep -E 'tests passed|Tested:' "$log" | tail -n 20
if grep -nE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log"; then
  echo "sanitizer reports found (see $log)"
  exit 1
fi

echo "== sanitizer build: training runs under LeakSanitizer, live tensors back to zero (scripts/memcheck.sh --asan)"
bash "$root/scripts/memcheck.sh" --asan --build "$root/build-asan"

stages=4
fuzz_seconds="${JETLAB_FUZZ_SECONDS:-60}"
echo "== fuzz: replays, then each libFuzzer harness for ${fuzz_seconds} s, 2 at a time (scripts/fuzz.sh; JETLAB_FUZZ_SECONDS=0 skips)"
if [ "$fuzz_seconds" != 0 ]; then
  fuzz_log="$root/build-asan/fuzz-stage.log"
  fuzz_rc=0
  bash "$root/scripts/fuzz.sh" "$fuzz_seconds" >"$fuzz_log" 2>&1 || fuzz_rc=$?
  # the closing "N passed, N failed" line is this script's own, below
  grep -vE '^[0-9]+ passed, [0-9]+ failed$' "$fuzz_log" || true
  # 77: clang or libFuzzer missing; fuzz.sh said so. Replaying the committed
  # seeds and past crashes is deterministic and fails the suite; a NEW input
  # found by the time-bounded random search is reported loudly but does not,
  # since such a search finds different things from run to run.
  if [ "$fuzz_rc" -ne 0 ] && [ "$fuzz_rc" -ne 77 ]; then
    grep -q '^replays: passed' "$fuzz_log" || exit "$fuzz_rc"
    echo "NEW FUZZ FINDING above (not a regression of a committed input): add it to tests/fuzz/regressions and fix it"
  fi
  [ "$fuzz_rc" -eq 77 ] || stages=5
fi
echo "stages: $stages passed, 0 failed"
