#!/usr/bin/env bash
# memcheck.sh — memory checks of quick training runs, under valgrind memcheck
# (default) or LeakSanitizer (an ASan+UBSan build), and the peak RSS of a
# native quick run.
#
#   scripts/memcheck.sh [--asan] [--build DIR] [--all-lua] [--experiments]
#
# Runs, each with JETLAB_LEAK_REPORT (the host fails when tensors or storages
# are still live after the Lua state is closed, and appends a line with the
# live counts and the peak RSS of every process, children included):
#   quick       tests/sh/train_tiny.lua on a small generated HDF5 file through
#               jetlab.data (prefetch thread, shuffle), FCNN with dropout, AdamW,
#               schedule, validation, best/last checkpoints — 3 epochs
#   interrupt   the same stopped by SIGINT after epoch 1 (exit 130, interrupted.h5)
#   resume      resumed from that interrupted.h5 to the end
#   nan_guard   tests/lua/test_nan_guard.lua (training stopped by errors)
#   resume_lua  tests/lua/test_resume.lua (interruptions, resumes, ckpt I/O)
#   --all-lua   every tests/lua/test_*.lua
#   --experiments  every experiments/*.lua with --quick (results in a temp folder)
# A run passes when its exit status is the expected one, the tool reports no
# error (valgrind: --leak-check=full --errors-for-leak-kinds=definite
# --error-exitcode; ASan: detect_leaks=1, any report fails) and every leak
# line says 0 live tensors. With --all-lua, a suite that fails with a clean
# memory report (e.g. a tolerance missed in the -O0 ASan build) is listed as
# a note, not a memory failure. libblosc (the HDF5 blosc filter's library) is
# preloaded: the filter plugin is unloaded at exit, which would turn blosc's
# global context (allocated once in blosc_init, never freed) into a "definite
# leak" of an unknown module.
#
# Builds: valgrind uses DIR (default build-memcheck), configured without
# -march=native (valgrind lacks some native instructions, e.g. AVX-512),
# RelWithDebInfo, CPU only; --asan uses DIR (default build-asan, the same
# configuration as scripts/test.sh's sanitizer stage). The peak RSS line comes
# from a run of the quick script with DIR's jetlab without any tool.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
mode=valgrind build="" all_lua=0 experiments=0
while [ $# -gt 0 ]; do
  case $1 in
    --asan) mode=asan ;;
    --build) build=$2; shift ;;
    --all-lua) all_lua=1 ;;
    --experiments) experiments=1 ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "memcheck.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if [ $mode = valgrind ]; then
  command -v valgrind >/dev/null || { echo "memcheck.sh: valgrind is not installed (apt-get install valgrind, or use --asan)" >&2; exit 2; }
  build=${build:-$root/build-memcheck}
  bash "$root/scripts/build.sh" "$build" -DJETLAB_NATIVE=OFF -DJETLAB_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DJETLAB_TESTS=OFF >/dev/null || exit 1
else
  build=${build:-$root/build-asan}
  bash "$root/scripts/build.sh" "$build" -DJETLAB_SANITIZE=ON -DJETLAB_CUDA=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null || exit 1
fi
jetlab=$build/jetlab
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jetlab-memcheck.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$root"
export JETLAB_PROGRESS=0
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# (ASan: libasan is not first then, which it accepts with
# verify_asan_link_order=0; preloading libasan itself would also load it into
# uninstrumented children such as gnuplot.)
preload=$(ldconfig -p 2>/dev/null | sed -n 's/.*libblosc\.so\.1 .*=> //p' | head -n 1)
[ -n "$preload" ] && ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0

