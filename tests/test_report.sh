# test_report.sh - `nnsweep report`: the tables in each format (NNGP and CNN files; CNN values
# checked against what h5py reads), the figures of --png (valid PNG files of the documented size
# with real content, read back by an independent decoder), bad --png directories, interrupted
# NNGP and CNN files, and the README's h5py example on both kinds of file.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
PY=/usr/bin/python3   # Debian's python3 with python3-h5py

# A PNG checker that needs no imaging library (tests/pngread.py decodes with zlib and numpy):
# counts distinct colours and colourful pixels. Prints what it found; exits 1 if any check fails.
cat > "$TMP/pngcheck.py" <<'PY'
import sys
import numpy as np
sys.path.insert(0, "tests")
from pngread import read_png
path, min_w, min_h, min_colours, min_colourful = sys.argv[1], *map(int, sys.argv[2:6])
try:
    w, h, _, img, size = read_png(path)
except ValueError as e:
    sys.exit(str(e))
px = img.reshape(-1, 3).astype(np.int64)
colours = len(np.unique(px[:, 0] << 16 | px[:, 1] << 8 | px[:, 2]))
colourful = int(np.count_nonzero(px.max(axis=1) - px.min(axis=1) > 60))
print(f"{path}: {w} x {h} px, {colours} colours, {colourful} colourful pixels, {size} bytes")
if w < min_w or h < min_h or w > 2400 or h > 2400:
    sys.exit(f"{path}: size {w} x {h} outside [{min_w}, 2400] x [{min_h}, 2400]")
if colours < min_colours or colourful < min_colourful:
    sys.exit(f"{path}: too plain ({colours} colours, {colourful} colourful pixels)")
PY
# png_ok DESCRIPTION FILE MIN_W MIN_H MIN_COLOURS MIN_COLOURFUL_PIXELS
png_ok() { check "$1" -- $PY "$TMP/pngcheck.py" "${@:2}"; }

# ---- tables of a fresh small run (6 depths x 3 x 3, with a validation split) ----
$NNSWEEP nngp --quiet tests/jobs/nngp-small.ini --out "$TMP/small.h5" >/dev/null 2>&1
check "small NNGP run for the report" -- test -f "$TMP/small.h5"
expect 0 "state complete" "report text names the state" -- $NNSWEEP report "$TMP/small.h5"
expect 0 "selected by highest validation accuracy" "report text has every selection rule" -- $NNSWEEP report "$TMP/small.h5"
expect 0 "^\| depth +\| sigma_w2" "report --format markdown prints markdown tables" -- $NNSWEEP report "$TMP/small.h5" --format markdown
expect 0 "^depth,sigma_w2,sigma_b2,test_acc" "report --format csv prints CSV" -- $NNSWEEP report "$TMP/small.h5" --format csv

# ---- figures ----
expect 0 "nngp-accuracy-heatmaps.png" "report --png lists the figures" -- $NNSWEEP report "$TMP/small.h5" --png "$TMP/png/new/dir"
for f in accuracy-depth accuracy-heatmaps uncertain-examples time-per-phase; do
  check "--png wrote nngp-$f.png" -- test -s "$TMP/png/new/dir/nngp-$f.png"
done
# The viridis heatmaps and coloured curves have many colours; grey images and bars fewer.
png_ok "accuracy against depth: valid PNG, 900 x 600, coloured curves" "$TMP/png/new/dir/nngp-accuracy-depth.png" 900 600 200 2000
png_ok "accuracy heatmaps: valid PNG, >= 900 x 500, colour map" "$TMP/png/new/dir/nngp-accuracy-heatmaps.png" 900 500 300 100000
png_ok "uncertain examples: valid PNG, >= 900 x 600, images and text" "$TMP/png/new/dir/nngp-uncertain-examples.png" 900 600 150 0
png_ok "time per phase: valid PNG, 900 wide, bars and text" "$TMP/png/new/dir/nngp-time-per-phase.png" 900 350 100 10000
expect 0 "figure: .*nngp-accuracy-depth.png" "report --format csv --png lists figures as comments" -- $NNSWEEP report "$TMP/small.h5" --format csv --png "$TMP/png/csv"

