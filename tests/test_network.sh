# test_network.sh - the [network] stage of an NNGP job: fully connected ReLU networks drawn from
# each depth's selected NNGP prior, trained on the squared loss against the GP's targets. The
# runs give the same curves at 1, 2 and 4 ranks (bit for bit with a run per rank; to float
# rounding when each run is trained data-parallel by all ranks), learn, survive --resume, and
# show in the report and its figures; bad [network] values exit 2 naming the key.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
unset OMP_NUM_THREADS OPENBLAS_NUM_THREADS
PY=/usr/bin/python3

job() {   # job FILE GROUP_SIZE
  cat > "$1" <<INI
[data]
dataset = fashion-mnist
classes = 0, 6
train = 200
test = 100
[nngp]
depth = 1, 2
sigma_w2 = 1.0, 2.0
sigma_b2 = 0.0, 0.5
[network]
widths = 16, 64
epochs = 3
batch_size = 20
optimizer = adam
learning_rate = 0.003
seeds = 1, 2
group_size = $2
INI
}
job "$TMP/one.ini" 1
job "$TMP/all.ini" 0

for np in 1 2 4; do
  check "a run per rank: job runs at $np rank(s)" -- mpirun -np $np $NNSWEEP nngp --quiet "$TMP/one.ini" --out "$TMP/one$np.h5"
  check "data-parallel runs: job runs at $np rank(s)" -- mpirun -np $np $NNSWEEP nngp --quiet "$TMP/all.ini" --out "$TMP/all$np.h5"
done

# The curves: with one rank per run the same code on the same data (bit for bit); data-parallel
# runs sum the gradient slices in another order, so their float32 losses differ by rounding:
# 1e-4 relative after 3 epochs of Adam (measured ~1e-6) and the same accuracies give or take one
# test example in a hundred.
expect 0 "^agree" "curves, accuracies and outputs identical at 1, 2 and 4 ranks (a run per rank)" -- $PY - "$TMP"/one1.h5 "$TMP"/one2.h5 "$TMP"/one4.h5 <<'PY'
import h5py, numpy as np, sys
f = [h5py.File(p, "r")["/network"] for p in sys.argv[1:]]
for k in ("train_loss", "test_loss", "test_accuracy", "prediction", "status"):
    for g in f[1:]:
        if not np.array_equal(f[0][k][()], g[k][()], equal_nan=True):
            sys.exit(f"{k} differs")
print("agree")
PY
expect 0 "^agree" "data-parallel curves at 1, 2, 4 ranks agree to float rounding (1e-4 relative)" -- $PY - "$TMP"/all1.h5 "$TMP"/all2.h5 "$TMP"/all4.h5 <<'PY'
import h5py, numpy as np, sys
f = [h5py.File(p, "r")["/network"] for p in sys.argv[1:]]
for g in f[1:]:
    for k in ("train_loss", "test_loss"):
        a, b = f[0][k][()], g[k][()]
        d = np.max(np.abs(a - b) / np.abs(a))
        print(k, "max relative difference", d)
        if not d < 1e-4:
            sys.exit(f"{k}: {d}")
    if np.max(np.abs(f[0]["test_accuracy"][()] - g["test_accuracy"][()])) > 0.0101:
        sys.exit("accuracies differ")
    if (g["weights_agree"][()] != 1).any():
        sys.exit("a group's ranks ended with different weights")
print("agree")
PY
expect 0 "^learned" "the networks learn: every run trained, loss falls, accuracy above 70% for the wider nets, NNGP reference and correlations present" -- $PY - "$TMP/one2.h5" <<'PY'
import h5py, numpy as np, sys
g = h5py.File(sys.argv[1], "r")["/network"]
assert (g["status"][()] == 1).all() and (g["done"][()] == 1).all()
tl = g["train_loss"][()]
assert (tl[..., -1] < tl[..., 0]).all(), tl
acc = g["test_accuracy"][()]
print("accuracies", acc.ravel())
assert (acc[:, 1, :] > 0.7).all()
assert np.isfinite(g["gp_test_accuracy"][()]).all() and np.isfinite(g["variance_error_correlation"][()]).all()
assert g["prediction"].shape == (2, 2, 2, 100, 1)
for d in range(2):   # the prior of each depth is the depth's selected model
    f = h5py.File(sys.argv[1], "r")
    assert g["sigma_w2"][d] == f["/nngp/best/test_accuracy/sigma_w2"][d]
    assert g["sigma_b2"][d] == f["/nngp/best/test_accuracy/sigma_b2"][d]
