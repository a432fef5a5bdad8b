# test_cnn_run.sh - whole CNN training runs through the command line: the same loss curve at 1, 2
# and 4 ranks (data-parallel gradients equal the single-rank gradient up to float rounding of the
# summation order, hence relative 1e-4), bit-identical weights when a run is repeated with the
# same seed and layout, one group per variant, and the command-line and layers errors.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
PY=/usr/bin/python3

cat > "$TMP/tiny.ini" <<'INI'
[data]
dataset = fashion-mnist
classes = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9
train = 512
test = 256
[cnn]
layers = conv(4,3,pad=1) relu maxpool(2) flatten dense(16) relu dense(10)
epochs = 2
batch_size = 64
learning_rate = 0.05
seed = 7
INI

# 1. Rank counts do not change the loss curve (one group of all ranks).
for np in 1 2 4; do
  check "tiny job trains at $np rank(s)" -- mpirun -np $np $NNSWEEP cnn --quiet "$TMP/tiny.ini" --out "$TMP/np$np.h5"
done
curves_close() {   # $1 $2: files; train_loss and test_loss agree to relative 1e-4
  $PY - "$1" "$2" <<'PYEOF'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
for k in ("train_loss", "test_loss"):
    x, y = a["/cnn/base/" + k][()], b["/cnn/base/" + k][()]
    d = np.max(np.abs(x - y) / np.abs(x))
    print(k, x, y, "max relative difference", d)
    if x.shape != (2,) or not d <= 1e-4:
        sys.exit(1)
PYEOF
}
check "1 and 2 ranks give the same loss curve (relative 1e-4)" -- curves_close "$TMP/np1.h5" "$TMP/np2.h5"
check "1 and 4 ranks give the same loss curve (relative 1e-4)" -- curves_close "$TMP/np1.h5" "$TMP/np4.h5"

# Synchronized batch norm: the group's batch statistics are those of the whole global batch, so
# 2 and 4 ranks again follow the 1-rank curve (bn also in the running statistics used for test).
sed -e 's/^layers = .*/layers = conv(4,3,pad=1) bn relu maxpool(2) flatten dense(16) bn relu dense(10)/' \
    -e '$a sync_bn = 1' "$TMP/tiny.ini" > "$TMP/syncbn.ini"
for np in 1 2 4; do
  check "sync-bn job trains at $np rank(s)" -- mpirun -np $np $NNSWEEP cnn --quiet "$TMP/syncbn.ini" --out "$TMP/sbn$np.h5"
done
check "sync bn: 1 and 2 ranks give the same loss curve (relative 1e-4)" -- curves_close "$TMP/sbn1.h5" "$TMP/sbn2.h5"
check "sync bn: 1 and 4 ranks give the same loss curve (relative 1e-4)" -- curves_close "$TMP/sbn1.h5" "$TMP/sbn4.h5"

# 2. The same seed and layout give bit-identical weights.
check "tiny job runs again at 2 ranks" -- mpirun -np 2 $NNSWEEP cnn --quiet "$TMP/tiny.ini" --out "$TMP/again.h5"
same_weights() {
  $PY - "$1" "$2" <<'PYEOF'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r")["/cnn/base/weights"][()] for p in sys.argv[1:3])
print(a.shape, b.shape, "identical" if np.array_equal(a, b) else "differ")
sys.exit(0 if a.shape == b.shape and np.array_equal(a, b) else 1)
PYEOF
}
check "a repeated run has bit-identical weights" -- same_weights "$TMP/np2.h5" "$TMP/again.h5"
layout_ok() {
  $PY - "$1" <<'PYEOF'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
g = f["/cnn/base"]
assert f.attrs["experiment"] == "cnn" and f.attrs["state"] == "complete"
for k in ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "learning_rate",
          "seconds", "images_per_second"):
    assert g[k].shape == (2,) and g[k].dtype == np.float64, k
