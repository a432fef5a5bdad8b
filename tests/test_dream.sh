# test_dream.sh - `nnsweep dream` (issue 18) end to end on a small CNN trained here (synthetic
# 1x16x16 data, conv bn relu maxpool conv relu, then dense): every (layer set, steps) item's
# objective rises (last step above the first), the dreams are bit-identical on 1 and 2 ranks
# with the same seed, a set's run records its smaller step counts on the way (the 3-step dream
# equals the first 3 steps of the 8-step one, objectives included), octaves give one item per
# pair, test:INDEX and noise images, layers by name and position, the file layout and the
# PNGs, --resume of a finished file, and the errors: an unknown layer, a layer after the first
# dense one, an unreadable PNG, a file that is no model, a missing key.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
PY=/usr/bin/python3
H5CMP="$PY tests/h5compare.py"

cat > "$TMP/train.ini" <<'INI'
[data]
dataset = synthetic
channels = 1
height = 16
width = 16
classes = 0, 1
train = 128
test = 32
[cnn]
layers = conv(4,3,pad=1) bn relu maxpool(2) conv(6,3,pad=1) relu flatten dense(2)
epochs = 2
batch_size = 32
learning_rate = 0.05
seed = 3
INI
check "a small CNN to dream with trains" -- $NNSWEEP cnn --quiet "$TMP/train.ini" --out "$TMP/model.h5"

# a 40 x 30 colour PNG (the model has one channel: converted to grey): a crop of the 64 x 64
# scene of scripts/make_dream_image.py, written by its encoder
$PY - "$TMP/photo.png" <<'PY'
import sys
sys.path.insert(0, "scripts")
from make_dream_image import png_bytes, scene
open(sys.argv[1], "wb").write(png_bytes(scene(64)[:30, :40]))
PY

dream_job() {   # dream_job FILE IMAGE LAYERS [extra lines...]
  local f=$1 image=$2 layers=$3
  shift 3
  { printf '[data]\ndataset = synthetic\nchannels = 1\nheight = 16\nwidth = 16\nclasses = 0, 1\n'
    printf 'train = 128\ntest = 32\n[dream]\nmodel = %s\nimage = %s\nlayers = %s\n' \
      "$TMP/model.h5" "$image" "$layers"
    printf 'steps = 3, 8\nlearning_rate = 0.02\njitter = 2\nseed = 5\n'
    for line in "$@"; do printf '%s\n' "$line"; done; } > "$f"
}
dream_job "$TMP/dream.ini" "$TMP/photo.png" "relu1, 5, relu1+relu2, conv2+maxpool1"
expect 0 "4 layer set\(s\) x 2 step count\(s\), 1 octave\(s\): 4 item\(s\) \(one per layer set" \
  "plan lists the dream's items" -- $NNSWEEP plan "$TMP/dream.ini" --ranks 2
check "dream on 1 rank" -- $NNSWEEP dream --quiet "$TMP/dream.ini" --out "$TMP/d1.h5"
check "dream on 2 ranks" -- mpirun -np 2 $NNSWEEP dream --quiet "$TMP/dream.ini" --out "$TMP/d2.h5"
check "1 and 2 ranks give bit-identical dreams" -- $H5CMP --all "$TMP/d1.h5" "$TMP/d2.h5"

# the layout, the objectives and the recorded step counts
check_layout() {   # check_layout FILE OCTAVES
  $PY - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r"); octaves = int(sys.argv[2])
assert f.attrs["experiment"] == "dream" and f.attrs["state"] == "complete", dict(f.attrs)
sets = [s.decode() if isinstance(s, bytes) else s for s in f["/dream/layer_sets"][()]]
steps = list(f["/dream/steps"][()])
assert sets == ["relu1", "conv2", "relu1+relu2", "conv2+maxpool1"], sets
assert steps == [3, 8], steps
x0 = f["/dream/input"][()]
assert x0.shape == (30, 40, 1) and 0 <= x0.min() and x0.max() <= 1, x0.shape
for s in sets:
    for n in steps:
        g = f[f"/dream/{s}/steps_{n}"]
        img, obj = g["image"][()], g["objective"][()]
        assert img.shape == x0.shape and 0 <= img.min() and img.max() <= 1
        assert obj.shape == (n * octaves,), obj.shape
        assert obj[-1] > obj[0], (s, n, obj)            # the objective rises
        assert np.abs(img - x0).max() > 0.01, (s, n)    # the image changed
        print(f"{s} {n} steps: objective {obj[0]:.4g} -> {obj[-1]:.4g}")
    if octaves == 1:   # the 3-step dream is the 8-step run's state after 3 steps
        a, b = f[f"/dream/{s}/steps_3"], f[f"/dream/{s}/steps_8"]
        assert np.array_equal(a["objective"][()], b["objective"][()][:3]), s
        assert not np.array_equal(a["image"][()], b["image"][()]), s
PY
}
check "every item's objective rises; layout, shapes, sets named canonically (5 = conv2)" -- check_layout "$TMP/d1.h5" 1
pngs=$(ls "$TMP/d1-png" 2>/dev/null | grep -c '\.png$')
[ "$pngs" -ge 9 ] && ok "the PNGs: every dream and the grid ($pngs files in d1-png/)" \
  || not_ok "the PNGs: every dream and the grid (found $pngs in $TMP/d1-png)"