# ---- bad --png directories: exit 2 with a message, before anything is read ----
echo "a file" > "$TMP/plainfile"
expect 2 "cannot create directory '$TMP/plainfile/sub'" "--png below a regular file exits 2" -- $NNSWEEP report "$TMP/small.h5" --png "$TMP/plainfile/sub"
expect 2 "not a directory" "--png naming a regular file exits 2" -- $NNSWEEP report "$TMP/small.h5" --png "$TMP/plainfile"
expect 2 "cannot create directory '/proc/nnsweep-figures'" "--png in an unwritable place exits 2" -- $NNSWEEP report "$TMP/small.h5" --png /proc/nnsweep-figures
expect 2 "usage: nnsweep report" "--png without a directory exits 2" -- $NNSWEEP report "$TMP/small.h5" --png
/usr/bin/python3 -c "import h5py,sys; h5py.File(sys.argv[1],'w').create_dataset('x', data=[1,2])" "$TMP/other.h5"
expect 2 "not an nnsweep results file" "report --png on a foreign HDF5 file exits 2" -- $NNSWEEP report "$TMP/other.h5" --png "$TMP/png/other"
check "no figure is written for a foreign file" -- test -z "$(ls -A "$TMP/png/other")"

# ---- an interrupted file: the demo job stopped by SIGUSR1 after its first checkpoints ----
$NNSWEEP nngp --quiet jobs/nngp-fashion-binary.ini --out "$TMP/intr.h5" >"$TMP/intr.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -f "$TMP/intr.h5" ] && break; sleep 0.2; done
sleep 1
kill -USR1 "$pid"
wait "$pid"
rc=$?
if [ "$rc" -eq 75 ]; then ok "demo job interrupted by SIGUSR1 exits 75"; else not_ok "demo job interrupted by SIGUSR1 exits 75 (exit $rc)"; fi
expect 0 "state interrupted" "report on an interrupted file says so" -- $NNSWEEP report "$TMP/intr.h5" --png "$TMP/png/intr"
expect 0 "nngp-uncertain-examples.png +not drawn: the posterior" "report --png on an interrupted file says which figure it cannot draw yet" -- $NNSWEEP report "$TMP/intr.h5" --png "$TMP/png/intr"
png_ok "interrupted file: accuracy against depth is drawn" "$TMP/png/intr/nngp-accuracy-depth.png" 900 600 100 500
png_ok "interrupted file: heatmaps are drawn" "$TMP/png/intr/nngp-accuracy-heatmaps.png" 900 500 100 1000
png_ok "interrupted file: time per phase is drawn" "$TMP/png/intr/nngp-time-per-phase.png" 900 350 50 1000

# ---- CIFAR-10 layout (3 channels, class names): synthetic coloured images in the binary format ----
mkdir -p "$TMP/cifar"
$PY - "$TMP/cifar" <<'PY'
import os, sys
d = sys.argv[1]
def record(i):
    label, out = i % 10, bytearray([i % 10])
    for ch in range(3):   # channel-major like CIFAR-10: a colour gradient that depends on the class
        for y in range(32):
            out += bytes((x * 8 if ch == label % 3 else y * 8 if ch == (label + 1) % 3 else (i * 37) % 256) for x in range(32))
    return out
for name in [f"data_batch_{b}.bin" for b in range(1, 6)] + ["test_batch.bin"]:
    with open(os.path.join(d, name), "wb") as f:
        for i in range(40):
            f.write(record(i))
PY
printf '%s\n' "[data]" "dataset = cifar10" "path = $TMP/cifar" "classes = 0, 1, 2" "train = 30" \
  "test = 12" "[nngp]" "depth = 1:3" "sigma_w2 = 1, 2" "sigma_b2 = 0, 0.5" > "$TMP/cifar.ini"
$NNSWEEP nngp --quiet "$TMP/cifar.ini" --out "$TMP/cifar.h5" >/dev/null 2>&1
expect 0 "nngp-uncertain-examples.png" "report --png on a CIFAR-10 file" -- $NNSWEEP report "$TMP/cifar.h5" --png "$TMP/png/cifar"
png_ok "CIFAR-10 examples are drawn in colour" "$TMP/png/cifar/nngp-uncertain-examples.png" 900 600 500 20000

