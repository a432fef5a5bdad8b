# test_xarray.sh - results files opened with xarray (h5netcdf engine, no extra arguments): every
# group of a small NNGP file (3 classes, uneven depths, covariance) and of a small CNN file opens
# with named dimensions only (no phony_dim_*), the integer depth and float variance coordinates
# are the job's, CNN curves are over the epoch coordinate, and every variable holds what h5py
# reads at the same path (an independent reader, which also gives the expected dimension names:
# the scales attached to each dataset). Then the README's xarray example on both files.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
PY=/usr/bin/python3   # Debian's python3 with python3-h5py, python3-xarray, python3-h5netcdf

data='[data]
dataset = fashion-mnist
classes = 0, 6, 9
train = 150
test = 60'
cat > "$TMP/nngp.ini" <<INI
$data
validation = 30
[nngp]
depth = 1, 3, 4
sigma_w2 = 1.0, 2.5
sigma_b2 = 0.0, 0.5, 1.0
covariance = true
search_train = 100
INI
cat > "$TMP/cnn.ini" <<INI
$data
[cnn]
layers = conv(4,3,pad=1) bn relu maxpool(2) flatten dense(16) relu dense(3)
epochs = 3
batch_size = 50
learning_rate = 0.05
[variant bn]
[variant no_bn]
layers = conv(4,3,pad=1) relu maxpool(2) flatten dense(16) relu dense(3)
epochs = 2
INI
check "small NNGP run (3 classes, depths 1, 3, 4, covariance)" -- $NNSWEEP nngp --quiet "$TMP/nngp.ini" --out "$TMP/nngp.h5"
check "small CNN run (two variants, 3 and 2 epochs)" -- $NNSWEEP cnn --quiet "$TMP/cnn.ini" --out "$TMP/cnn.h5"

# Prints one "ok - ..." / "not ok - ..." line per check; exits 1 if any failed.
cat > "$TMP/xrcheck.py" <<'PY'
import sys

import h5py
import numpy as np
import xarray as xr

path, kind = sys.argv[1], sys.argv[2]
NOT_A_VARIABLE = b"This is a netCDF dimension but not a netCDF variable."
failed = 0


def report(good, desc, detail=None):
    global failed
    print(("ok - " if good else "not ok - ") + f"{kind}: {desc}")
    if not good:
        failed += 1
        for line in (detail or [])[:10]:
            print(f"#   {line}")


f = h5py.File(path, "r")
groups = ["/"]
f.visititems(lambda name, obj: groups.append(name) if isinstance(obj, h5py.Group) else None)
opened, errors = {}, []
for g in groups:
    try:
        opened[g] = xr.open_dataset(path, group=g, engine="h5netcdf")
    except Exception as e:   # e.g. "no dimension scale associated with axis 0"
        errors.append(f"{g}: {type(e).__name__}: {e}")
report(not errors, f"xarray opens all {len(groups)} groups with group= and engine= only", errors)

phony = [f"{g}/{v}: {ds[v].dims}" for g, ds in opened.items() for v in ds.variables
         if any(d.startswith("phony_dim") for d in ds[v].dims)]
report(not phony, "no phony_dim_* dimension in any variable of any group", phony)

