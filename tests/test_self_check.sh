# test_self_check.sh - every NNGP run checks itself (/nngp/check, root attribute self_check): the
# residuals are in the file for both solvers and both stages (search fits and final fits), the log
# and the report give the verdict, a FAILED check is reported (here forced by a threshold no fit
# can meet, 1e-30) and is an exit status (3) only under --strict; the results are written either
# way. That the residuals catch a wrong solve or factor is tested in test_nngp.c and test_pgp.c.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
PY=/usr/bin/python3

job() {   # job FILE EXTRA-NNGP-LINES: two classes, 300 train (the grid on 100) / 100 test
  cat > "$1" <<INI
[data]
dataset = fashion-mnist
classes = 0, 6
train = 300
test = 100
[nngp]
depth = 1, 4
sigma_w2 = 1.5, 3.0
sigma_b2 = 0.0, 0.5
search_train = 100
$2
INI
}
job "$TMP/lapack.ini" ""
job "$TMP/scalapack.ini" "solver = scalapack
group_size = 2
block_size = 32"
job "$TMP/strict.ini" "check_threshold = 1e-30"

# verdict FILE: the root verdict, /nngp/check's, and per table the passed flags and whether every
# residual is finite and below 1 (what a sound fit gives: of order 1e-3 here).
verdict() {
  $PY -c "
import h5py, numpy as np, sys
f = h5py.File(sys.argv[1], 'r'); c = f['/nngp/check']
out = [f.attrs['self_check'], c.attrs['result'], c.attrs['threshold']]
for t in ('posterior', 'final'):
    r = np.concatenate([c[t]['solve_residual'][()], c[t]['factor_residual'][()]])
    out += [t, c[t].attrs['ntrain'], c[t].attrs['rows_checked'], list(c[t]['passed'][()]),
            bool(np.isfinite(r).all() and (r < 1).all())]
print(*out)" "$1"
}

check "LAPACK run at 2 ranks" -- mpirun -np 2 $NNSWEEP nngp --quiet "$TMP/lapack.ini" --out "$TMP/lapack.h5"
expect 0 "^PASSED PASSED 16.0 posterior 100 64 \[1, 1\] True final 300 64 \[1, 1\] True$" \
  "LAPACK: residuals of every search and final fit below 1, PASSED" -- verdict "$TMP/lapack.h5"
check "ScaLAPACK run at 2 ranks (one 1x2 grid)" -- mpirun -np 2 $NNSWEEP nngp --quiet "$TMP/scalapack.ini" --out "$TMP/scalapack.h5"
expect 0 "^PASSED PASSED 16.0 posterior 100 64 \[1, 1\] True final 300 64 \[1, 1\] True$" \
  "ScaLAPACK: the same" -- verdict "$TMP/scalapack.h5"
expect 0 "self-check PASSED: 4 fit\(s\), scaled residuals at most" "the log gives the verdict" -- \
  mpirun -np 2 $NNSWEEP nngp "$TMP/lapack.ini" --out "$TMP/lapack2.h5"
expect 0 "Self-check: PASSED" "report prints the check table and the verdict" -- $NNSWEEP report "$TMP/lapack.h5"
expect 0 "final +0\.[0-9e-]+ +0\.[0-9e-]+ +PASSED" "... with a row per final fit" -- $NNSWEEP report "$TMP/lapack.h5"

expect 0 "warning: self-check FAILED: .* against threshold 1e-30; see /nngp/check" \
  "a FAILED check is a warning without --strict (exit 0)" -- \
  $NNSWEEP nngp "$TMP/strict.ini" --out "$TMP/failed.h5"
expect 0 "^FAILED FAILED 1e-30 posterior 100 64 \[0, 0\] True final 300 64 \[0, 0\] True$" \
  "... and FAILED in the file" -- verdict "$TMP/failed.h5"
expect 0 "Self-check: FAILED" "... and in the report" -- $NNSWEEP report "$TMP/failed.h5"
expect 3 "self-check FAILED" "--strict: exit status 3" -- \
  mpirun -np 2 $NNSWEEP nngp --strict "$TMP/strict.ini" --out "$TMP/strict.h5"