# ---- a CNN file: three variants of a small network, 3 epochs each ----
cat > "$TMP/cnn.ini" <<'INI'
[data]
dataset = fashion-mnist
classes = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9
train = 400
test = 200
[cnn]
layers = conv(4,3,pad=1) bn relu maxpool(2) flatten dense(16) relu dense(10)
epochs = 3
batch_size = 50
learning_rate = 0.05
[variant bn]
[variant bn_dropout]
layers = conv(4,3,pad=1) bn relu maxpool(2) flatten dense(16) relu dropout(0.3) dense(10)
[variant no_bn_adam]
layers = conv(4,3,pad=1) relu maxpool(2) flatten dense(16) relu dense(10)
optimizer = adam
learning_rate = 0.002
INI
$NNSWEEP cnn --quiet "$TMP/cnn.ini" --out "$TMP/cnn.h5" >/dev/null 2>&1
check "small CNN variants run for the report" -- test -f "$TMP/cnn.h5"

# The three tables in every format, parsed back and compared with the values h5py reads from the
# file (4 decimals printed, so agreement to 5e-5). The expected settings that differ are the
# job's: layers, optimizer, learning_rate; layers as tokens removed/added relative to run bn.
cat > "$TMP/cnncheck.py" <<'PY'
import csv, io, re, subprocess, sys
import h5py, numpy as np
sys.path.insert(0, "tests")
from report_tables import tables
nnsweep, path, fmt = sys.argv[1:4]
out = subprocess.run([nnsweep, "report", path, "--format", fmt], capture_output=True, text=True,
                     check=True).stdout
f = h5py.File(path, "r")
runs = f["/cnn/runs"].asstr()[()]
done = f["/cnn/run_done"][()]

t = tables(out, fmt, "run")
if len(t) != 3:
    sys.exit(f"{fmt}: expected 3 tables, found {len(t)}:\n{out}")
metrics, noise, compare = t
want_heads = [
    ["run", "epochs", "train_loss", "train_acc", "test_loss", "test_acc", "best_test_acc", "best_epoch"],
    ["run", "noise_acc(0.05)", "noise_acc(0.01)", "noise_acc(0.005)", "params", "MB", "seconds", "images/s"],
    ["run", "layers", "optimizer", "learning_rate", "test_acc", "vs_best", "vs_first"]]
if fmt == "csv":
    heads = [next(csv.reader([l])) for l in out.splitlines() if l.startswith("run,")]
elif fmt == "markdown":
    heads = [[c.strip() for c in l.strip("|").split("|")] for l in out.splitlines() if l.startswith("| run ")]
else:
    heads = [l.split() for l in out.splitlines() if re.match(r"^ *run  ", l)]
if heads != want_heads:
    sys.exit(f"{fmt}: headings {heads}, expected {want_heads}")
bad = []
def close(label, got, want, tol=5e-5):
    if got == "-" or abs(float(got) - want) > tol:
        bad.append(f"{label}: printed {got}, file {want}")
final = {}
for i, name in enumerate(runs):
    m = next(r for r in metrics if r[0] == name)
    if not done[i]:
        if "not finished" not in " ".join(m[1:]):
            bad.append(f"{name}: unfinished run not marked: {m}")
        continue
    g = f["/cnn/" + name]
    ta = g["test_accuracy"][()]
    final[name] = ta[-1]
    if int(m[1]) != len(ta):
        bad.append(f"{name}: epochs {m[1]}, file {len(ta)}")
    for col, key in ((2, "train_loss"), (3, "train_accuracy"), (4, "test_loss"), (5, "test_accuracy")):
        close(f"{name} {key}", m[col], g[key][-1])
    close(f"{name} best_test_acc", m[6], ta.max())
    if int(m[7]) != int(np.argmax(ta)) + 1:
        bad.append(f"{name}: best_epoch {m[7]}, file {np.argmax(ta) + 1}")
    n = next(r for r in noise if r[0] == name)
    for k in range(3):
        close(f"{name} noise {k}", n[1 + k], g["noise_accuracy"][k])
    if int(n[4]) != g.attrs["nparams"]:
        bad.append(f"{name}: params {n[4]}, file {g.attrs['nparams']}")
    close(f"{name} images/s", n[7], g["images_per_second"][()].mean(), 0.5)