print("learned")
PY

# --resume: finished runs are kept (a marker in one survives), unfinished ones are trained again
# and come out as before.
cp "$TMP/one2.h5" "$TMP/resume.h5"
$PY - "$TMP/resume.h5" <<'PY'
import h5py, sys
with h5py.File(sys.argv[1], "r+") as f:
    g = f["/network"]
    done = g["done"][()]; done[1, 1, :] = 0; g["done"][...] = done
    s = g["seconds"][()]; s[0, 0, 0] = 12345.0; g["seconds"][...] = s
    f.attrs["state"] = "interrupted"
PY
$PY tests/reseal.py "$TMP/resume.h5"
check "--resume of a file with two runs unfinished" -- mpirun -np 2 $NNSWEEP nngp --quiet "$TMP/one.ini" --out "$TMP/resume.h5" --resume
expect 0 "^resumed" "--resume kept the finished runs and retrained the others identically" -- $PY - "$TMP/resume.h5" "$TMP/one2.h5" <<'PY'
import h5py, numpy as np, sys
a, b = h5py.File(sys.argv[1], "r")["/network"], h5py.File(sys.argv[2], "r")["/network"]
assert a["seconds"][0, 0, 0] == 12345.0, "a finished run was trained again"
assert a["done"][()].all()
for k in ("train_loss", "test_loss", "prediction"):
    assert np.array_equal(a[k][()], b[k][()]), k
print("resumed")
PY

expect 0 "Trained networks against their GP.*" "report prints the networks' table" -- $NNSWEEP report "$TMP/one2.h5"
expect 0 "^ +1 +64 +0\.[0-9]+ +0\.[0-9]+ +2/2 +0\.[0-9]+ +[-+]0\.[0-9]+" "the table has depth, width, mean, sd, seeds, NNGP accuracy, correlation" -- $NNSWEEP report "$TMP/one2.h5"
mkdir -p "$TMP/png"
check "report --png draws the figures" -- $NNSWEEP report "$TMP/one2.h5" --png "$TMP/png"
check "the two network figures exist" -- test -s "$TMP/png/network-accuracy-width.png" -a -s "$TMP/png/network-error-variance.png"

# Bad [network] values: exit 2, the message names the file, line and key.
bad() {   # bad "KEY = VALUE" REGEX: the key replaced (on the group_size line)
  sed -e "/^${1%% *} = /d" -e "s/^group_size = .*/$1/" "$TMP/one.ini" > "$TMP/bad.ini"
  expect 2 "$2" "bad [network] '$1' exits 2 naming the key" -- $NNSWEEP nngp --quiet "$TMP/bad.ini" --out "$TMP/bad.h5"
}
bad "widths = 16, 0" "bad\.ini:[0-9]+: widths: value 0 must be >= 1"
bad "epochs = -1" "bad\.ini:[0-9]+: epochs: value -1 must be >= 1"
bad "optimizer = rmsprop" "bad\.ini:[0-9]+: optimizer: unknown value 'rmsprop'"
bad "seeds = 1.5" "bad\.ini:[0-9]+: seeds: value 1.5 is not an integer"
sed "s/^group_size = .*/group_size = 3/" "$TMP/one.ini" > "$TMP/bad.ini"
expect 2 "bad\.ini:[0-9]+: group_size: 3 does not divide the 2 MPI ranks" "a group size that does not divide the ranks exits 2" -- mpirun -np 2 $NNSWEEP nngp --quiet "$TMP/bad.ini" --out "$TMP/bad.h5"