# Every HDF5 dataset is a variable of its group's Dataset with h5py's values and the names of the
# scales h5py sees attached as dimensions; or a netCDF dimension without values, which xarray
# shows as a dimension of that length without a coordinate.
bad, nvars = [], 0
for g, ds in opened.items():
    members = {k: v for k, v in f[g].items() if isinstance(v, h5py.Dataset)}
    for name, obj in members.items():
        if NOT_A_VARIABLE in obj.attrs.get("NAME", b""):
            if name in ds.variables or ds.sizes.get(name) != obj.shape[0]:
                bad.append(f"{g}/{name}: dimension without values, xarray sizes {dict(ds.sizes)}")
            continue
        if name not in ds.variables:
            bad.append(f"{g}/{name}: not a variable in xarray")
            continue
        nvars += 1
        if h5py.h5ds.is_scale(obj.id):
            want_dims = (name,)
        else:
            want_dims = tuple(d[0].name.rsplit("/", 1)[-1] if len(d) else "(none)" for d in obj.dims)
        x, y = ds[name].values, obj[()]
        if h5py.check_string_dtype(obj.dtype):
            x, y = [str(v) for v in x], obj.asstr()[()].tolist()
            same = x == y
        else:
            same = x.dtype == y.dtype and np.array_equal(x, y, equal_nan=y.dtype.kind == "f")
        if ds[name].dims != want_dims or not same:
            bad.append(f"{g}/{name}: xarray dims {ds[name].dims} dtype {ds[name].dtype}, "
                       f"h5py scales {want_dims} dtype {obj.dtype}, values equal: {same}")
    extra = [v for v in ds.variables if v not in members]
    bad += [f"{g}/{v}: in xarray, not in the file" for v in extra]
report(not bad and nvars > 0,
       f"all {nvars} variables: h5py's values and dtype, dimensions named by their scales", bad)

def coord_is(g, name, want, kind_):
    ds = opened.get(g)
    c = ds.coords.get(name) if ds is not None else None
    ok = c is not None and c.dtype.kind == kind_ and c.dims == (name,) and \
        np.array_equal(c.values, np.asarray(want))
    return ok, [f"{g}: {name} = {None if c is None else (c.dtype, c.values.tolist())}, want {want}"]

if kind == "nngp":
    depths, sw2, sb2 = [1, 3, 4], [1.0, 2.5], [0.0, 0.5, 1.0]
    depth_groups = ["nngp", "nngp/best/test_accuracy", "nngp/best/validation_accuracy",
                    "nngp/best/log_marginal_likelihood", "nngp/posterior",
                    "nngp/uncertainty/most_uncertain", "nngp/uncertainty/least_uncertain"]
    for g in depth_groups:
        ok, why = coord_is(g, "depth", depths, "i")
        others = [f"{g}/{v}: {opened[g][v].dims}" for v in opened.get(g, {}).data_vars
                  if "depth" not in opened[g][v].dims and v != "item_done"] if ok else []
        report(ok and not others, f"{g}: integer depth coordinate = the job's depths "
               f"{depths}, on every array over depth", why + others)
    for g in ["nngp", "nngp/timing"]:
        for name, want in (("sigma_w2", sw2), ("sigma_b2", sb2)):
            ok, why = coord_is(g, name, want, "f")
            report(ok, f"{g}: float {name} coordinate = the job's {want}", why)
    nngp = opened["nngp"]
    report(nngp.test_accuracy.dims == ("depth", "sigma_w2", "sigma_b2") and
           float(nngp.test_accuracy.sel(depth=3, sigma_w2=2.5, sigma_b2=0.5)) ==
           f["/nngp/test_accuracy"][1, 1, 1],
           "nngp: test_accuracy over (depth, sigma_w2, sigma_b2), .sel by grid values")
    post = opened["nngp/posterior"]
    report(post["mean"].dims == ("depth", "test", "target") and post.sizes["target"] == 3 and
           post.covariance.dims == ("depth", "test", "test2") and
           np.array_equal(post.test.values, np.arange(60)),
           "nngp/posterior: mean (depth, test, target), covariance (depth, test, test2), "
           "test = positions 0..59")
    timing = opened["nngp/timing"]
    report(timing.phase.values.tolist() == f["/nngp/timing/phase_names"].asstr()[()].tolist() and
           timing.item_seconds.dims == ("sigma_w2", "sigma_b2", "phase"),
           "nngp/timing: phase coordinate holds the phase names")
    data = opened["data"]
    report(data.classes.values.tolist() == [0, 6, 9] and data.test_label.dims == ("test",) and
           data.validation_index.dims == ("validation",), "data: classes coordinate, "
           "train/validation/test dimensions")