best, first = max(final.values()), final.get(runs[0])
layers_want = {"bn": "reference", "bn_dropout": "+dropout(0.3)", "no_bn_adam": "-bn"}
for r in compare:
    name = r[0]
    if r[1] != layers_want.get(name, "?"):
        bad.append(f"{name}: layers cell {r[1]!r}, expected {layers_want.get(name)!r}")
    if name in final:
        close(f"{name} vs_best", r[5], final[name] - best)
        close(f"{name} vs_first", r[6], final[name] - first)
want_opt = {"bn": ("momentum", "0.05"), "bn_dropout": ("momentum", "0.05"), "no_bn_adam": ("adam", "0.002")}
for r in compare:
    if (r[2], r[3]) != want_opt[r[0]]:
        bad.append(f"{r[0]}: optimizer/learning_rate {r[2:4]}, expected {want_opt[r[0]]}")
print("\n".join(bad) or f"{fmt}: {len(runs)} runs, every printed value matches the file")
sys.exit(1 if bad else 0)
PY
for fmt in text markdown csv; do
  check "CNN report --format $fmt: metrics, noise/cost and comparison tables match the file" -- $PY "$TMP/cnncheck.py" "$NNSWEEP" "$TMP/cnn.h5" $fmt
done
expect 0 "CNN training: 3 of 3 run\(s\) finished" "CNN report says how many runs finished" -- $NNSWEEP report "$TMP/cnn.h5"
expect 0 "layers: tokens removed \(-\) and added \(\+\) relative to bn, whose layers are: conv\(4,3,pad=1\) bn relu" "CNN report names the reference layers" -- $NNSWEEP report "$TMP/cnn.h5"
expect 0 '^bn_dropout,"?\+dropout\(0.3\)"?,momentum,0.05,' "CNN comparison in CSV" -- $NNSWEEP report "$TMP/cnn.h5" --format csv

# Figures of the CNN file: curves, one confusion matrix per run, noise accuracy.
expect 0 "cnn-confusion-bn_dropout.png" "report --png on a CNN file lists its figures" -- $NNSWEEP report "$TMP/cnn.h5" --png "$TMP/png/cnn"
png_ok "CNN loss curves: valid PNG, 1000 x 620, coloured curves" "$TMP/png/cnn/cnn-loss-curves.png" 1000 620 200 3000
png_ok "CNN accuracy curves: valid PNG, 1000 x 620, coloured curves" "$TMP/png/cnn/cnn-accuracy-curves.png" 1000 620 200 3000
for run in bn bn_dropout no_bn_adam; do
  png_ok "CNN confusion matrix of $run: valid PNG, colour map" "$TMP/png/cnn/cnn-confusion-$run.png" 900 700 300 100000
done
png_ok "CNN noise accuracy: valid PNG, 1000 wide, markers" "$TMP/png/cnn/cnn-noise-accuracy.png" 1000 300 100 500
check "no other figure is written for a CNN file" -- test "$(ls "$TMP/png/cnn" | wc -l)" -eq 7

