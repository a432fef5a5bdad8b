# test_limit.sh - the [limit] stage of an NNGP job: random finite networks against K^L. Acceptance:
# every fitted log-log slope of error against width in [-0.65, -0.35]; /limit bit-identical at 1, 2
# and 4 ranks; --resume keeps what is done (and measures again a depth whose model changed);
# report prints the tables and draws the figure; bad [limit] values exit 2 naming the key.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
unset OMP_NUM_THREADS OPENBLAS_NUM_THREADS   # the program picks threads per rank itself
H5CMP="/usr/bin/python3 tests/h5compare.py"
PY=/usr/bin/python3
LIMIT="/limit/error /limit/error_stderr /limit/bias /limit/slope /limit/sigma_w2 /limit/sigma_b2 /limit/done /limit/width /limit/depth"

job() {   # job FILE EXTRA-LIMIT-LINES: Fashion-MNIST 0 vs 6, 200 train / 100 test, 2 depths x 2 x 2
  cat > "$1" <<INI
[data]
classes = 0, 6
train = 200
test = 100
[nngp]
depth = 1, 3
sigma_w2 = 1.0, 2.0
sigma_b2 = 0.0, 0.5
[limit]
widths = 16, 64, 256, 1024
$2
INI
}
job "$TMP/limit.ini" "samples = 16
points = 50"

check "a job with [limit] runs at 1 rank" -- $NNSWEEP nngp --quiet "$TMP/limit.ini" --out "$TMP/l1.h5"
check "... at 2 ranks" -- mpirun -np 2 $NNSWEEP nngp --quiet "$TMP/limit.ini" --out "$TMP/l2.h5"
check "... at 4 ranks" -- mpirun -np 4 $NNSWEEP nngp --quiet "$TMP/limit.ini" --out "$TMP/l4.h5"
check "1 and 2 ranks: identical /limit arrays" -- $H5CMP "$TMP/l1.h5" "$TMP/l2.h5" $LIMIT
check "1 and 4 ranks: identical /limit arrays" -- $H5CMP "$TMP/l1.h5" "$TMP/l4.h5" $LIMIT

# Acceptance: the error falls like N^-1/2, every depth's fitted slope in [-0.65, -0.35].
$PY - "$TMP/l2.h5" >"$TMP/slopes" 2>&1 <<'PY'
import sys

import h5py
import numpy as np

f = h5py.File(sys.argv[1], "r")["/limit"]
ok = bool(f["done"][()].all()) and f.attrs["samples"] == 16 and f.attrs["points"] == 50
for d, s, sw2, sb2, best_w, best_b in zip(f["depth"][()], f["slope"][()], f["sigma_w2"][()],
                                          f["sigma_b2"][()],
                                          f.file["/nngp/best/test_accuracy/sigma_w2"][()],
                                          f.file["/nngp/best/test_accuracy/sigma_b2"][()]):
    print(f"depth {d}: slope {s:.3f} (sigma_w2 {sw2}, sigma_b2 {sb2}); errors "
          f"{np.round(f['error'][list(f['depth'][()]).index(d)], 4).tolist()}")
    ok &= -0.65 <= s <= -0.35 and sw2 == best_w and sb2 == best_b
print("slopes in range" if ok else "FAILED")
sys.exit(0 if ok else 1)
PY
if [ $? -eq 0 ]; then ok "every slope in [-0.65, -0.35], variances of each depth's selected model"
else not_ok "slopes"; fi
sed 's/^/#   /' "$TMP/slopes"

# Resume: an interrupted file with one cell not done measures that cell alone; a depth whose
# recorded variances are not the model selected now is measured again; a complete file, nothing.
$PY - "$TMP/l2.h5" "$TMP/part.h5" "$TMP/other.h5" <<'PY'
import shutil, sys

import h5py

for out in sys.argv[2:]:
    shutil.copy(sys.argv[1], out)
with h5py.File(sys.argv[2], "r+") as f:
    f["/limit/done"][1, 2] = 0
    f["/limit/error"][1, 2] = 0.0
    f.attrs["state"] = "interrupted"
with h5py.File(sys.argv[3], "r+") as f:
    f["/limit/sigma_w2"][0] = 99.0
    f["/limit/error"][0, :] = 0.0
    f.attrs["state"] = "interrupted"
