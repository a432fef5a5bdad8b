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

# The report reads a CNN file alone: one row per run with its final metrics (tests/test_report.sh checks the values).
expect 0 "CNN training: 2 of 2 run\(s\) finished" "report on a CNN file prints the per-run table" -- $NNSWEEP report "$TMP/variants.h5"

# 5. Checkpoint and resume. A run is checkpointed after every epoch to OUT.ckpt/<run>.h5 and, on
# SIGTERM/SIGUSR1, at the next training step; --resume continues it to the same bits as an
# uninterrupted run (bn statistics per rank, dropout, augmentation and Adam state all matter).
# The comparisons are exact; a resume that lost any of that state gives other weights (1 and 2
# ranks, whose dropout and augmentation streams differ, end 0.6 apart in some weights).
cp tests/jobs/cnn-resume.ini "$TMP/long.ini"   # the job text is what a resume compares
state() { $PY -c "import h5py,sys; print(h5py.File(sys.argv[1],'r').attrs['state'])" "$1"; }
# same_results A B: every dataset under /cnn equal bit for bit, except the timings.
same_results() {
  $PY - "$1" "$2" <<'PYEOF'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
names = []
a["/cnn"].visit(lambda n: names.append(n) if isinstance(a["/cnn"][n], h5py.Dataset) else None)
names = [n for n in names if n.split("/")[-1] not in ("seconds", "images_per_second")]
assert sorted(names) == sorted(n for n in names if "/cnn/" + n in b), "datasets missing in B"
for n in names:
    x, y = a["/cnn/" + n][()], b["/cnn/" + n][()]
    if x.shape != y.shape or not np.array_equal(x, y):
        print(n, "differs"); sys.exit(1)
print("identical:", len(names), "datasets")
PYEOF
}
# ckpt_epoch FILE: epochs finished in a checkpoint file (0 when absent or unreadable).
ckpt_epoch() { $PY -c "import h5py,sys; print(int(h5py.File(sys.argv[1],'r').attrs['epoch']))" "$1" 2>/dev/null || echo 0; }
# wait_ckpt FILE: waits (30 s at most) for a checkpoint with at least one epoch.
wait_ckpt() { for _ in $(seq 1 600); do [ "$(ckpt_epoch "$1")" -ge 1 ] && return 0; sleep 0.05; done; return 1; }

check "uninterrupted reference at 2 ranks" -- mpirun -np 2 $NNSWEEP cnn --quiet "$TMP/long.ini" --out "$TMP/ref2.h5"
check "uninterrupted reference at 1 rank" -- $NNSWEEP cnn --quiet "$TMP/long.ini" --out "$TMP/ref1.h5"
if [ -e "$TMP/ref2.h5.ckpt" ]; then not_ok "a finished job leaves no checkpoint directory"; else ok "a finished job leaves no checkpoint directory"; fi

# (a) kill -9 of mpirun once a checkpoint exists, then --resume.
mpirun -np 2 $NNSWEEP cnn --quiet "$TMP/long.ini" --out "$TMP/killed.h5" >/dev/null 2>&1 &
pid=$!
wait_ckpt "$TMP/killed.h5.ckpt/base.h5"
kill -9 $pid; wait $pid 2>/dev/null
pkill -9 -f "cnn --quiet $TMP/long.ini --out $TMP/killed.h5" 2>/dev/null
at=$(ckpt_epoch "$TMP/killed.h5.ckpt/base.h5")
if [ "$at" -ge 1 ] && [ "$at" -lt 20 ]; then ok "killed partway (checkpoint after epoch $at of 20)"; else not_ok "kill came at epoch $at of 20"; fi
expect 0 "^running$" "the killed job's results file is valid, state running" -- state "$TMP/killed.h5"
echo "half-written" > "$TMP/killed.h5.ckpt/base.h5.tmp.99999"   # as if killed inside a write
expect 0 "continuing from its checkpoint at epoch" "--resume after kill -9 continues the run from its checkpoint" -- \
  mpirun -np 2 $NNSWEEP cnn "$TMP/long.ini" --out "$TMP/killed.h5" --resume
