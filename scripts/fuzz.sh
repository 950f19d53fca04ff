#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz (clang, ASan + UBSan) and runs
# each for a while:
#   scripts/fuzz.sh [seconds per harness, default 60] [harness ...]   (h5 events ckpt lua model_files)
# Build folder: $JETLAB_FUZZ_BUILD (default <root>/build-fuzz). Each harness
# starts from its committed seeds (tests/fuzz/corpus/<harness>) plus what
# earlier runs in this build folder found (<build>/fuzz-runs/<harness>/corpus);
# a crash, leak, timeout (10 s) or RSS over 2 GiB is written to
# <build>/fuzz-runs/<harness>/ and fails the harness. Before fuzzing, every
# seed and every past crash (tests/fuzz/regressions) is replayed once (ctest
# -R fuzz. in the fuzz build), counted as one more check. $JETLAB_FUZZ_JOBS
# harnesses run at a time (default 2). Prints "N passed, N failed" last;
# exits 1 when a harness failed, 77 when clang or libFuzzer is missing.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-60}"
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(h5 events ckpt lua model_files)
build="${JETLAB_FUZZ_BUILD:-$root/build-fuzz}"

if ! command -v clang >/dev/null 2>&1; then
  echo "fuzz: skipped: clang is not installed (scripts/install-deps.sh installs it)"
  exit 77
fi
probe="$(mktemp -d)"
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' >"$probe/p.c"
if ! clang -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" >/dev/null 2>&1; then
  rm -rf "$probe"
  echo "fuzz: skipped: clang cannot link libFuzzer with ASan/UBSan (install libclang-rt-dev)"
  exit 77
fi
rm -rf "$probe"

echo "== fuzz build ($build)"
mkdir -p "$build"
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang cmake -S "$root" -B "$build" -DJETLAB_FUZZ=ON -DJETLAB_SANITIZE=ON -DJETLAB_CUDA=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
fi
targets=()
for h in "${harnesses[@]}"; do targets+=("fuzz_$h"); done
cmake --build "$build" --target "${targets[@]}" -j "$(nproc)" >"$build/fuzz-build.log" 2>&1 ||
  { tail -n 40 "$build/fuzz-build.log"; exit 1; }

# HDF5 in-process by default (JETLAB_H5_ISOLATION=0): libFuzzer sees the
# coverage of every step, and crashes inside HDF5 are told apart below;
# JETLAB_H5_ISOLATION=2 runs every HDF5 read in a child (tests/fuzz/README.md)
export JETLAB_H5_ISOLATION="${JETLAB_H5_ISOLATION:-0}"
export ASAN_OPTIONS="allocator_may_return_null=1:detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$root/tests/fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
# first the replays: every seed and every input that once crashed one of the
# harnesses run (tests/fuzz/regressions), once each
replays_failed=0
names="$(IFS='|'; echo "${harnesses[*]}")"
(cd "$build" && ctest -R "^fuzz\\..*\\.($names)\$" --output-on-failure) >"$build/fuzz-replays.log" 2>&1 || replays_failed=1
if [ $replays_failed -eq 0 ]; then
  echo "replays: passed ($(grep -oE '[0-9]+ tests failed out of [0-9]+' "$build/fuzz-replays.log" | tail -n 1))"
else
  echo "replays: FAILED (log $build/fuzz-replays.log)"
  grep -E 'Failed|ERROR|SUMMARY|==jetlab-fuzz==|runtime error' "$build/fuzz-replays.log" | head -n 20
fi

# True when the log shows HDF5 itself failing on a corrupt file: the first
# frame of the report outside libc, libFuzzer, the sanitizers and the
# harness's heap guard is in libhdf5, and the report is a signal (SEGV, FPE,
# ...), a memory error on memory HDF5 allocated itself (a jetlab buffer
# overrun by HDF5 still fails), or the heap guard stopping an allocation
# that ran away ("==jetlab-fuzz== heap grew"); HDF5's filter plugins count as
# HDF5 (blosc's output over-read by H5Dread). HDF5 1.10 has such bugs
# (tests/fuzz/hdf5_crashes); they are reported, not failures. (sed -n 1p, not
# head: under pipefail head's early exit can kill the writer with SIGPIPE and
# make a long stack look like a non-HDF5 crash.)
hdf5_internal_crash() {
  local hdf5='libhdf5|/hdf5/serial/plugins/|libH5Z'  # the library and its filter plugins
  local skip=' in (__interceptor_|__asan|__sanitizer|fuzzer::|(__mem[a-z_]*|mem[a-z]*|bcmp|str[a-z]*|malloc|calloc|realloc|posix_memalign|free|fuzz_heap_malloc) )|/libc\.so|string/|sysdeps/'
  if grep -q '==jetlab-fuzz== heap grew' "$1"; then
    awk '/==jetlab-fuzz== heap grew/ { on = 1; next } on && /^ +#[0-9]+ /' "$1" | grep -vE "$skip" | sed -n 1p | grep -qE "$hdf5"
    return
  fi
  awk '/ERROR: (AddressSanitizer|libFuzzer)/ { on = 1 } /(allocated|freed) by thread/ { exit } on && /^ +#[0-9]+ /' "$1" |
    grep -vE "$skip" | sed -n 1p | grep -qE "$hdf5" || return 1
  grep -qE 'SEGV on unknown address|ERROR: libFuzzer: deadly signal|ERROR: AddressSanitizer: (BUS|FPE|ABRT|SEGV)' "$1" &&
    return 0
  awk '/allocated by thread/ { on = 1; next } on && /^ +#[0-9]+ /' "$1" | grep -vE "$skip" | sed -n 1p | grep -qE "$hdf5"
}

