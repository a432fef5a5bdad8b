# test_nngp_run.sh - whole NNGP runs through the command line: the same numbers at 1, 2 and 4
# ranks (and 1 rank with 2 threads), nothing lost when a run is killed or signalled, a refused
# resume with another job, and grid points whose kernel is not positive definite.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
unset OMP_NUM_THREADS OPENBLAS_NUM_THREADS   # the program picks threads per rank itself
H5CMP="/usr/bin/python3 tests/h5compare.py"
state() { /usr/bin/python3 -c "import h5py,sys; print(h5py.File(sys.argv[1],'r').attrs['state'])" "$1"; }
items_done() { /usr/bin/python3 -c "import h5py,sys; print(int(h5py.File(sys.argv[1],'r')['/nngp/item_done'][()].sum()))" "$1" 2>/dev/null || echo 0; }

# 1. Rank and thread counts do not change the numbers.
for np in 1 2 4; do
  check "small job runs at $np rank(s)" -- mpirun -np $np $NNSWEEP nngp --quiet tests/jobs/nngp-small.ini --out "$TMP/np$np.h5"
done
OMP_NUM_THREADS=1 check "small job runs at 1 rank x 1 thread" -- $NNSWEEP nngp --quiet tests/jobs/nngp-small.ini --out "$TMP/np1t1.h5"
check "1 and 2 ranks give identical arrays" -- $H5CMP "$TMP/np1.h5" "$TMP/np2.h5"
check "1 and 4 ranks give identical arrays" -- $H5CMP "$TMP/np1.h5" "$TMP/np4.h5"
check "1 and 2 threads give identical arrays" -- $H5CMP "$TMP/np1.h5" "$TMP/np1t1.h5"
expect 0 "^complete$" "finished file has state complete" -- state "$TMP/np2.h5"
expect 0 "Best model per depth" "report prints the per-depth table" -- $NNSWEEP report "$TMP/np2.h5"

# A job long enough to interrupt: 36 items of 1000 train / 500 test, 8 depths.
cat > "$TMP/long.ini" <<'INI'
[data]
classes = 0, 6
train = 1000
test = 500
[nngp]
depth = 1:8
sigma_w2 = linspace(0.5, 5, 6)
sigma_b2 = linspace(0, 2, 6)
INI
check "uninterrupted reference run of the long job" -- mpirun -np 2 $NNSWEEP nngp --quiet "$TMP/long.ini" --out "$TMP/ref.h5"

# 2. kill -9 of mpirun partway, then --resume.
mpirun -np 2 $NNSWEEP nngp --quiet "$TMP/long.ini" --out "$TMP/killed.h5" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  [ "$(items_done "$TMP/killed.h5")" -ge 5 ] && break
  sleep 0.1
done
kill -9 $pid; wait $pid 2>/dev/null
pkill -9 -f "nngp --quiet $TMP/long.ini --out $TMP/killed.h5" 2>/dev/null
done_at_kill=$(items_done "$TMP/killed.h5")
if [ "$done_at_kill" -ge 5 ] && [ "$done_at_kill" -lt 36 ]; then ok "killed partway ($done_at_kill of 36 items on disk)"; else not_ok "kill came at $done_at_kill of 36 items"; fi
expect 0 "^running$" "a killed run leaves a valid file with state running" -- state "$TMP/killed.h5"
expect 0 "incomplete \(running\)" "report on the killed run's file says it is incomplete" -- $NNSWEEP report "$TMP/killed.h5"
echo "half-written" > "$TMP/killed.h5.tmp.99999"   # as if killed inside a write
check "--resume after kill -9 completes" -- mpirun -np 2 $NNSWEEP nngp --quiet "$TMP/long.ini" --out "$TMP/killed.h5" --resume
check "resumed arrays equal the uninterrupted run" -- $H5CMP "$TMP/ref.h5" "$TMP/killed.h5"
expect 0 "^complete$" "resumed file has state complete" -- state "$TMP/killed.h5"
ls "$TMP"/killed.h5.tmp* >/dev/null 2>&1 && not_ok "temporary files left beside the results" || ok "stale temporary files removed, none left"