check "resumed after kill -9: weights, bn buffers, curves, confusion equal the uninterrupted run" -- \
  same_results "$TMP/ref2.h5" "$TMP/killed.h5"
expect 0 "^complete$" "the resumed file has state complete" -- state "$TMP/killed.h5"
if [ -e "$TMP/killed.h5.ckpt" ]; then not_ok "checkpoint directory removed after the resumed job"; else ok "checkpoint directory (and the stale temporary file) removed after the resumed job"; fi

# (b) Signals mid-run: SIGTERM to the ranks at 2 ranks, SIGUSR1 to mpirun (which forwards it) at
# 1 rank: exit 75, state interrupted, a checkpoint; --resume finishes with identical results.
interrupt() {   # interrupt NP SIGNAL TARGET OUT: TARGET is "ranks" or "mpirun"
  mpirun -np "$1" $NNSWEEP cnn --quiet "$TMP/long.ini" --out "$4" >"$TMP/sig.log" 2>&1 &
  local pid=$! status
  wait_ckpt "$4.ckpt/base.h5"
  if [ "$3" = ranks ]; then pkill "-$2" -f "^$NNSWEEP cnn --quiet $TMP/long.ini --out $4"; else kill "-$2" $pid; fi
  wait $pid; status=$?
  if [ $status -eq 75 ] && grep -q "run base stopped at epoch" "$TMP/sig.log"; then
    ok "$2 to $3 at $1 rank(s): exit status 75, run stopped at a step ($(grep -o 'epoch [0-9]*, batch [0-9]* of [0-9]*' "$TMP/sig.log"))"
  else
    not_ok "$2 to $3 at $1 rank(s): exit status $status"; sed 's/^/#   /' "$TMP/sig.log" | head -20
  fi
  expect 0 "^interrupted$" "after $2 the file has state interrupted" -- state "$4"
  if [ -e "$4.ckpt/base.h5" ]; then ok "after $2 the run's checkpoint exists"; else not_ok "after $2 no checkpoint"; fi
}
interrupt 2 TERM ranks "$TMP/term.h5"
interrupt 1 USR1 mpirun "$TMP/usr1.h5"
expect 0 "interrupted" "report on an interrupted CNN file says so" -- $NNSWEEP report "$TMP/term.h5"

# (c) resume with another job file is refused and touches nothing.
sed 's/^seed = 7/seed = 8/' "$TMP/long.ini" > "$TMP/other.ini"
expect 2 "different job file" "resume with a different job file exits 2" -- \
  $NNSWEEP cnn --quiet "$TMP/other.ini" --out "$TMP/term.h5" --resume
if [ -e "$TMP/term.h5.ckpt/base.h5" ]; then ok "the refused resume kept the checkpoint"; else not_ok "the refused resume removed the checkpoint"; fi

# A checkpoint of a 2-rank group is not continued by 1 rank (per-rank state and random streams
# belong to the layout): a warning, and that run starts again, giving the 1-rank result.
cp "$TMP/term.h5" "$TMP/regroup.h5" && cp -r "$TMP/term.h5.ckpt" "$TMP/regroup.h5.ckpt"
expect 0 "group_size 2, this run has 1.*starts from the beginning" \
  "a checkpoint of another group size: warning, the run restarts" -- \
  $NNSWEEP cnn --quiet "$TMP/long.ini" --out "$TMP/regroup.h5" --resume
check "... and gives the 1-rank uninterrupted result" -- same_results "$TMP/ref1.h5" "$TMP/regroup.h5"

# A damaged checkpoint whose position lies outside the run (found by tests/fuzz/fuzz_results.c:
# the trainer indexed its curves with epoch -1) is refused, naming the file: exit 2.
cp "$TMP/term.h5" "$TMP/badpos.h5" && cp -r "$TMP/term.h5.ckpt" "$TMP/badpos.h5.ckpt"
$PY -c "import h5py,sys; h5py.File(sys.argv[1],'r+').attrs['epoch'] = -1" "$TMP/badpos.h5.ckpt/base.h5"
$PY tests/reseal.py "$TMP/badpos.h5.ckpt/base.h5"   # damaged in content only: past the seal
expect 2 "badpos.h5.ckpt/base.h5: position epoch -1, batch [0-9]+.* is not inside a run of 20 epochs" \
  "a checkpoint at epoch -1 is refused (exit 2), naming the file" -- \
  mpirun -np 2 $NNSWEEP cnn --quiet "$TMP/long.ini" --out "$TMP/badpos.h5" --resume

