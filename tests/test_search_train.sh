# test_search_train.sh - [nngp] search_train: the grid on the first N training examples, then each
# depth's selected model fitted on all of them (/nngp/final). The final fits must equal separate
# full-size runs of the selected models, be the same at 1 and 2 ranks and with ScaLAPACK, and
# survive a resume that finds some of them done (or done for another model).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
unset OMP_NUM_THREADS OPENBLAS_NUM_THREADS   # the program picks threads per rank itself
H5CMP="/usr/bin/python3 tests/h5compare.py"
PY=/usr/bin/python3
FINAL="/nngp/final/mean /nngp/final/variance /nngp/final/test_accuracy /nngp/final/log_marginal_likelihood /nngp/final/noise_used /nngp/final/status /nngp/final/sigma_w2 /nngp/final/sigma_b2"

job() {   # job FILE EXTRA-NNGP-LINES: ten classes, 600 train / 300 test, 2 depths x 2 x 2 variances
  cat > "$1" <<INI
[data]
dataset = fashion-mnist
classes = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9
train = 600
test = 300
[nngp]
depth = 1, 3
sigma_w2 = 1.0, 2.5
sigma_b2 = 0.0, 0.4
search_train = 150
$2
INI
}
job "$TMP/search.ini" ""
job "$TMP/search-scalapack.ini" "solver = scalapack
group_size = 2
block_size = 32"

check "search job runs at 1 rank" -- $NNSWEEP nngp --quiet "$TMP/search.ini" --out "$TMP/s1.h5"
check "search job runs at 2 ranks" -- mpirun -np 2 $NNSWEEP nngp --quiet "$TMP/search.ini" --out "$TMP/s2.h5"
check "1 and 2 ranks: identical grid and final fits" -- $H5CMP "$TMP/s1.h5" "$TMP/s2.h5" /nngp/test_accuracy /nngp/log_marginal_likelihood $FINAL
expect 0 "^150 150 600 1 1$" "the grid says it ran on 150 examples, the final fits on 600" -- $PY -c "
import h5py, sys
f = h5py.File(sys.argv[1], 'r')
print(f['/nngp'].attrs['ntrain'], f['/nngp'].attrs['search_train'], f['/nngp/final'].attrs['ntrain'],
      int(f['/nngp/final/done'][()].all()), int((f['/nngp/final/status'][()] == 1).all()))" "$TMP/s2.h5"

# The final fit of each depth equals a run on all 600 examples of that one model alone (its grid
# item and posterior; same LAPACK code, so 1e-12 relative is generous).
for d in 0 1; do
  $PY - "$TMP/s2.h5" "$d" > "$TMP/model$d" <<'PY'
import h5py, sys
f = h5py.File(sys.argv[1], "r")["/nngp/final"]
d = int(sys.argv[2])
print(int(f["depth"][d]), repr(float(f["sigma_w2"][d])), repr(float(f["sigma_b2"][d])))
PY
  read -r depth sw2 sb2 < "$TMP/model$d"
  sed -e "s/^depth = .*/depth = $depth/" -e "s/^sigma_w2 = .*/sigma_w2 = $sw2/" \
      -e "s/^sigma_b2 = .*/sigma_b2 = $sb2/" -e "/^search_train/d" "$TMP/search.ini" > "$TMP/one$d.ini"
  check "a full-size run of depth $depth's selected model ($sw2, $sb2)" -- $NNSWEEP nngp --quiet "$TMP/one$d.ini" --out "$TMP/one$d.h5"
  expect 0 "^agree" "final fit of depth $depth equals the separate full-size run (mean, variance, accuracy, lml, noise; 1e-12)" -- $PY - "$TMP/s2.h5" "$TMP/one$d.h5" "$d" <<'PY'
import h5py, numpy as np, sys
a = h5py.File(sys.argv[1], "r")["/nngp/final"]
b = h5py.File(sys.argv[2], "r")["/nngp"]
d = int(sys.argv[3])
pairs = [("mean", a["mean"][d], b["posterior/mean"][0]),
         ("variance", a["variance"][d], b["posterior/variance"][0]),
         ("test_accuracy", a["test_accuracy"][d], b["test_accuracy"][0, 0, 0]),
         ("log_marginal_likelihood", a["log_marginal_likelihood"][d], b["log_marginal_likelihood"][0, 0, 0]),
         ("noise_used", a["noise_used"][d], b["noise_used"][0, 0, 0])]
for name, x, y in pairs:
    x, y = np.asarray(x, float), np.asarray(y, float)
    err = np.max(np.abs(x - y)) / max(np.max(np.abs(y)), 1e-300)
    if not err <= 1e-12:
        print(f"{name}: relative difference {err:.3g}")
        sys.exit(1)