PY
$PY tests/reseal.py "$TMP/part.h5" "$TMP/other.h5"   # as a run stopped there would have sealed them
expect 0 "GP limit: .* 1 item\(s\) \(the others resumed\)" "--resume measures only the cell not done" -- mpirun -np 2 $NNSWEEP nngp "$TMP/limit.ini" --out "$TMP/part.h5" --resume
check "... and ends with the uninterrupted run's /limit" -- $H5CMP "$TMP/l2.h5" "$TMP/part.h5" $LIMIT
expect 0 "GP limit: .* 4 item\(s\) \(the others resumed\)" "--resume measures again a depth recorded with other variances" -- $NNSWEEP nngp "$TMP/limit.ini" --out "$TMP/other.h5" --resume
check "... and ends with the uninterrupted run's /limit" -- $H5CMP "$TMP/l2.h5" "$TMP/other.h5" $LIMIT
cp "$TMP/l2.h5" "$TMP/done.h5"
$NNSWEEP nngp "$TMP/limit.ini" --out "$TMP/done.h5" --resume >"$TMP/out" 2>&1
if ! grep -q "nnsweep: GP limit:" "$TMP/out" && $H5CMP "$TMP/l2.h5" "$TMP/done.h5" $LIMIT >/dev/null; then
  ok "--resume of a complete file measures nothing again and keeps /limit"
else
  not_ok "--resume of a complete file"; show_output "$TMP/out"
fi

# Reading the results: the report's tables, the figure, xarray's view of the group.
expect 0 "depth +width +error +stderr +bias" "report prints the error table" -- $NNSWEEP report "$TMP/l2.h5"
expect 0 "fitted slope.*depth +sigma_w2 +sigma_b2 +slope.* 3 +[0-9.]+ +[0-9.]+ +-0\.[3-6]" "report prints the slope per depth" -- sh -c "$NNSWEEP report '$TMP/l2.h5' | tr '\n' ' '"
expect 0 "^# limit slope" "report --format csv has the limit blocks" -- $NNSWEEP report "$TMP/l2.h5" --format csv
expect 0 "nngp-limit-error-width.png" "report --png lists the limit figure" -- $NNSWEEP report "$TMP/l2.h5" --png "$TMP/png"
expect 0 "^PNG 900 x 600$" "... and writes it (a PNG of 900 x 600)" -- /usr/bin/python3 -c "
import struct, sys
d = open(sys.argv[1], 'rb').read(24)
assert d[:8] == b'\\x89PNG\\r\\n\\x1a\\n' and d[12:16] == b'IHDR', d
print('PNG %d x %d' % struct.unpack('>II', d[16:24]))" "$TMP/png/nngp-limit-error-width.png"
expect 0 "^dims depth=2 width=4; error \(depth, width\)" "xarray opens /limit with its depth and width coordinates" -- $PY -c "
import sys, xarray as xr
g = xr.open_dataset(sys.argv[1], group='limit', engine='h5netcdf')
print(f'dims depth={g.sizes[\"depth\"]} width={g.sizes[\"width\"]}; error {g.error.dims}'.replace(\"'\", ''))
assert list(g.width.values) == [16, 64, 256, 1024] and list(g.depth.values) == [1, 3]" "$TMP/l2.h5"

# Variances set in [limit] hold for every depth.
job "$TMP/fixed.ini" "widths = 16, 64
samples = 3
points = 10
sigma_w2 = 1.7
sigma_b2 = 0.25"
sed -i '/^widths = 16, 64, 256, 1024$/d' "$TMP/fixed.ini"
check "a job with [limit] sigma_w2, sigma_b2 runs" -- $NNSWEEP nngp --quiet "$TMP/fixed.ini" --out "$TMP/fixed.h5"
expect 0 "^\[1.7, 1.7\] \[0.25, 0.25\] set in \[limit\]" "... with those variances at every depth" -- $PY -c "
import sys, h5py
f = h5py.File(sys.argv[1], 'r')['/limit']
print(f['sigma_w2'][()].tolist(), f['sigma_b2'][()].tolist(), f.attrs['variances'])" "$TMP/fixed.h5"

# Bad [limit] values: exit 2, naming the file, line and key.
bad() {   # bad EXTRA-LIMIT-LINES REGEX DESCRIPTION
  job "$TMP/bad.ini" "$1"
  expect 2 "$2" "$3" -- $NNSWEEP nngp "$TMP/bad.ini" --out "$TMP/bad.h5"
}
bad "points = 101" "bad.ini:11: points: value 101 must be at most \[data\] test \(100\)" "points beyond the test split: exit 2 naming the key"
bad "samples = 1" "bad.ini:11: samples: value 1 must be >= 2" "samples = 1: exit 2 naming the key"
bad "sigma_w2 = 2" "bad.ini:11: sigma_w2: set sigma_b2 too" "sigma_w2 without sigma_b2: exit 2 naming the key"
bad "seed = abc" "bad.ini:11: seed: 'abc' is not an integer" "a bad seed: exit 2 naming the key"
sed -i 's/^widths = .*/widths = 0, 16/' "$TMP/bad.ini"
expect 2 "bad.ini:10: widths: value 0 must be in \[1, 65536\]" "width 0: exit 2 naming the key" -- $NNSWEEP nngp "$TMP/bad.ini" --out "$TMP/bad.h5"