cm = g["confusion_matrix"][()]
assert cm.shape == (10, 10) and cm.dtype == np.int32 and cm.sum() == 256
assert abs(np.trace(cm) / 256 - g["test_accuracy"][-1]) < 1e-12
assert g["noise_accuracy"].shape == (3,) and "noise_levels" in g["noise_accuracy"].attrs
assert g["weights"].dtype == np.float32 and g["weights"].shape == (g.attrs["nparams"],)
assert g.attrs["model_mb"] > 0 and g["learning_rate"][0] == 0.05
print("layout ok")
PYEOF
}
check "results file layout (curves, confusion matrix, noise accuracy, weights)" -- layout_ok "$TMP/np2.h5"

# 3. Two variants (bn and dropout on one) are two runs, trained by two groups of one rank.
cat > "$TMP/variants.ini" <<'INI'
[data]
dataset = fashion-mnist
classes = 0, 6
train = 256
test = 128
[cnn]
layers = conv(4,3,pad=1) relu maxpool(2) flatten dense(1)
epochs = 1
batch_size = 32
group_size = 1
[variant plain]
[variant bn_dropout]
layers = conv(4,3,pad=1) bn relu maxpool(2) flatten dropout(0.2) dense(1)
INI
check "a job with two variants runs at 2 ranks" -- mpirun -np 2 $NNSWEEP cnn --quiet "$TMP/variants.ini" --out "$TMP/variants.h5"
two_runs() {
  $PY - "$1" <<'PYEOF'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
names = sorted(k for k in f["/cnn"] if k not in ("runs", "run_done"))
print(names, list(f["/cnn/run_done"][()]))
assert names == ["bn_dropout", "plain"] and f["/cnn/run_done"][()].all()
assert f["/cnn/bn_dropout/confusion_matrix"].shape == (2, 2) and "bn_buffers" in f["/cnn/bn_dropout"]
PYEOF
}
check "the file holds both runs" -- two_runs "$TMP/variants.h5"
sed 's/^group_size = 1/group_size = 2/' "$TMP/variants.ini" > "$TMP/variants2.ini"
check "the same job at 4 ranks: two groups of 2" -- mpirun -np 4 $NNSWEEP cnn --quiet "$TMP/variants2.ini" --out "$TMP/variants2.h5"
check "the file holds both runs (groups of 2)" -- two_runs "$TMP/variants2.h5"
sed 's/^group_size = 1/group_size = 3/' "$TMP/variants.ini" > "$TMP/variants3.ini"
expect 2 "group_size 3 does not divide the 2 MPI ranks" "a group size that does not divide the ranks exits 2" -- mpirun -np 2 $NNSWEEP cnn --quiet "$TMP/variants3.ini" --out "$TMP/v3.h5"

# 4. Command line and input errors.
expect 0 "usage: nnsweep cnn" "--help exits 0" -- $NNSWEEP cnn --help
expect 2 "unexpected argument '--bogus'" "unknown option exits 2" -- $NNSWEEP cnn --bogus
sed 's/^layers = .*/layers = conv(4,3,pad=1) relu maxpool(2) dense(10)/' "$TMP/tiny.ini" > "$TMP/bad.ini"
expect 2 "layers.*layer 4 dense\(10\)" "a bad layers string exits 2 naming the layer" -- mpirun -np 2 $NNSWEEP cnn --quiet "$TMP/bad.ini" --out "$TMP/bad.h5"
sed 's/^batch_size = .*/batch_size = 1024/' "$TMP/tiny.ini" > "$TMP/bigbatch.ini"
expect 2 "batch_size 1024 exceeds the 512 training examples" "a batch larger than the training set exits 2" -- $NNSWEEP cnn --quiet "$TMP/bigbatch.ini" --out "$TMP/big.h5"

# The report reads a CNN file alone: one row per run with its final metrics.
expect 0 "CNN training: 2 of 2 run\(s\) done" "report on a CNN file prints the per-run table" -- $NNSWEEP report "$TMP/variants.h5"