print("agree")
PY
done

# ScaLAPACK for the final fits (the search stays on single-rank LAPACK items, which fit).
expect 0 "solver lapack: groups of 1.*final fits.*solver scalapack: groups of 2" "solver = scalapack, group_size = 2 at 2 ranks: the search runs LAPACK items, the final fits ScaLAPACK" -- \
  bash -c "set -o pipefail; mpirun -np 2 $NNSWEEP nngp '$TMP/search-scalapack.ini' --out '$TMP/sp.h5' 2>&1 | tr '\n' ' '"
expect 0 "^agree" "ScaLAPACK final fits equal LAPACK's (1e-10 relative)" -- $PY - "$TMP/s2.h5" "$TMP/sp.h5" <<'PY'
import h5py, numpy as np, sys
a, b = h5py.File(sys.argv[1], "r")["/nngp/final"], h5py.File(sys.argv[2], "r")["/nngp/final"]
assert b.attrs["solver"] == "scalapack", b.attrs["solver"]
for name in ["mean", "variance", "test_accuracy", "log_marginal_likelihood", "sigma_w2", "sigma_b2"]:
    x, y = a[name][()], b[name][()]
    err = np.max(np.abs(x - y)) / max(np.max(np.abs(x)), 1e-300)
    if not err <= 1e-10:
        print(f"{name}: relative difference {err:.3g}")
        sys.exit(1)
print("agree")
PY

# Resume: a file whose first depth's fit is done and second is not (as after a stop between
# them) recomputes the second only; a done fit of a model that is no longer selected is redone.
$PY - "$TMP/s2.h5" "$TMP/part.h5" "$TMP/other.h5" <<'PY'
import h5py, shutil, sys
shutil.copy(sys.argv[1], sys.argv[2])
shutil.copy(sys.argv[1], sys.argv[3])
with h5py.File(sys.argv[2], "r+") as f:
    f["/nngp/final/done"][1] = 0
    f["/nngp/final/mean"][1] = 0.0
    f.attrs["state"] = "interrupted"
with h5py.File(sys.argv[3], "r+") as f:   # depth 0's fit claims another model: redo it
    f["/nngp/final/sigma_w2_index"][0] = 1 - f["/nngp/final/sigma_w2_index"][0]
    f["/nngp/final/mean"][0] = 0.0
    f.attrs["state"] = "interrupted"
PY
$PY tests/reseal.py "$TMP/part.h5" "$TMP/other.h5"
expect 0 "selected model of 1 depth\(s\).*\(the others resumed\)" "--resume fits only the depth not done" -- mpirun -np 2 $NNSWEEP nngp "$TMP/search.ini" --out "$TMP/part.h5" --resume
check "... and ends with the uninterrupted run's arrays" -- $H5CMP "$TMP/s2.h5" "$TMP/part.h5" /nngp/test_accuracy $FINAL
expect 0 "selected model of 1 depth\(s\)" "--resume redoes a fit of a model no longer selected" -- $NNSWEEP nngp "$TMP/search.ini" --out "$TMP/other.h5" --resume
check "... with the uninterrupted run's arrays" -- $H5CMP "$TMP/s2.h5" "$TMP/other.h5" $FINAL
cp "$TMP/s2.h5" "$TMP/done.h5"
$NNSWEEP nngp "$TMP/search.ini" --out "$TMP/done.h5" --resume >"$TMP/out" 2>&1
if ! grep -q "final fits: the selected model" "$TMP/out" && $H5CMP "$TMP/s2.h5" "$TMP/done.h5" $FINAL >/dev/null; then
  ok "--resume of a complete file fits nothing again"
else
  not_ok "--resume of a complete file"; show_output "$TMP/out"
fi

# Reading the results: report and plan show both stages.
expect 0 "Final fits on all 600" "report shows the final fits" -- $NNSWEEP report "$TMP/s2.h5"
expect 0 "search.*150.*final.*600" "plan shows the search and the final stage" -- sh -c "$NNSWEEP plan '$TMP/search.ini' --ranks 2 | tr '\n' ' '"

# Bad input: a search as large as the training set.
sed 's/^search_train = .*/search_train = 600/' "$TMP/search.ini" > "$TMP/bad.ini"
expect 2 "bad.ini:[0-9]+: search_train: value 600 must be less than \[data\] train" "search_train >= train exits 2 naming the line" -- $NNSWEEP nngp "$TMP/bad.ini" --out "$TMP/bad.h5"