else:
    runs = opened["cnn"].runs.values.tolist()
    report(runs == ["bn", "no_bn"] and opened["cnn"].run_done.dims == ("runs",),
           "cnn: run_done over the coordinate runs (run names)")
    curves = ["train_loss", "train_accuracy", "test_loss", "test_accuracy", "learning_rate",
              "seconds", "images_per_second"]
    for run, epochs in (("bn", 3), ("no_bn", 2)):
        g = "cnn/" + run
        ok, why = coord_is(g, "epoch", list(range(1, epochs + 1)), "i")
        ds = opened[g]
        wrong = [f"{c}: {ds[c].dims}" for c in curves if c not in ds or ds[c].dims != ("epoch",)]
        report(ok and not wrong, f"{g}: the {len(curves)} curves over an integer epoch "
               f"coordinate 1..{epochs}", why + wrong)
        report(ds.confusion_matrix.dims == ("true_class", "predicted_class") and
               ds.true_class.values.tolist() == [0, 6, 9] and
               ds.predicted_class.values.tolist() == [0, 6, 9] and
               ds.noise_accuracy.dims == ("noise_level",) and
               ds.noise_level.values.tolist() == [0.05, 0.01, 0.005] and
               ds.weights.dims == ("parameter",) and ds.sizes["parameter"] == ds.attrs["nparams"],
               f"{g}: confusion_matrix by class numbers, noise_accuracy by noise level, "
               "weights over parameter")
    report(opened["cnn/bn"].bn_buffers.dims == ("buffer",) and "bn_buffers" not in opened["cnn/no_bn"],
           "cnn: bn_buffers over buffer where the net has batch norm")
sys.exit(1 if failed else 0)
PY
for kind in nngp cnn; do
  $PY "$TMP/xrcheck.py" "$TMP/$kind.h5" $kind || not_ok "$kind: the xarray checks ran to the end without a failure"
done

# The files still serve the report (it reads the integer depth scale as numbers).
expect 0 "^ +4 +2.5 " "report on the NNGP file lists depth 4" -- $NNSWEEP report "$TMP/nngp.h5"

# ---- the README's xarray example ----
expect 0 "depth +\(depth\) int32 1 3 4" "xarray example prints the nngp Dataset with the integer depth coordinate" -- $PY docs/xarray-example.py "$TMP/nngp.h5"
expect 0 "depth 4: most uncertain test example [0-9]+, class [069], variance" "xarray example reads the uncertainty and data groups" -- $PY docs/xarray-example.py "$TMP/nngp.h5"
expect 0 "seconds per phase: \{'gram'" "xarray example reads the timing group" -- $PY docs/xarray-example.py "$TMP/nngp.h5"
expect 0 "run no_bn: 2 epochs, best test accuracy 0\.[0-9]{4} at epoch [12], last" "xarray example reads each CNN run over its epochs" -- $PY docs/xarray-example.py "$TMP/cnn.h5"
check "xarray example's CNN numbers are h5py's" -- $PY - "$TMP/cnn.h5" <<'PY'
import subprocess, sys
import h5py
out = subprocess.run(["/usr/bin/python3", "docs/xarray-example.py", sys.argv[1]], capture_output=True, text=True, check=True).stdout
acc = h5py.File(sys.argv[1])["/cnn/bn/test_accuracy"][()]
want = f"run bn: 3 epochs, best test accuracy {acc.max():.4f} at epoch {acc.argmax() + 1}, last {acc[-1]:.4f}"
sys.exit(0 if want in out else f"missing: {want}\n{out}")
PY

# The README shows docs/xarray-example.py from "import sys" on, exactly.
check "README's xarray block is docs/xarray-example.py from 'import sys' on" -- $PY - README.md docs/xarray-example.py <<'PY'
import re, sys
readme, script = open(sys.argv[1]).read(), open(sys.argv[2]).read()
at = readme.find("docs/xarray-example.py")
m = re.search(r"```python\n(.*?)```", readme[at:], re.S) if at >= 0 else None
body = script[script.index("import sys\n"):]
if not m or m.group(1) != body:
    sys.exit("README.md: the python block after docs/xarray-example.py differs from the script")
PY