passed=0 failed=0
# tool NAME: sets TOOL, the command prefix that runs a command under the tool
# with its report in $tmp/NAME.log (a prefix, not a function, so that `&`
# gives the PID of the process itself).
tool() {
  if [ $mode = valgrind ]; then
    TOOL=(env JETLAB_LEAK_REPORT="$tmp/$1.leaks" LD_PRELOAD="$preload"
      valgrind -q --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite
      --error-exitcode=99 --log-file="$tmp/$1.log")
  else
    TOOL=(env JETLAB_LEAK_REPORT="$tmp/$1.leaks" LD_PRELOAD="$preload" ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$tmp/$1.log")
  fi
}

# check NAME STATUS EXPECTED [suite]: the status, the tool's report and the
# host's leak lines ("suite": a failing status alone is only a note).
notes=0
check() {
  local name=$1 status=$2 want=$3 kind=${4:-run} why=""
  # valgrind -q writes only errors to its log; ASan's log also gets warnings
  # (allocator_may_return_null), UBSan writes to stderr
  if [ $mode = valgrind ]; then
    cat "$tmp/$name".log* 2>/dev/null | grep -q . && why="the tool reported problems"
  else
    cat "$tmp/$name".log* "$tmp/$name.err" 2>/dev/null | grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' &&
      why="the tool reported problems"
  fi
  if [ -z "$why" ] && [ ! -s "$tmp/$name.leaks" ]; then why="no leak line: the host did not exit normally"; fi
  if [ -z "$why" ] && grep -v 'at exit: 0 live tensors, 0 storages' "$tmp/$name.leaks" | grep -q .; then
    why="tensors still live at exit: $(grep -v ' 0 live tensors' "$tmp/$name.leaks" | head -n 1)"
  fi
  if [ -z "$why" ] && [ "$status" != "$want" ]; then
    if [ "$kind" = suite ]; then
      notes=$((notes + 1))
      printf '  note  %-28s the suite failed (status %s) with a clean memory report:\n' "$name" "$status"
      grep -E '^FAIL' "$tmp/$name.out" | head -n 3 | cut -c1-200 | sed 's/^/          /'
      return
    fi
    why="exit status $status, expected $want"
  fi
  local rss
  rss=$(sed -n 's/.*peak RSS \([0-9.]*\) MiB$/\1/p' "$tmp/$name.leaks" 2>/dev/null | tail -n 1)
  if [ -z "$why" ]; then
    passed=$((passed + 1))
    printf '  ok    %-28s (peak RSS under %s: %s MiB)\n' "$name" "$mode" "${rss:-?}"
  else
    failed=$((failed + 1))
    printf '  FAIL  %-28s %s\n' "$name" "$why"
    cat "$tmp/$name".log* 2>/dev/null | head -n 60
    tail -n 15 "$tmp/$name.err"
  fi
}

echo "== memcheck ($mode) with $jetlab"
tiny=(tests/sh/train_tiny.lua --source file --n 400 --batch 25)

tool quick
"${TOOL[@]}" "$jetlab" "${tiny[@]}" --dir "$tmp/quick" --epochs 3 >"$tmp/quick.out" 2>"$tmp/quick.err"
check quick $? 0

tool interrupt
"${TOOL[@]}" "$jetlab" "${tiny[@]}" --dir "$tmp/int" --epochs 3 --step-ms 20 >"$tmp/interrupt.out" 2>"$tmp/interrupt.err" &
pid=$!
for ((i = 0; i < 6000; i++)); do
  grep -q '^epoch 1/' "$tmp/interrupt.out" 2>/dev/null && break
  sleep 0.02
done
kill -INT $pid
wait $pid
check interrupt $? 130

tool resume
"${TOOL[@]}" "$jetlab" "${tiny[@]}" --dir "$tmp/int" --epochs 3 --resume "$tmp/int/interrupted.h5" \
  >"$tmp/resume.out" 2>"$tmp/resume.err"
check resume $? 0

lua_tests=(tests/lua/test_nan_guard.lua tests/lua/test_resume.lua)
[ $all_lua = 1 ] && lua_tests=(tests/lua/test_*.lua)
for t in "${lua_tests[@]}"; do
  name=$(basename "$t" .lua)
  tool "$name"
  "${TOOL[@]}" "$jetlab" "$t" >"$tmp/$name.out" 2>"$tmp/$name.err"
  check "$name" $? 0 suite
done

if [ $experiments = 1 ]; then
  for e in experiments/*.lua; do
    [ -f "$e" ] || continue
    name=exp_$(basename "$e" .lua)
    tool "$name"
    "${TOOL[@]}" "$jetlab" "$e" --quick --out "$tmp/results" >"$tmp/$name.out" 2>"$tmp/$name.err"
    check "$name" $? 0 suite
  done
fi

# The peak RSS of the quick run, natively (no tool).
JETLAB_LEAK_REPORT="$tmp/native.leaks" "$jetlab" "${tiny[@]}" --dir "$tmp/native" --epochs 3 >/dev/null 2>&1
rss=$(sed -n 's/.*peak RSS \([0-9.]*\) MiB$/\1/p' "$tmp/native.leaks")
note="no tool"
[ $mode = asan ] && note="ASan build: shadow memory inflates it"
echo "peak RSS of the quick run (3 epochs, 300 training jets, $note): ${rss:-?} MiB"
echo "$passed passed, $failed failed$([ $notes -gt 0 ] && echo ", $notes suites failing for other reasons (notes above)")"
[ $failed -eq 0 ]