check "--resume after SIGTERM completes" -- mpirun -np 2 $NNSWEEP cnn --quiet "$TMP/long.ini" --out "$TMP/term.h5" --resume
check "resumed after SIGTERM: identical to the uninterrupted run (2 ranks)" -- same_results "$TMP/ref2.h5" "$TMP/term.h5"
check "--resume after SIGUSR1 completes" -- $NNSWEEP cnn --quiet "$TMP/long.ini" --out "$TMP/usr1.h5" --resume
check "resumed after SIGUSR1: identical to the uninterrupted run (1 rank)" -- same_results "$TMP/ref1.h5" "$TMP/usr1.h5"
expect 0 "^complete$" "the resumed file has state complete" -- state "$TMP/usr1.h5"

# (d) --resume without a file starts from the beginning.
check "--resume without a file runs the job from the beginning" -- \
  mpirun -np 2 $NNSWEEP cnn --quiet "$TMP/variants.ini" --out "$TMP/fresh.h5" --resume
check "... and gives the results of a plain run" -- same_results "$TMP/variants.h5" "$TMP/fresh.h5"

# (e) Three variants one after another (1 rank): interrupted once the first is recorded, the
# resume trains only the unfinished ones; the first is reloaded from the file as it was.
sed -e 's/^epochs = 20/epochs = 6/' -e '$a group_size = 1' "$TMP/long.ini" > "$TMP/three.ini"
printf '[variant a]\n[variant b]\nseed = 8\n[variant c]\nseed = 9\n' >> "$TMP/three.ini"
run_done() { $PY -c "import h5py,sys; print(''.join(str(x) for x in h5py.File(sys.argv[1],'r')['/cnn/run_done'][()]))" "$1" 2>/dev/null; }
seconds_of() { $PY -c "import h5py,sys; print(repr(h5py.File(sys.argv[1],'r')['/cnn/a'].attrs['seconds']))" "$1"; }
check "uninterrupted three-variant job" -- $NNSWEEP cnn --quiet "$TMP/three.ini" --out "$TMP/three-ref.h5"
$NNSWEEP cnn --quiet "$TMP/three.ini" --out "$TMP/three.h5" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 600); do [ "$(run_done "$TMP/three.h5")" = 100 ] && break; sleep 0.05; done
kill -TERM $pid; wait $pid; status=$?
done_at=$(run_done "$TMP/three.h5")
if [ $status -eq 75 ] && [ "$done_at" = 100 ]; then ok "variants job interrupted after its first run (run_done $done_at)"; else not_ok "variants job: exit $status, run_done '$done_at'"; fi
a_seconds=$(seconds_of "$TMP/three.h5")
$NNSWEEP cnn "$TMP/three.ini" --out "$TMP/three.h5" --resume >"$TMP/three.log" 2>&1
status=$?
if [ $status -eq 0 ] && ! grep -q "\] a epoch" "$TMP/three.log" && grep -q "\] c epoch 1/6" "$TMP/three.log"; then
  ok "the resume trains only the unfinished runs (b, c), not a"
else
  not_ok "resume of the variants job (exit $status)"; sed 's/^/#   /' "$TMP/three.log" | head -20
fi
expect 0 "^$a_seconds\$" "the finished run is reloaded from the file unchanged" -- seconds_of "$TMP/three.h5"
check "the resumed variants job equals the uninterrupted one" -- same_results "$TMP/three-ref.h5" "$TMP/three.h5"

# 6. --bench STEPS: the first run trained on all ranks for STEPS timed steps on synthetic data;
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

# 7. jobs/cnn-cifar10.ini parses, builds its net and trains one epoch on 200 fake records in the
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
expect 0 "CNN training: 1 of 1 run\(s\) finished" "jobs/cnn-cifar10.ini trains 1 epoch on 200 fake CIFAR-10 records (2 ranks)" -- mpirun -np 2 $NNSWEEP cnn "$TMP/cifar10.ini"