expect 0 "relu1\+relu2" "the report lists every set" -- $NNSWEEP report "$TMP/d1.h5"
expect 0 "" "--resume of a finished file computes nothing and keeps the dreams" -- \
  $NNSWEEP dream --quiet "$TMP/dream.ini" --out "$TMP/d1.h5" --resume
check "... identical to before" -- $H5CMP --all "$TMP/d2.h5" "$TMP/d1.h5"

# interrupted: kill -9 once a dream is saved, then SIGTERM once one more is; --resume each time
# ends with the uninterrupted file
dream_job "$TMP/long.ini" "noise" "relu1, conv1, relu2, conv2, maxpool1, bn1" "height = 160" "width = 160"
sed -i "s/^steps = .*/steps = 40, 600/" "$TMP/long.ini"
check "an uninterrupted long dream" -- $NNSWEEP dream --quiet "$TMP/long.ini" --out "$TMP/long-ref.h5"
saved() { $PY -c "
import h5py, sys
try: f = h5py.File(sys.argv[1], 'r')
except Exception: print(0); sys.exit()
print(sum(1 for s in f['/dream'] if s not in ('input', 'layer_sets', 'steps') for _ in f['/dream/' + s]))" "$1"; }
wait_saved() {   # wait_saved FILE N: up to 60 s until FILE holds at least N dreams
  for _ in $(seq 600); do [ "$(saved "$1")" -ge "$2" ] && return 0; sleep 0.1; done; return 1
}
$NNSWEEP dream --quiet "$TMP/long.ini" --out "$TMP/long.h5" >/dev/null 2>&1 &
pid=$!
wait_saved "$TMP/long.h5" 2 && kill -9 $pid; wait $pid 2>/dev/null
n9=$(saved "$TMP/long.h5")
[ "$n9" -ge 2 ] && [ "$n9" -lt 12 ] && ok "kill -9 mid-run leaves the dreams saved so far ($n9 of 12)" \
  || not_ok "kill -9 mid-run leaves the dreams saved so far ($n9 of 12)"
$NNSWEEP dream --quiet "$TMP/long.ini" --out "$TMP/long.h5" --resume >/dev/null 2>&1 &
pid=$!
wait_saved "$TMP/long.h5" $((n9 + 2)) && kill -TERM $pid; wait $pid
status=$?
state=$($PY -c "import h5py, sys; print(h5py.File(sys.argv[1], 'r').attrs['state'])" "$TMP/long.h5")
[ "$status" -eq 75 ] && [ "$state" = interrupted ] && ok "SIGTERM: exit 75, state interrupted" \
  || not_ok "SIGTERM: exit 75, state interrupted (exit $status, state $state)"
check "--resume finishes it" -- $NNSWEEP dream --quiet "$TMP/long.ini" --out "$TMP/long.h5" --resume
check "... identical to the uninterrupted dream" -- $H5CMP --all "$TMP/long-ref.h5" "$TMP/long.h5"

# octaves: one item per (set, steps) pair, the objective over every octave's steps
dream_job "$TMP/oct.ini" "$TMP/photo.png" "relu1, 5, relu1+relu2, conv2+maxpool1" \
  "octaves = 2" "octave_scale = 1.5"
check "dream with 2 octaves on 2 ranks" -- mpirun -np 2 $NNSWEEP dream --quiet "$TMP/oct.ini" --out "$TMP/oct.h5"
check "... every item's objective rises over both octaves" -- check_layout "$TMP/oct.h5" 2

# a test image of the job's data, and noise of a chosen size
dream_job "$TMP/test.ini" "test:3" "relu2"
check "dream on test:3 of the job's data" -- $NNSWEEP dream --quiet "$TMP/test.ini" --out "$TMP/t.h5"
check "... the input is the test image (16x16x1)" -- $PY -c "
import h5py, sys; f = h5py.File(sys.argv[1], 'r'); assert f['/dream/input'].shape == (16, 16, 1)" "$TMP/t.h5"
dream_job "$TMP/noise.ini" "noise" "conv1" "height = 24" "width = 20"
check "dream on noise of 24x20" -- $NNSWEEP dream --quiet "$TMP/noise.ini" --out "$TMP/n.h5"
check "... the input is 24x20x1" -- $PY -c "
import h5py, sys; f = h5py.File(sys.argv[1], 'r'); assert f['/dream/input'].shape == (24, 20, 1)" "$TMP/n.h5"

# errors name the file and line
dream_job "$TMP/bad1.ini" "$TMP/photo.png" "relu1, relu9"
expect 2 "bad1.ini:12: layers: unknown layer 'relu9' \(the model's layers before its first dense one: 1 conv1, 2 bn1, 3 relu1" \
  "an unknown layer: exit 2, file:line and the layer listing" -- $NNSWEEP dream --quiet "$TMP/bad1.ini" --out "$TMP/x.h5"
dream_job "$TMP/bad2.ini" "$TMP/photo.png" "dense1"
expect 2 "bad2.ini:12: layers: 'dense1' \(layer 8 dense\(2\)\) comes after the first dense layer" \
  "a dense layer: exit 2, named" -- $NNSWEEP dream --quiet "$TMP/bad2.ini" --out "$TMP/x.h5"
printf 'not a png' > "$TMP/broken.png"
dream_job "$TMP/bad3.ini" "$TMP/broken.png" "relu1"
expect 2 "bad3.ini:11: image: .*broken.png" "an unreadable PNG: exit 2, file:line and the PNG" -- \
  $NNSWEEP dream --quiet "$TMP/bad3.ini" --out "$TMP/x.h5"
dream_job "$TMP/bad4.ini" "$TMP/photo.png" "relu1"
sed -i "s|^model = .*|model = $TMP/d1.h5|" "$TMP/bad4.ini"
expect 2 "d1.h5: a dream results file is not a model" "a file that is no model: exit 2, named" -- \
  $NNSWEEP dream --quiet "$TMP/bad4.ini" --out "$TMP/x.h5"
printf '[dream]\nmodel = %s\n' "$TMP/model.h5" > "$TMP/bad5.ini"
expect 2 "bad5.ini: \[dream\]: layers is required" "a missing layers key: exit 2" -- \
  $NNSWEEP dream --quiet "$TMP/bad5.ini" --out "$TMP/x.h5"
dream_job "$TMP/bad6.ini" "test:99" "relu1"
expect 2 "bad6.ini:11: .*image.*test:INDEX needs an index in 0..31" "test:INDEX past the test split: exit 2" -- \
  $NNSWEEP dream --quiet "$TMP/bad6.ini" --out "$TMP/x.h5"
dream_job "$TMP/bad7.ini" "noise" "relu2" "height = 1" "width = 40"
expect 2 "bad7.ini: the image \(1x40\) is too small for the layers dreamed on: layer 4 maxpool\(2\)" \
  "an image too small for a layer's window: exit 2 before any work" -- $NNSWEEP dream --quiet "$TMP/bad7.ini" --out "$TMP/x.h5"
# a model file (the converter's format) made here from the trained run, then damaged by hand
$PY - "$TMP/model.h5" "$TMP/m.h5" "$TMP/m-bad.h5" <<'PY'
import sys, h5py, numpy as np
src = h5py.File(sys.argv[1], "r")["/cnn/base"]
for path, var in ((sys.argv[2], None), (sys.argv[3], -0.5)):
    with h5py.File(path, "w") as f:
        f.attrs.update(program="nnsweep", experiment="model", arch="test", in_channels=1,
                       layers=src.attrs["layers"])
        buf = src["bn_buffers"][()].copy()
        if var is not None:
            buf[4] = var   # bn1: 4 running means, then the variances
        f["/model/weights"] = src["weights"][()]
        f["/model/bn_buffers"] = buf
        f["/model/input_mean"] = np.zeros(1)
        f["/model/input_std"] = np.ones(1)
PY
dream_job "$TMP/mf.ini" "noise" "relu1, conv2"
sed -i "s|^model = .*|model = $TMP/m.h5|" "$TMP/mf.ini"
check "a model file dreams" -- $NNSWEEP dream --quiet "$TMP/mf.ini" --out "$TMP/mf.h5"
sed -i "s|^model = .*|model = $TMP/m-bad.h5|" "$TMP/mf.ini"
expect 2 "m-bad.h5: layer 2 bn: running variance -0.5 of channel 0 is negative" \
  "a model file with a negative running variance: exit 2, named" -- $NNSWEEP dream --quiet "$TMP/mf.ini" --out "$TMP/x.h5"
[ ! -e "$TMP/x.h5" ] && ok "... and none of them wrote a file" || not_ok "... a refused job wrote $TMP/x.h5"