# 3. Signals: SIGTERM to every rank (what SLURM does at the time limit) and SIGUSR1 to mpirun
# (which forwards it) each give exit status 75 and state interrupted; --resume then finishes.
# (SIGTERM to mpirun itself makes mpirun exit 1 after the ranks wrote the file: mpirun's own rule.)
interrupt() {   # interrupt SIGNAL TARGET OUT: TARGET is "ranks" or "mpirun"
  mpirun -np 2 $NNSWEEP nngp --quiet "$TMP/long.ini" --out "$3" >"$TMP/sig.log" 2>&1 &
  local pid=$! status
  for _ in $(seq 1 300); do
    [ "$(items_done "$3")" -ge 3 ] && break
    sleep 0.1
  done
  if [ "$2" = ranks ]; then pkill "-$1" -f "^$NNSWEEP nngp --quiet $TMP/long.ini --out $3"; else kill "-$1" $pid; fi
  wait $pid; status=$?
  if [ $status -eq 75 ]; then ok "$1 to $2 exits with status 75"; else not_ok "$1 to $2: exit status $status"; sed 's/^/#   /' "$TMP/sig.log"; fi
  expect 0 "^interrupted$" "after $1 the file has state interrupted" -- state "$3"
}
interrupt TERM ranks "$TMP/term.h5"
interrupt USR1 mpirun "$TMP/usr1.h5"
expect 0 "interrupted" "report on an interrupted file says so" -- $NNSWEEP report "$TMP/term.h5"
check "--resume after SIGTERM completes (now at 4 ranks)" -- mpirun -np 4 $NNSWEEP nngp --quiet "$TMP/long.ini" --out "$TMP/term.h5" --resume
check "resumed-after-signal arrays equal the uninterrupted run" -- $H5CMP "$TMP/ref.h5" "$TMP/term.h5"
check "--resume after SIGUSR1 completes" -- $NNSWEEP nngp --quiet "$TMP/long.ini" --out "$TMP/usr1.h5" --resume
check "... with arrays equal to the uninterrupted run" -- $H5CMP "$TMP/ref.h5" "$TMP/usr1.h5"

# 4. Resume with another job is refused; resume with no file starts from scratch.
sed 's/train = 1000/train = 900/' "$TMP/long.ini" > "$TMP/other.ini"
expect 2 "different job file" "resume with a different job file exits 2" -- $NNSWEEP nngp --quiet "$TMP/other.ini" --out "$TMP/term.h5" --resume
check "--resume without a file starts from the beginning" -- $NNSWEEP nngp --quiet tests/jobs/nngp-small.ini --out "$TMP/fresh.h5" --resume
check "... and gives the same numbers" -- $H5CMP "$TMP/np1.h5" "$TMP/fresh.h5"

# 5. Kernels that are not positive definite: deep nets with small sigma_w2 and a large bias
# drive every correlation to 1; with no jitter allowed the factorization fails. The grid points
# are recorded as failed (status 2, LAPACK info > 0) and the sweep finishes.
cat > "$TMP/notpd.ini" <<'INI'
[data]
classes = 0, 6
train = 200
test = 100
[nngp]
depth = 1, 20
sigma_w2 = 0.5, 2.0
sigma_b2 = 5.0
noise = 0
noise_max = 0
INI
check "a sweep with non-positive-definite kernels finishes" -- $NNSWEEP nngp --quiet "$TMP/notpd.ini" --out "$TMP/notpd.h5"
check "failed points are recorded with status 2 and info > 0, good ones with status 1" -- /usr/bin/python3 -c "
import h5py, numpy as np, sys
f = h5py.File(sys.argv[1], 'r'); st = f['/nngp/status'][()]; info = f['/nngp/info'][()]
acc = f['/nngp/test_accuracy'][()]
assert (st == 2).any() and (st == 1).any(), st
assert (info[st == 2] > 0).all() and (info[st == 1] == 0).all(), info
print('failed points:', int((st == 2).sum()), 'ok points:', int((st == 1).sum()))" "$TMP/notpd.h5"

