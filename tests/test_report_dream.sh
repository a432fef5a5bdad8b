# test_report_dream.sh - `nnsweep report` on dream results files (the layout `nnsweep dream`
# writes, made here with h5py): the table in each format against the values written, pairs not
# computed, an incomplete file, a file without the dream's lists; --png: dream_grid.png of the
# documented size with the input and a dream drawn pixel for pixel, and each computed pair's PNG
# at native size equal to round(255 * image), in colour and in grey (tests/pngread.py decodes).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
PY=/usr/bin/python3   # Debian's python3 with python3-h5py

# make_dream FILE H W C STATE [IMAGE]: sets relu2, conv3, relu2+relu4 x steps 10, 50, 200, the
# pair (relu2+relu4, 200) not computed; images and objectives drawn from a seeded generator; the
# source image's name IMAGE (default photo.png) stored byte for byte, UTF-8 or not.
cat > "$TMP/make_dream.py" <<'PY'
import os, sys
import h5py, numpy as np
path, h, w, c, state = sys.argv[1], *map(int, sys.argv[2:5]), sys.argv[5]
image = os.fsencode(sys.argv[6]) if len(sys.argv) > 6 else b"photo.png"
rng = np.random.default_rng(7)
sets, steps = ["relu2", "conv3", "relu2+relu4"], [10, 50, 200]
with h5py.File(path, "w") as f:
    f.attrs.update(program="nnsweep", experiment="dream", job_file="dream.ini", state=state,
                   job_text="[dream]\nmodel = cnn.h5\nimage = photo.png\n")
    g = f.create_group("dream")
    g.attrs.update(model="cnn.h5", run="bn", learning_rate=0.015, octaves=3, octave_scale=1.4,
                   jitter=8, seed=5)
    g.attrs.create("image", image, dtype=h5py.string_dtype())   # as nnsweep writes a path
    g["input"] = rng.random((h, w, c), dtype=np.float32)
    g["layer_sets"] = np.array(sets, dtype=h5py.string_dtype())
    g["steps"] = np.array(steps, dtype=np.int32)
    for s in sets:
        for n in steps:
            if s == "relu2+relu4" and n == 200:
                continue
            p = g.create_group(f"{s}/steps_{n}")
            p.attrs.update(layer_set=s, steps=n)
            img = rng.random((h, w, c), dtype=np.float32)
            img[0, 0] = 0.5 / 255   # a half-way value: rounds to the even byte 0
            p["image"] = img
            p["objective"] = np.cumsum(rng.random(n) + 0.1) * (1 + len(s))
PY

# The table in each format against the file: every (set, steps) row; first and last objective
# (printed with 6 significant digits) and their ratio (4 decimals); "not computed" for the pair
# without a group.
cat > "$TMP/dreamcheck.py" <<'PY'
import subprocess, sys
import h5py, numpy as np
sys.path.insert(0, "tests")
from report_tables import cells_of, tables
nnsweep, path, fmt = sys.argv[1:4]
out = subprocess.run([nnsweep, "report", path, "--format", fmt], capture_output=True, text=True,
                     check=True).stdout
found = tables(out, fmt, "layer_set")
if len(found) != 1:
    sys.exit(f"{fmt}: {len(found)} tables, expected 1\n{out}")
rows = {}
for r in found[0]:
    if r[2:4] == ["not", "computed"]:   # text: the cell split at its blank
        r = r[:2] + ["not computed"] + r[4:]
    rows[(r[0], int(r[1]))] = r
heads = [cells_of(l, fmt) for l in out.splitlines()]
head = next((h for h in heads if h and h[0] == "layer_set"), None)
want_head = ["layer_set", "steps", "objective_first", "objective_last", "ratio"]
if head != want_head:
    sys.exit(f"{fmt}: heading {head}, expected {want_head}\n{out}")