# filters.png: every pixel of every filter square equals the weight read with h5py on the
# figure's scale, byte = floor(255 (v/m + 1)/2 + 0.5), m = max |w| of the run's first conv layer
# (the layout documented above fig_filters in src/report/figures_cnn.c: panels from y = 66 + 8,
# 44 px of text, rows of 16 squares of k*s px, s = 48 // k, 6 px apart, from x = 20). Colour
# (R, G, B = input channels 1, 2, 3) for 3 input channels, grey for 1, the grey mean for others.
cat > "$TMP/filtercheck.py" <<'PY'
import re, sys
import h5py, numpy as np
sys.path.insert(0, "tests")
from pngread import read_png
png, path, want_runs = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
f = h5py.File(path, "r")
w_png, h_png, _, img, _ = read_png(png)
y, width, drawn = 66 + 8, 900, []
for run in f["/cnn/runs"].asstr()[()]:
    first = f["/cnn/" + run].attrs["layers"]
    first = first.decode() if isinstance(first, bytes) else first
    m = re.match(r"conv\((\d+),(\d+)", first.split()[0])
    if not m:
        continue   # no conv layer first (the test jobs have it first or not at all)
    n, k = int(m.group(1)), int(m.group(2))
    wts = f[f"/cnn/{run}/weights"][()].astype(np.float64)
    job = f.attrs["job_text"]
    m = re.search(r"channels = (\d+)", job.decode() if isinstance(job, bytes) else job)
    cin = int(m.group(1)) if m else 1
    w = wts[: n * cin * k * k].reshape(n, cin, k, k)   # (n, in_c, k, k) starts the block
    mx = np.abs(w).max()
    shown = w if cin == 3 else sum(w[:, d:d + 1] for d in range(cin)) / cin   # grey: the mean
    byte = np.floor(255 * ((shown / mx + 1) / 2) + 0.5).astype(np.int64)
    s = max(1, 48 // k)
    cell = k * s
    for fi in range(n):
        x0, y0 = 20 + (fi % 16) * (cell + 6), y + 44 + (fi // 16) * (cell + 6)
        got = img[y0:y0 + cell, x0:x0 + cell].astype(np.int64)
        want = np.repeat(np.repeat(np.moveaxis(byte[fi], 0, -1), s, 0), s, 1)
        want = np.broadcast_to(want, (cell, cell, 3))
        if got.shape != want.shape or (got != want).any():
            sys.exit(f"{run} filter {fi} at ({x0}, {y0}): pixels differ from the weights, "
                     f"max |diff| {np.abs(got - want).max() if got.shape == want.shape else 'shape'}")
    rows = (n + 15) // 16
    y += 44 + rows * (cell + 6) - 6 + 20
    width = max(width, 40 + min(n, 16) * (cell + 6) - 6)
    drawn.append(run)
if drawn != want_runs:
    sys.exit(f"panels of runs {drawn}, expected {want_runs}")
if (w_png, h_png) != (width, y + 48):
    sys.exit(f"size {w_png} x {h_png}, expected {width} x {y + 48}")
print(f"{png}: {w_png} x {h_png}, every filter pixel of runs {drawn} matches the weights")
PY
check "filters.png: grey filters of the Fashion-MNIST runs match the weights" -- $PY "$TMP/filtercheck.py" "$TMP/png/cnn/filters.png" "$TMP/cnn.h5" bn,bn_dropout,no_bn_adam
cat > "$TMP/rgb.ini" <<'INI'
[data]
dataset = synthetic
channels = 3
height = 6
width = 10
classes = 0, 1, 2
train = 48
test = 24
[cnn]
layers = conv(5,3,pad=1) relu flatten dense(3)
epochs = 1
batch_size = 20
learning_rate = 0.05
[variant small]
[variant wide]
layers = conv(20,5,pad=2) relu flatten dense(3)
[variant dense_only]
layers = flatten dense(3)
INI
$NNSWEEP cnn --quiet "$TMP/rgb.ini" --out "$TMP/rgb.h5" >/dev/null 2>&1
expect 0 "filters.png \(run dense_only\) +not drawn: run dense_only: no convolution layer" "filters.png lists a run without a conv layer as skipped" -- $NNSWEEP report "$TMP/rgb.h5" --png "$TMP/png/rgb"
check "filters.png: colour filters (3 input channels, 20 in two rows) match the weights" -- $PY "$TMP/filtercheck.py" "$TMP/png/rgb/filters.png" "$TMP/rgb.h5" small,wide
sed -e 's/^channels = 3/channels = 2/' -e '/^\[variant/,$d' "$TMP/rgb.ini" > "$TMP/two.ini"
$NNSWEEP cnn --quiet "$TMP/two.ini" --out "$TMP/two.h5" >/dev/null 2>&1
expect 0 "filters.png +the first convolution layer" "report --png on a 2-channel CNN file draws filters.png" -- $NNSWEEP report "$TMP/two.h5" --png "$TMP/png/two"
check "filters.png: 2 input channels drawn as their grey mean, matching the weights" -- $PY "$TMP/filtercheck.py" "$TMP/png/two/filters.png" "$TMP/two.h5" base

# An interrupted CNN file: the state attribute set to interrupted and the last run taken out, as
# the writer leaves it when a signal arrives between runs.
cp "$TMP/cnn.h5" "$TMP/cnn-intr.h5"
$PY - "$TMP/cnn-intr.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    f.attrs["state"] = "interrupted"
    f["/cnn/run_done"][2] = 0
    del f["/cnn/no_bn_adam"]
PY
$PY tests/reseal.py "$TMP/cnn-intr.h5"
expect 0 "state interrupted" "CNN report on an interrupted file says so" -- $NNSWEEP report "$TMP/cnn-intr.h5"
expect 0 "This file is incomplete \(interrupted\)" "CNN report on an interrupted file says it is incomplete" -- $NNSWEEP report "$TMP/cnn-intr.h5"
expect 0 "CNN training: 2 of 3 run\(s\) finished" "CNN report on an interrupted file counts the finished runs" -- $NNSWEEP report "$TMP/cnn-intr.h5"
expect 0 "no_bn_adam +not finished" "CNN report lists the unfinished run as such" -- $NNSWEEP report "$TMP/cnn-intr.h5"
for fmt in text markdown csv; do
  check "interrupted CNN report --format $fmt: printed values match the file" -- $PY "$TMP/cnncheck.py" "$NNSWEEP" "$TMP/cnn-intr.h5" $fmt
done
expect 0 "cnn-confusion-bn.png" "report --png on an interrupted CNN file draws what it holds" -- $NNSWEEP report "$TMP/cnn-intr.h5" --png "$TMP/png/cnn-intr"
check "no confusion matrix for the unfinished run" -- test ! -e "$TMP/png/cnn-intr/cnn-confusion-no_bn_adam.png"
png_ok "interrupted CNN file: loss curves are drawn" "$TMP/png/cnn-intr/cnn-loss-curves.png" 1000 620 150 2000

# ---- the README's h5py example ----
expect 0 "dimension sigma_w2: scale /nngp/sigma_w2 = \[1.0, 2.0, 3.0\]" "h5py example prints the sigma_w2 scale" -- $PY docs/h5py-example.py "$TMP/small.h5"
expect 0 "dimension depth: scale /nngp/depth = \[1, 2, 3, 4, 5, 6\]" "h5py example prints the depth scale" -- $PY docs/h5py-example.py "$TMP/small.h5"
expect 0 "most uncertain test example at depth 1: class [06], .*image \(28, 28, 1\)" "h5py example reads an image and maps its label" -- $PY docs/h5py-example.py "$TMP/small.h5"
expect 0 "run bn_dropout: 3 epochs, layers conv\(4,3,pad=1\) bn relu maxpool\(2\) flatten dense\(16\) relu dropout\(0.3\) dense\(10\), final train loss" "h5py example reads a CNN run's curves" -- $PY docs/h5py-example.py "$TMP/cnn.h5"
check "h5py example's CNN numbers are the file's" -- sh -c "$PY docs/h5py-example.py '$TMP/cnn.h5' | grep -F \"test accuracy \$($PY -c \"import h5py; print('%.4f' % h5py.File('$TMP/cnn.h5')['/cnn/bn/test_accuracy'][-1])\")\""
expect 0 "run no_bn_adam: not finished" "h5py example on an interrupted CNN file" -- $PY docs/h5py-example.py "$TMP/cnn-intr.h5"

# The README shows part of docs/h5py-example.py: every line of its python block must be in the script.
readme_block_in_script() {
  $PY - README.md docs/h5py-example.py <<'PY'
import re, sys
readme, script = open(sys.argv[1]).read(), open(sys.argv[2]).read()
at = readme.find("docs/h5py-example.py")
m = re.search(r"```python\n(.*?)```", readme[at:], re.S) if at >= 0 else None
if not m:
    sys.exit("README.md has no python block after its mention of docs/h5py-example.py")
lines = {l.strip() for l in script.splitlines()}
missing = [l for l in m.group(1).splitlines() if l.strip() and l.strip() not in lines]
print("\n".join(f"not in the script: {l}" for l in missing) or "README python block matches the script")
sys.exit(1 if missing else 0)
PY
}
if grep -q "docs/h5py-example.py" README.md; then
  check "the README's h5py snippet is part of docs/h5py-example.py" -- readme_block_in_script
else
  ok "the README's h5py snippet is part of docs/h5py-example.py # SKIP README has no h5py section yet"
fi