# 5. The ScaLAPACK solver in the sweep: groups of 2 ranks as one 1x2 grid. One group (2 ranks) and
# two groups side by side (4 ranks) give bit-identical arrays; they agree with the LAPACK run of
# the same job (section 1) to 1e-9 relative with identical accuracies and predictions.
sed 's/^\[nngp\]/[nngp]\nsolver = scalapack\ngroup_size = 2/' tests/jobs/nngp-small.ini > "$TMP/pgp.ini"
check "solver = scalapack, group_size = 2 runs at 2 ranks" -- mpirun -np 2 $NNSWEEP nngp --quiet "$TMP/pgp.ini" --out "$TMP/pgp2.h5"
check "... and at 4 ranks (two groups)" -- mpirun -np 4 $NNSWEEP nngp --quiet "$TMP/pgp.ini" --out "$TMP/pgp4.h5"
check "one and two ScaLAPACK groups give identical arrays" -- $H5CMP "$TMP/pgp2.h5" "$TMP/pgp4.h5"
check "ScaLAPACK sweep agrees with the LAPACK sweep (1e-9, same accuracies and predictions)" -- /usr/bin/python3 -c "
import h5py, numpy as np, sys
a, b = h5py.File(sys.argv[1], 'r'), h5py.File(sys.argv[2], 'r')
rel = lambda x, y: np.nanmax(np.abs(x - y)) / np.nanmax(np.abs(x))
assert b.attrs['process_grid'] == '1x2' and b['/nngp'].attrs['solver'] == 'scalapack', dict(b['/nngp'].attrs)
for k in ('test_accuracy', 'validation_accuracy', 'status'):
    assert np.array_equal(a['/nngp/' + k][()], b['/nngp/' + k][()], equal_nan=True), k
for k in ('log_marginal_likelihood', 'posterior/mean', 'posterior/variance'):
    r = rel(a['/nngp/' + k][()], b['/nngp/' + k][()]); print(k, r); assert r < 1e-9, (k, r)
ma, mb = a['/nngp/posterior/mean'][()], b['/nngp/posterior/mean'][()]
assert np.array_equal(ma > 0, mb > 0)
" "$TMP/np1.h5" "$TMP/pgp2.h5"

# 6. Memory: solver = auto takes LAPACK when an item fits a rank, else ScaLAPACK; what fits
# nowhere is refused before any computing (exit 2, the sizes in the message).
NNSWEEP_MEM_PER_RANK=64M check "auto with room picks LAPACK" -- $NNSWEEP nngp --quiet tests/jobs/nngp-small.ini --out "$TMP/auto1.h5"
expect 0 "^lapack$" "... recorded in /nngp solver" -- /usr/bin/python3 -c "import h5py,sys; print(h5py.File(sys.argv[1],'r')['/nngp'].attrs['solver'])" "$TMP/auto1.h5"
NNSWEEP_MEM_PER_RANK=3800K check "auto without room for LAPACK falls back to ScaLAPACK (1x1)" -- $NNSWEEP nngp --quiet tests/jobs/nngp-small.ini --out "$TMP/auto2.h5"
expect 0 "^scalapack (layer|factor)$" "... recorded in /nngp solver and store" -- /usr/bin/python3 -c "import h5py,sys; a=h5py.File(sys.argv[1],'r')['/nngp'].attrs; print(a['solver'], a['store'])" "$TMP/auto2.h5"
check "... with the same accuracies as LAPACK" -- $H5CMP "$TMP/np1.h5" "$TMP/auto2.h5" /nngp/test_accuracy /nngp/status
sed 's/^\[nngp\]/[nngp]\nsolver = lapack/' tests/jobs/nngp-small.ini > "$TMP/lapack.ini"
NNSWEEP_MEM_PER_RANK=4500K expect 2 "solver = lapack needs .* MiB per rank" "solver = lapack that does not fit exits 2" -- $NNSWEEP nngp --quiet "$TMP/lapack.ini" --out "$TMP/nofit.h5"
# (3.5 MB: the replicated part, data and the self-check's sampled rows, still leaves room on larger grids)
NNSWEEP_MEM_PER_RANK=3500K expect 2 "need .* MiB per rank on a 1x1 ScaLAPACK grid.*group_size >= [0-9]+" "nothing fits: exit 2 naming the group size that would" -- $NNSWEEP nngp --quiet tests/jobs/nngp-small.ini --out "$TMP/nofit.h5"
[ -e "$TMP/nofit.h5" ] && not_ok "a refused job wrote a file" || ok "a refused job writes no file"