f = h5py.File(path, "r")
bad = []
sets, steps = f["/dream/layer_sets"].asstr()[()], f["/dream/steps"][()]
for s in sets:
    for n in steps:
        r = rows.get((s, int(n)))
        g = f"/dream/{s}/steps_{n}"
        if r is None:
            bad.append(f"no row for {s}, {n}")
        elif g not in f:
            if r[2:] != ["not computed", "-", "-"]:
                bad.append(f"{s}, {n}: not computed, printed {r}")
        else:
            o = f[g + "/objective"][()]
            for col, want in ((2, o[0]), (3, o[-1])):
                if abs(float(r[col]) - want) > 1e-5 * abs(want):
                    bad.append(f"{s}, {n}: column {col} printed {r[col]}, file {want}")
            if abs(float(r[4]) - o[-1] / o[0]) > 5e-5:
                bad.append(f"{s}, {n}: ratio printed {r[4]}, file {o[-1] / o[0]}")
if len(rows) != len(sets) * len(steps):
    bad.append(f"{len(rows)} rows, expected {len(sets) * len(steps)}")
print("\n".join(bad) or f"{fmt}: {len(rows)} rows, every printed value matches the file")
sys.exit(1 if bad else 0)
PY

# The figures: dream_grid.png's size from the layout documented in src/report/figures_dream.c
# (images enlarged s = ceil(128 / max(h, w)) times; top 66, or 86 with a note), the input and the
# dream (conv3, 50 steps) in it pixel for pixel, and every computed pair's PNG at native size
# equal to round(255 * image) (grey as R = G = B), none for the pair not computed.
cat > "$TMP/dreampng.py" <<'PY'
import os, sys
import h5py, numpy as np
sys.path.insert(0, "tests")
from pngread import read_png
path, d, top = sys.argv[1], sys.argv[2], int(sys.argv[3])
f = h5py.File(path, "r")
sets, steps = list(f["/dream/layer_sets"].asstr()[()]), [int(n) for n in f["/dream/steps"][()]]
inp = f["/dream/input"][()]
h, w, c = inp.shape
s = -(-128 // max(h, w))
dh, dw = h * s, w * s
def byte(img):   # (H,W,C) float32 -> (H,W,3) bytes as drawn: round half to even, clipped
    b = np.clip(np.rint(np.float32(255) * img), 0, 255).astype(np.int64)
    return np.repeat(b, 3, axis=2) if b.shape[2] == 1 else b
W, H, _, grid, _ = read_png(os.path.join(d, "dream_grid.png"))
rows_y = top + 8 + 22 + dh + 20 + 24
want = (max(900, 40 + len(steps) * (dw + 16) - 16), rows_y + len(sets) * (22 + dh + 24) + 28)
bad = []
if (W, H) != want:
    bad.append(f"dream_grid.png is {W} x {H}, expected {want[0]} x {want[1]}")
else:
    def block(x, y):
        return grid[y:y + dh, x:x + dw].astype(np.int64)
    def enlarged(img):
        return np.repeat(np.repeat(byte(img), s, 0), s, 1)
    if (block(20, top + 8 + 22) != enlarged(inp)).any():
        bad.append("the grid's input differs from /dream/input")
    r, k = sets.index("conv3"), steps.index(50)
    if (block(20 + k * (dw + 16), rows_y + r * (22 + dh + 24) + 22) !=
            enlarged(f["/dream/conv3/steps_50/image"][()])).any():
        bad.append("the grid's conv3 / 50 steps cell differs from its image")
n = 0
for st in sets:
    for ns in steps:
        name = os.path.join(d, f"dream_{st}_steps{ns}.png")
        g = f"/dream/{st}/steps_{ns}"
        if g not in f:
            if os.path.exists(name):
                bad.append(f"{name} written for a pair not computed")
            continue
        pw, ph, _, px, _ = read_png(name)
        img = f[g + "/image"][()]
        if (ph, pw) != img.shape[:2] or (px.astype(np.int64) != byte(img)).any():
            bad.append(f"{name}: pixels differ from round(255 * {g}/image)")
        n += 1
print("\n".join(bad) or f"grid {W} x {H} and {n} dream PNGs match the file")
sys.exit(1 if bad else 0)
PY

$PY "$TMP/make_dream.py" "$TMP/rgb.h5" 20 24 3 complete
check "a dream file made with h5py" -- test -f "$TMP/rgb.h5"
expect 0 "dream results of job dream.ini, state complete" "report names the dream file's state" -- $NNSWEEP report "$TMP/rgb.h5"
expect 0 "DeepDream: model cnn.h5 run bn, from image photo.png \(20 x 24, 3 channels\)" "report states the model, the source image and its size" -- $NNSWEEP report "$TMP/rgb.h5"
expect 0 "learning rate 0.015, 3 octave\(s\) of scale 1.4, jitter 8 px, seed 5" "report states the dream's settings" -- $NNSWEEP report "$TMP/rgb.h5"
expect 0 "8 of 9 \(layer set, steps\) pairs computed" "report counts the computed pairs" -- $NNSWEEP report "$TMP/rgb.h5"
expect 0 "^relu2\+relu4 +200 +not computed +- +-" "report marks the pair not computed" -- $NNSWEEP report "$TMP/rgb.h5"
for fmt in text markdown csv; do
  check "dream report --format $fmt: every row matches the file" -- $PY "$TMP/dreamcheck.py" "$NNSWEEP" "$TMP/rgb.h5" $fmt
done
expect 0 "^# DeepDream: model cnn.h5" "dream report in CSV states the settings as comments" -- $NNSWEEP report "$TMP/rgb.h5" --format csv

expect 0 "dream_grid.png" "report --png on a dream file lists the grid" -- $NNSWEEP report "$TMP/rgb.h5" --png "$TMP/png/rgb"
expect 0 "dream_relu2\+relu4_steps50.png +the dream of layer set relu2\+relu4 after 50 steps \(20 x 24\)" "report --png lists each dream's PNG" -- $NNSWEEP report "$TMP/rgb.h5" --png "$TMP/png/rgb"
check "dream figures (colour): grid size, its input and a cell, and each dream's PNG match the file" -- $PY "$TMP/dreampng.py" "$TMP/rgb.h5" "$TMP/png/rgb" 66
check "a grid and 8 dream PNGs, nothing else" -- test "$(ls "$TMP/png/rgb" | wc -l)" -eq 9

# Grey (1 channel, 30 x 30: enlarged 5 times), an interrupted file (a note under the title), and
# a source image whose name is Latin-1, not UTF-8 ("caf\xe9.png", a path as a file system may
# hold it): cairo stops drawing at text that is not UTF-8, so the grid's cells after the label
# "input (source): caf?.png" are the check.
$PY "$TMP/make_dream.py" "$TMP/grey.h5" 30 30 1 interrupted "$(printf 'caf\xe9.png')"
expect 0 "This file is incomplete \(interrupted\)" "report on an interrupted dream file says so" -- $NNSWEEP report "$TMP/grey.h5"
expect 0 "dream_grid.png" "report --png on an interrupted grey dream file" -- $NNSWEEP report "$TMP/grey.h5" --png "$TMP/png/grey"
check "dream figures (grey, incomplete, a source name not UTF-8): grid size, its input and a cell, and each dream's PNG match the file" -- $PY "$TMP/dreampng.py" "$TMP/grey.h5" "$TMP/png/grey" 86

# Every kind of byte sequence cairo refuses as UTF-8 (a stray continuation byte, an overlong
# "/", a surrogate, a code point past U+10FFFF, a character cut short, a lone lead byte at the
# end) and valid 2-, 3- and 4-byte characters in the source's name: the figures are drawn (a
# drawing step cairo refused would make report --png fail, naming cairo's status).
for name in 'a\x80b' 'a\xc0\xafb' 'a\xed\xa0\x80b' 'a\xf4\x90\x80\x80b' 'a\xe2\x82b' 'ab\xf0' \
            'caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e'; do
  $PY "$TMP/make_dream.py" "$TMP/name.h5" 8 8 1 complete "$(printf "$name")"
  expect 0 "dream_grid.png +the input" "report --png with the source image named '$name'" -- $NNSWEEP report "$TMP/name.h5" --png "$TMP/png/name"
done

# A dream file without its lists: exit 2 naming the file and what is missing.
$PY - "$TMP/broken.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "w") as f:
    f.attrs.update(program="nnsweep", experiment="dream", state="complete")
    f.create_group("dream")
PY
expect 2 "broken.h5: /dream/layer_sets is missing" "report on a dream file without layer sets exits 2" -- $NNSWEEP report "$TMP/broken.h5"
