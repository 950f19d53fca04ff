# test_libjetlab.sh — libjetlab as a user gets it: `cmake --install` of this
# build into a temporary prefix, tests/libjetlab/score_jets.cc compiled with
# `pkg-config --cflags --libs jetlab` against the installed library (no source
# tree on its paths), then for a tiny FCNN trained here and the published
# LundNet5 imported: the program's scores match `jetlab predict` on the same
# checkpoint and jets, and its own checks pass (padded = ragged input, 6
# threads on two models = sequential, bad input reported by status and message).
source "$(dirname "$0")/lib.sh" "$@"

BUILD=$(dirname "$JETLAB")
PREFIX="$TMP/prefix"
LJ=tests/libjetlab

INSTALL_OUT=$(cmake --install "$BUILD" --prefix "$PREFIX" 2>&1)
expect_eq "cmake --install exits 0" "$?" 0
for f in lib/libjetlab.so include/jetlab.h lib/pkgconfig/jetlab.pc share/jetlab/stdlib/jetlab/embedded.lua; do
  expect_eq "installed: $f" "$(test -e "$PREFIX/$f" && echo yes)" yes
done
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
expect_eq "pkg-config knows the version" "$(pkg-config --modversion jetlab)" "$("$JETLAB" --version | awk '{print $2}')"
expect_eq "only jetlab_* is exported" \
  "$(nm -D --defined-only "$PREFIX/lib/libjetlab.so" | awk '$2 ~ /^[TDBR]$/ && $3 !~ /^jetlab_/' | wc -l)" 0

# shellcheck disable=SC2046 # pkg-config's words are separate arguments
CXX_OUT=$(c++ -std=c++17 -O1 -Wall -Wextra -Werror -o "$TMP/score_jets" "$LJ/score_jets.cc" \
  $(pkg-config --cflags --libs jetlab) -Wl,-rpath,"$PREFIX/lib" -pthread 2>&1)
expect_eq "score_jets.cc compiles against the installed library" "$?" 0
[ -x "$TMP/score_jets" ] || { echo "$INSTALL_OUT"; echo "$CXX_OUT"; finish; }

run_jetlab gen --signal top --pt 500:600 -n 300 --seed 5 -o "$TMP/jets.h5"
expect_eq "gen exits 0" "$RC" 0
run_jetlab "$LJ/dump_jets.lua" "$TMP/jets.h5" "$TMP/jets.txt"
expect_eq "dump_jets exits 0" "$RC" 0
run_jetlab "$LJ/train_fcnn.lua" "$TMP/jets.h5" "$TMP/fcnn"
expect_eq "the FCNN trains" "$RC" 0
run_jetlab import tests/fixtures/lundnet/Top_QCD_500GeV_LundNet5.pt --model lundnet5 -o "$TMP/l5.h5"
expect_eq "LundNet5 imports" "$RC" 0

# NAME CKPT TOLERANCE: the installed library's scores against jetlab predict's.
compare() {
  local name=$1 ckpt=$2 tol=$3
  run_jetlab predict "$ckpt" "$TMP/jets.h5" -o "$TMP/$name.predict.csv" --batch 64
  expect_eq "$name: predict exits 0" "$RC" 0
  # the installed stdlib only: the library must not need the source tree
  OUT=$(cd "$TMP" && env -u JETLAB_STDLIB ./score_jets "$ckpt" jets.txt "$name.lib.csv" 2>&1)
  RC=$?
  expect_eq "$name: score_jets exits 0" "$RC" 0
  expect_no_match "$name: every check of score_jets passes" "$OUT" "FAIL"
  expect_match "$name: score_jets ran its checks" "$OUT" "^check threads: ok$"
  expect_match "$name: the library says what the model reads" "$OUT" "^libjetlab [0-9.]+: $4"
  local rows
  rows=$(awk -F, -v tol="$tol" 'NR == FNR { if (FNR > 1) s[$1] = $3; next }
    FNR > 1 { n++; if (!($1 in s)) bad++; d = $2 - s[$1]; if (d < 0) d = -d; if (d > tol) bad++; if (d > worst) worst = d }
    END { printf "%d jets, %d off, max difference %.3g", n, bad, worst }' \
    "$TMP/$name.predict.csv" "$TMP/$name.lib.csv")
  echo "  $name: $rows"
  expect_match "$name: the library's scores = jetlab predict's (within $tol)" "$rows" "^300 jets, 0 off"
}
# The library runs the nn.compile plans (BatchNorm folded into the weights), predict the
# eager models: the same network in float32 in two orders. The FCNN's scores agree to
# ~1e-7; LundNet5's (six EdgeConv blocks, fusion, head) to 6e-6 with -march=native and
# 1.1e-5 without FMA contraction (JETLAB_NATIVE=OFF), so 5e-5 for it. This checks the
# library's plumbing (inputs, plan, scores); the plans' precision against the eager
# model is test_compile_lundnet.lua's (logits within 1e-5 relative). Measured on this
# model: one BatchNorm's running variance off by 0.1% moves scores by 6e-4 to 9e-3.
compare fcnn "$TMP/fcnn/last.h5" 1e-5 "flat ATLAS features of the first 20 constituents, standardised"
compare lundnet5 "$TMP/l5.h5" 5e-5 "Lund-plane graphs \(5 features\) of every constituent"

# the stdlib override: a folder without jetlab's stdlib is an error, not an exit
OUT=$(cd "$TMP" && JETLAB_STDLIB="$TMP/nowhere" ./score_jets "$TMP/l5.h5" jets.txt x.csv 2>&1)
RC=$?
expect_eq "JETLAB_STDLIB without a stdlib: exit 1 (an error value)" "$RC" 1
expect_match "JETLAB_STDLIB without a stdlib: the folder named" "$OUT" "stdlib \($TMP/nowhere\) does not load"

finish