expect 0 "^complete FAILED$" "... with the results written all the same" -- $PY -c "
import h5py, sys
f = h5py.File(sys.argv[1], 'r'); print(f.attrs['state'], f.attrs['self_check'])" "$TMP/strict.h5"
expect 0 "self-check PASSED" "--strict with a sound run: exit 0" -- \
  $NNSWEEP nngp --strict "$TMP/lapack.ini" --out "$TMP/lapack3.h5"
expect 2 "check_threshold" "a threshold <= 0 is refused" -- $NNSWEEP nngp --quiet \
  <(printf '[data]\ndataset = fashion-mnist\nclasses = 0, 6\ntrain = 50\ntest = 20\n[nngp]\ncheck_threshold = 0\n') --out "$TMP/bad.h5"
cp "$TMP/lapack.h5" "$TMP/before-resume.h5"
check "--resume of a complete run keeps its final fits" -- mpirun -np 2 $NNSWEEP nngp --quiet --resume "$TMP/lapack.ini" --out "$TMP/lapack.h5"
check "... and their residuals (not computed again)" -- $PY tests/h5compare.py "$TMP/before-resume.h5" "$TMP/lapack.h5" \
  /nngp/check/final/solve_residual /nngp/check/final/factor_residual /nngp/check/final/passed \
  /nngp/check/final/seconds /nngp/final/seconds   # seconds: read back, not measured again

# The CNN: every rank of a run's group must end with the same weights bit for bit, and the final
# losses must be finite (a run whose loss turns NaN stops with an error before that). A results
# file whose run says its ranks disagreed (edited here, as a node with a faulty allreduce would
# leave it) makes the verdict FAILED when the job is resumed, and exit status 3 under --strict.
cnn_job() {
  cat > "$1" <<INI
[data]
dataset = fashion-mnist
classes = 0, 1, 2
train = 192
test = 96
[cnn]
layers = conv(4,3,pad=1) relu maxpool(2) flatten dense(3)
epochs = 2
batch_size = 32
[variant a]
learning_rate = 0.01
[variant b]
learning_rate = 0.02
INI
}
cnn_job "$TMP/cnn.ini"
for np in 2 4; do
  expect 0 "self-check PASSED: 2 run\(s\): each group's ranks ended with the same weights" \
    "CNN at $np ranks: the log gives the verdict" -- mpirun -np $np $NNSWEEP cnn "$TMP/cnn.ini" --out "$TMP/cnn$np.h5"
  expect 0 "^PASSED PASSED PASSED 1 1$" "... and the file: root, both runs, ranks agreed" -- $PY -c "
import h5py, sys
f = h5py.File(sys.argv[1], 'r'); a, b = f['/cnn/a'].attrs, f['/cnn/b'].attrs
print(f.attrs['self_check'], a['self_check'], b['self_check'], a['check_weights_agree'], b['check_weights_agree'])" "$TMP/cnn$np.h5"
done
$PY -c "
import h5py, sys
with h5py.File(sys.argv[1], 'r+') as f:
    f['/cnn/b'].attrs['check_weights_agree'] = 0" "$TMP/cnn2.h5"
$PY tests/reseal.py "$TMP/cnn2.h5"
expect 0 "warning: self-check FAILED: 2 run\(s\)" "a run whose ranks disagreed: FAILED on --resume" -- \
  mpirun -np 2 $NNSWEEP cnn --resume "$TMP/cnn.ini" --out "$TMP/cnn2.h5"
expect 0 "^FAILED PASSED FAILED$" "... in the file: the root and that run" -- $PY -c "
import h5py, sys
f = h5py.File(sys.argv[1], 'r')
print(f.attrs['self_check'], f['/cnn/a'].attrs['self_check'], f['/cnn/b'].attrs['self_check'])" "$TMP/cnn2.h5"
expect 3 "self-check FAILED" "... and exit status 3 under --strict" -- \
  mpirun -np 2 $NNSWEEP cnn --strict --resume "$TMP/cnn.ini" --out "$TMP/cnn2.h5"
