# test_threads.sh - nnsweep chooses its own threads: the layout follows the affinity mask, the
# ranks sharing it, SLURM_CPUS_PER_TASK and OMP_NUM_THREADS; a BLAS thread variable exported by
# the user changes neither the layout nor a single bit; an item alone on its rank (which gets all
# its threads) gives the same bits as on one thread and at 2 ranks, a ScaLAPACK item on threaded
# BLAS the same numbers to rounding; the results file records the layout.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
unset OMP_NUM_THREADS OPENBLAS_NUM_THREADS GOTO_NUM_THREADS SLURM_CPUS_PER_TASK
H5CMP="/usr/bin/python3 tests/h5compare.py"
attr() { /usr/bin/python3 -c "import h5py,sys; print(h5py.File(sys.argv[1],'r').attrs[sys.argv[2]])" "$1" "$2"; }
cores=$(nproc)
job=tests/jobs/nngp-small.ini

# run OUT [VAR=VALUE...]: runs the small job with those variables, its log in $TMP/OUT.log.
run() {
  local out=$1; shift
  env "$@" $NNSWEEP nngp "$job" --out "$TMP/$out.h5" >"$TMP/$out.log" 2>&1
}

check "small job with nothing exported" -- run plain
for v in 2 4; do
  check "small job with OPENBLAS_NUM_THREADS=$v exported" -- run blas$v OPENBLAS_NUM_THREADS=$v GOTO_NUM_THREADS=$v
  check "OPENBLAS_NUM_THREADS=$v changes no bit" -- $H5CMP "$TMP/plain.h5" "$TMP/blas$v.h5"
  expect 0 "1 BLAS thread per item side by side" "OPENBLAS_NUM_THREADS=$v leaves items one BLAS thread" -- cat "$TMP/blas$v.log"
done
expect 0 "^$cores$" "one process uses every core of its mask ($cores)" -- attr "$TMP/plain.h5" threads_per_rank
expect 0 "a rank: $cores core\(s\) \(affinity mask\)" "the results file records the layout" -- attr "$TMP/plain.h5" thread_layout
expect 0 "OpenBLAS" "the results file names the BLAS" -- attr "$TMP/plain.h5" blas

if command -v taskset >/dev/null && [ "$cores" -ge 2 ]; then
  check "small job under taskset -c 0" -- taskset -c 0 $NNSWEEP nngp "$job" --out "$TMP/mask1.h5"
  expect 0 "^1$" "a one-core affinity mask gives one thread" -- attr "$TMP/mask1.h5" threads_per_rank
fi
check "small job with SLURM_CPUS_PER_TASK=1" -- run slurm1 SLURM_CPUS_PER_TASK=1
expect 0 "^1$" "SLURM_CPUS_PER_TASK=1 caps the threads" -- attr "$TMP/slurm1.h5" threads_per_rank
expect 0 "SLURM_CPUS_PER_TASK" "the layout says SLURM_CPUS_PER_TASK decided" -- attr "$TMP/slurm1.h5" thread_layout
check "small job with OMP_NUM_THREADS=3" -- run omp3 OMP_NUM_THREADS=3
expect 0 "^3$" "OMP_NUM_THREADS sets the threads per rank" -- attr "$TMP/omp3.h5" threads_per_rank
check "3 threads change no bit" -- $H5CMP "$TMP/plain.h5" "$TMP/omp3.h5"
check "2 ranks sharing one mask" -- mpirun -np 2 --bind-to none $NNSWEEP nngp "$job" --out "$TMP/np2.h5"
expect 0 "2 on this node; a rank: $((cores / 2 > 0 ? cores / 2 : 1)) core" "ranks sharing a mask split its cores" -- attr "$TMP/np2.h5" thread_layout
check "2 ranks change no bit" -- $H5CMP "$TMP/plain.h5" "$TMP/np2.h5"

# One item (one variance pair) of 700 training points: it runs alone on its rank with two
# threads sharing the row strips of its solves, alone on one thread, and on 2 ranks (where the
# other rank only shares the Gram rows and computes posteriors).
cat > "$TMP/one.ini" <<'INI'
[data]
classes = 0, 6
train = 700
test = 300
[nngp]
depth = 1:4
sigma_w2 = 2.0
sigma_b2 = 0.1
INI
check "one-item job on 2 threads" -- env OMP_NUM_THREADS=2 $NNSWEEP nngp "$TMP/one.ini" --out "$TMP/one2.h5"
check "one-item job on 1 thread" -- env OMP_NUM_THREADS=1 $NNSWEEP nngp "$TMP/one.ini" --out "$TMP/one1.h5"
check "one-item job on 2 ranks" -- mpirun -np 2 $NNSWEEP nngp "$TMP/one.ini" --out "$TMP/onenp2.h5"
check "a lone item on 2 threads gives the bits of 1 thread" -- $H5CMP "$TMP/one1.h5" "$TMP/one2.h5"
check "and of 2 ranks" -- $H5CMP "$TMP/one1.h5" "$TMP/onenp2.h5"

# A ScaLAPACK item (a group of 2 ranks, 2 threads each) gives the rank's threads to BLAS: its
# numbers agree with one thread per rank to rounding (relative 1e-9: the factorization is
# backward stable and the kernel's condition number is far below 1e6) and its accuracies are
# the same.
sed 's/^\[nngp\]/[nngp]\nsolver = scalapack\ngroup_size = 2/' "$job" > "$TMP/pgp.ini"
check "ScaLAPACK item with 1 thread per rank" -- env OMP_NUM_THREADS=1 mpirun -np 2 --bind-to none $NNSWEEP nngp --quiet "$TMP/pgp.ini" --out "$TMP/pgp1.h5"
check "ScaLAPACK item with 2 threads per rank" -- env OMP_NUM_THREADS=2 mpirun -np 2 --bind-to none $NNSWEEP nngp --quiet "$TMP/pgp.ini" --out "$TMP/pgp2.h5"
check "... the same numbers to rounding" -- /usr/bin/python3 - "$TMP/pgp1.h5" "$TMP/pgp2.h5" <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
assert b.attrs["threads_per_rank"] == 2 and b["/nngp"].attrs["solver"] == "scalapack"
for name in ["/nngp/log_marginal_likelihood", "/nngp/posterior/mean", "/nngp/posterior/variance"]:
    x, y = a[name][()], b[name][()]
    assert np.allclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True), (name, np.nanmax(abs(x - y)))
assert np.array_equal(a["/nngp/test_accuracy"][()], b["/nngp/test_accuracy"][()], equal_nan=True)
PY

# The CNN gives the rank's threads to BLAS inside its layers.
cat > "$TMP/cnn.ini" <<'INI'
[data]
dataset = synthetic
channels = 1
height = 8
width = 8
classes = 0, 1
train = 64
test = 32
[cnn]
layers = conv(4,3,pad=1) relu flatten dense(2)
epochs = 1
batch_size = 32
INI
expect 0 "BLAS thread\(s\) inside each item" "the CNN's layout gives BLAS the threads" -- env OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1 $NNSWEEP cnn "$TMP/cnn.ini" --out "$TMP/cnn.h5"
expect 0 "^2$" "and records them" -- attr "$TMP/cnn.h5" threads_per_rank