# True when an attempt stopped at libFuzzer's RSS limit and its unit, run alone
# under the harness's heap guard, is HDF5 running away with the memory: the RSS
# report lists the memory in use (after many corrupt files, mostly the sanitizer's
# quarantine), not who took it. The replay goes into last.log too.
oom_inside_hdf5() {
  local h="$1" run="$2" unit="$3"
  [ -n "$unit" ] && grep -q 'ERROR: libFuzzer: out-of-memory (used:' "$run/attempt.log" || return 1
  (cd "$run" && "$build/tests/fuzz/fuzz_$h" -rss_limit_mb=2048 -timeout=10 "$unit") >"$run/replay.log" 2>&1
  cat "$run/replay.log" >>"$run/last.log"
  hdf5_internal_crash "$run/replay.log"
}

# one harness: runs it for $seconds and leaves "<rc>" in <run>/rc, the log of
# every attempt in <run>/last.log and the inputs that crashed HDF5 itself in
# <run>/hdf5-crashes: after such a crash the harness starts again for the
# time left, so corrupt files that HDF5 cannot survive do not end the run.
run_one() {
  local h="$1" max_len run rc left unit start=$SECONDS
  case "$h" in
    h5 | ckpt | model_files) max_len=65536 ;;
    events) max_len=8192 ;;
    *) max_len=4096 ;;
  esac
  run="$build/fuzz-runs/$h"
  mkdir -p "$run/corpus"
  rm -f "$run/rc"
  : >"$run/last.log"
  : >"$run/hdf5-crashes"
  left=$seconds
  while :; do
    # the harness runs inside its folder: whatever it writes stays there
    (cd "$run" && "$build/tests/fuzz/fuzz_$h" -max_total_time="$left" -max_len="$max_len" \
      -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="$run/" \
      "$run/corpus" "$root/tests/fuzz/corpus/$h") >"$run/attempt.log" 2>&1
    rc=$?
    cat "$run/attempt.log" >>"$run/last.log"
    [ $rc -ne 0 ] || break
    unit="$(grep -oE 'Test unit written to .*' "$run/attempt.log" | sed 's/Test unit written to //')"
    hdf5_internal_crash "$run/attempt.log" || oom_inside_hdf5 "$h" "$run" "$unit" || break
    rc=0
    # the same input again (one already in the corpus): no point going on
    grep -qxF "$unit" "$run/hdf5-crashes" && break
    echo "$unit" >>"$run/hdf5-crashes"
    left=$((seconds - (SECONDS - start)))
    [ $left -ge 5 ] || break
  done
  echo $((SECONDS - start)) >"$run/seconds"
  echo $rc >"$run/rc"
}

# $JETLAB_FUZZ_JOBS harnesses at a time (default 2: libFuzzer uses one core each)
jobs="${JETLAB_FUZZ_JOBS:-2}"
running=0
for h in "${harnesses[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_one "$h" &
  running=$((running + 1))
done
wait

passed=0
failed=0
for h in "${harnesses[@]}"; do
  run="$build/fuzz-runs/$h"
  log="$run/last.log"
  rc="$(cat "$run/rc" 2>/dev/null || echo '?')"
  execs="$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | awk '{ n += $1 } END { print n }')"
  cov="$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1)"
  if [ "$rc" = 0 ]; then
    passed=$((passed + 1))
    echo "fuzz_$h: passed ($(cat "$run/seconds") s, ${execs:-?} runs, ${cov:-cov: ?})"
    if [ -s "$run/hdf5-crashes" ]; then
      echo "  HDF5 itself crashed on $(wc -l <"$run/hdf5-crashes") corrupt file(s) (HDF5 bugs, not jetlab's;" \
        "see tests/fuzz/hdf5_crashes):"
      sed 's/^/    /' "$run/hdf5-crashes"
    fi
  else
    failed=$((failed + 1))
    echo "fuzz_$h: FAILED (exit $rc; log $log)"
    grep -E 'ERROR|SUMMARY|==jetlab-fuzz==|runtime error|Test unit written' "$log" | head -n 20
  fi
done
[ $replays_failed -eq 0 ] && passed=$((passed + 1)) || failed=$((failed + 1))
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