# 5. --bench STEPS: the first run trained on all ranks for STEPS timed steps on synthetic data;
# one parsable "images/s: N" line on stdout, no results file; bad STEPS exit 2.
cat > "$TMP/bench.ini" <<'INI'
[data]
dataset = synthetic
channels = 3
height = 8
width = 8
classes = 0, 1, 2
train = 128
test = 16
[cnn]
layers = conv(4,3,pad=1) bn relu maxpool(2) flatten dense(16) relu dropout(0.5) dense(3)
batch_size = 32
[output]
file = TMPDIR/bench.h5
INI
sed -i "s|TMPDIR|$TMP|" "$TMP/bench.ini"
bench_line() {   # $1 = ranks: stdout is exactly one "images/s: N" line, N > 0; no file written
  mpirun -np "$1" $NNSWEEP cnn "$TMP/bench.ini" --bench 3 >"$TMP/bench.out" 2>"$TMP/bench.err" || { cat "$TMP/bench.err"; return 1; }
  cat "$TMP/bench.out" "$TMP/bench.err"
  [ "$(wc -l <"$TMP/bench.out")" -eq 1 ] && grep -qE '^images/s: [0-9]+(\.[0-9]+)?$' "$TMP/bench.out" &&
    awk '{exit !($2 > 0)}' "$TMP/bench.out" && [ ! -e "$TMP/bench.h5" ]
}
check "--bench 3 prints one 'images/s: N' line and writes no file (1 rank)" -- bench_line 1
check "--bench 3 prints one 'images/s: N' line and writes no file (2 ranks)" -- bench_line 2
expect 2 "--bench STEPS: '0' is not a number of steps" "--bench 0 exits 2" -- $NNSWEEP cnn "$TMP/bench.ini" --bench 0
expect 2 "--bench STEPS: '12x' is not a number of steps" "--bench with a non-number exits 2" -- $NNSWEEP cnn "$TMP/bench.ini" --bench 12x
expect 2 "--bench STEPS: '' is not a number of steps" "--bench without STEPS exits 2" -- $NNSWEEP cnn "$TMP/bench.ini" --bench
expect 2 "unexpected argument '--bench'" "nngp has no --bench" -- $NNSWEEP nngp "$TMP/bench.ini" --bench 3
sed 's/^batch_size = .*/batch_size = 256/' "$TMP/bench.ini" > "$TMP/bench-big.ini"
expect 2 "batch_size 256 exceeds the 128 training examples" "--bench with a batch larger than the data exits 2" -- mpirun -np 2 $NNSWEEP cnn "$TMP/bench-big.ini" --bench 3
sed 's/^layers = .*/layers = conv(4,3,pad=1) relu dense(3)/' "$TMP/bench.ini" > "$TMP/bench-bad.ini"
expect 2 "bench-bad.ini:[0-9]+: \[cnn\] layers: layer 3 dense\(3\)" "--bench with a bad layers string exits 2 naming file:line" -- $NNSWEEP cnn "$TMP/bench-bad.ini" --bench 3

# 6. jobs/cnn-cifar10.ini parses, builds its net and trains one epoch on 200 fake records in the
# exact CIFAR-10 binary format (1 label byte + 3072 pixel bytes; 5 training files, 1 test file).
mkdir -p "$TMP/cifar"
$PY - "$TMP/cifar" <<'PYEOF'
import os, random, sys
rng = random.Random(3)
def batch(name, n):
    with open(os.path.join(sys.argv[1], name), "wb") as f:
        for i in range(n):
            f.write(bytes([i % 10]) + bytes(rng.randrange(256) for _ in range(3072)))
for k in range(1, 6):
    batch(f"data_batch_{k}.bin", 40)
batch("test_batch.bin", 50)
PYEOF
sed -e "s|^; path = .*|path = $TMP/cifar|" -e 's/^train = .*/train = 200/' -e 's/^test = .*/test = 50/' \
    -e 's/^epochs = .*/epochs = 1/' -e "s|^file = .*|file = $TMP/cifar.h5|" jobs/cnn-cifar10.ini > "$TMP/cifar10.ini"
expect 0 "CNN training: 1 of 1 run\(s\) done" "jobs/cnn-cifar10.ini trains 1 epoch on 200 fake CIFAR-10 records (2 ranks)" -- mpirun -np 2 $NNSWEEP cnn "$TMP/cifar10.ini"
