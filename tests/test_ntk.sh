# test_ntk.sh - [nngp] kernel = nngp, ntk: the NTK sweep beside the NNGP sweep in one job and one
# file (/ntk, the layout of /nngp): bit-identical at 1, 2 and 4 ranks; the ScaLAPACK NTK equal to
# the LAPACK NTK to 1e-9 with the same accuracies; resume of a file whose NTK part is missing or
# unfinished; report and figures; bad values. The NTK's numbers themselves are tested against a
# numpy implementation and Monte-Carlo networks in test_nngp.c, test_kernel.c and test_pgp.c.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
H5CMP="/usr/bin/python3 tests/h5compare.py"
PY=/usr/bin/python3
NTK="/ntk/test_accuracy /ntk/log_marginal_likelihood /ntk/noise_used /ntk/status /ntk/posterior/mean /ntk/posterior/variance /ntk/best/test_accuracy/sigma_w2 /ntk/uncertainty/most_uncertain/test_position"

sed 's/^\[nngp\]/[nngp]\nkernel = nngp, ntk/' tests/jobs/nngp-small.ini > "$TMP/both.ini"
sed 's/^\[nngp\]/[nngp]\nkernel = ntk/' tests/jobs/nngp-small.ini > "$TMP/ntk.ini"
sed 's/^\[nngp\]/[nngp]\nkernel = nngp, ntk\nsolver = scalapack\ngroup_size = 2\nblock_size = 32/' tests/jobs/nngp-small.ini > "$TMP/pgp.ini"

for np in 1 2 4; do
  check "both kernels at $np rank(s)" -- mpirun -np $np $NNSWEEP nngp --quiet "$TMP/both.ini" --out "$TMP/np$np.h5"
done
check "1 and 2 ranks: identical NTK results" -- $H5CMP "$TMP/np1.h5" "$TMP/np2.h5" $NTK
check "1 and 4 ranks: identical NTK results" -- $H5CMP "$TMP/np1.h5" "$TMP/np4.h5" $NTK
check "the NNGP part is the NNGP-only run's" -- bash -c "mpirun -np 2 $NNSWEEP nngp --quiet tests/jobs/nngp-small.ini --out '$TMP/nngp.h5' >/dev/null && $H5CMP '$TMP/nngp.h5' '$TMP/np2.h5'"
check "kernel = ntk alone gives the same /ntk" -- bash -c "$NNSWEEP nngp --quiet '$TMP/ntk.ini' --out '$TMP/ntk.h5' >/dev/null && $H5CMP '$TMP/np1.h5' '$TMP/ntk.h5' $NTK"
expect 0 "^ntk no-nngp" "... and writes no /nngp group" -- $PY -c "
import h5py, sys
f = h5py.File(sys.argv[1], 'r'); print(f['/ntk'].attrs['kernel'], 'no-nngp' if 'nngp' not in f else 'nngp')" "$TMP/ntk.h5"
check "ScaLAPACK NTK (1x2 grid) at 2 ranks" -- mpirun -np 2 $NNSWEEP nngp --quiet "$TMP/pgp.ini" --out "$TMP/pgp.h5"
expect 0 "^same accuracies, largest relative difference [0-9.e-]+$" "ScaLAPACK NTK equals LAPACK NTK (1e-9)" -- $PY -c "
import h5py, numpy as np, sys
a, b = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')
assert (a['/ntk/test_accuracy'][()] == b['/ntk/test_accuracy'][()]).all()
worst = 0.0
for name in ('/ntk/log_marginal_likelihood', '/ntk/posterior/mean', '/ntk/posterior/variance'):
    x, y = a[name][()], b[name][()]
    worst = max(worst, float(np.max(np.abs(x - y)) / np.max(np.abs(x))))
assert worst < 1e-9, worst
print('same accuracies, largest relative difference %.2g' % worst)" "$TMP/np2.h5" "$TMP/pgp.h5"

# resume: the NTK part removed (as if stopped before it began), then three of its items undone
cp "$TMP/np2.h5" "$TMP/cut.h5"
$PY -c "
import h5py, sys
with h5py.File(sys.argv[1], 'r+') as f:
    del f['/ntk']" "$TMP/cut.h5"
$PY tests/reseal.py "$TMP/cut.h5"
check "--resume computes a missing NTK part" -- mpirun -np 2 $NNSWEEP nngp --quiet --resume "$TMP/both.ini" --out "$TMP/cut.h5"
check "... equal to the uninterrupted run" -- $H5CMP "$TMP/np2.h5" "$TMP/cut.h5" $NTK
$PY -c "
import h5py, sys
with h5py.File(sys.argv[1], 'r+') as f:
    d = f['/ntk/item_done'][()]; d[[0, 4, 8]] = 0; f['/ntk/item_done'][...] = d" "$TMP/cut.h5"
$PY tests/reseal.py "$TMP/cut.h5"
expect 0 "NTK sweep: 9 .*\(resumed\)" "--resume finishes unfinished NTK items (and says so)" -- mpirun -np 2 $NNSWEEP nngp --resume "$TMP/both.ini" --out "$TMP/cut.h5"
check "... equal to the uninterrupted run" -- $H5CMP "$TMP/np2.h5" "$TMP/cut.h5" $NTK

expect 0 "NTK sweep: 200 train" "report prints the NTK's tables" -- $NNSWEEP report "$TMP/np2.h5"
expect 0 "ntk-accuracy-depth.png" "report --png draws the NTK's figures" -- $NNSWEEP report "$TMP/np2.h5" --png "$TMP/png"
[ -s "$TMP/png/ntk-accuracy-heatmaps.png" ] && [ -s "$TMP/png/nngp-accuracy-heatmaps.png" ] && ok "... beside the NNGP's" || not_ok "... beside the NNGP's"
for bad in "gp" "nngp, nngp" "nngp," "ntk; nngp"; do
  printf '[data]\ndataset = fashion-mnist\nclasses = 0, 6\ntrain = 50\ntest = 20\n[nngp]\nkernel = %s\n' "$bad" > "$TMP/bad.ini"
  expect 2 "bad.ini:7: kernel: " "kernel = '$bad' is refused naming the line" -- $NNSWEEP nngp --quiet "$TMP/bad.ini" --out "$TMP/bad.h5"
done
