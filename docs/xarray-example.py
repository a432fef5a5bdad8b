#!/usr/bin/python3
"""Opens an nnsweep results file as labelled xarray Datasets, one per HDF5 group (Debian's
python3-xarray and python3-h5netcdf). The README shows this script from `import sys` on;
tests/test_xarray.sh runs it and checks what it reads against h5py.

usage: /usr/bin/python3 docs/xarray-example.py results/nngp-fashion-binary.h5
       /usr/bin/python3 docs/xarray-example.py results/cnn-variants.h5
"""
import sys

import xarray as xr

path = sys.argv[1] if len(sys.argv) > 1 else "results/nngp-fashion-binary.h5"


def group(name):
    """The arrays of one HDF5 group, with their dimension scales as coordinates."""
    return xr.open_dataset(path, group=name, engine="h5netcdf")


if group("/").attrs["experiment"] == "cnn":
    cnn = group("cnn")                      # run_done over the coordinate runs (run names)
    for name in cnn.runs.values[cnn.run_done.values == 1]:
        run = group("cnn/" + name)          # curves over epoch = 1..epochs
        curves = run[["train_loss", "test_loss", "test_accuracy"]]
        top = run.test_accuracy[run.test_accuracy.argmax()]   # the epoch travels with it
        print(f"run {name}: {run.epoch.size} epochs, best test accuracy {top.item():.4f} at "
              f"epoch {top.epoch.item()}, last {run.test_accuracy.sel(epoch=run.epoch[-1]).item():.4f}")
        print(curves.to_dataframe().round(4))
        # rows true_class, columns predicted_class, labelled by class numbers (/data/classes)
        print(run.confusion_matrix.to_pandas())
    sys.exit(0)

nngp = group("nngp")        # grid arrays over depth (int), sigma_w2, sigma_b2 (float)
print(nngp)
acc = nngp.test_accuracy    # NaN where not computed yet
if acc.notnull().any():
    top = acc[acc.argmax(...)]              # the coordinates travel with the value
    print(f"highest test accuracy {top.item():.4f} at depth {top.depth.item()}, "
          f"sigma_w2 {top.sigma_w2.item():g}, sigma_b2 {top.sigma_b2.item():g}")
    print(acc.sel(depth=acc.depth[-1]).to_pandas())   # the deepest depth: sigma_w2 x sigma_b2

# Best model per depth under a rule (test_accuracy, validation_accuracy, log_marginal_likelihood).
best = group("nngp/best/log_marginal_likelihood")
print(best[["sigma_w2", "sigma_b2", "test_accuracy", "log_marginal_likelihood"]].to_dataframe())

# Posterior of the best-by-test-accuracy model per depth: mean over (depth, test, target),
# variance over (depth, test); test = position in the test split (/data/test_label, ...).
post = group("nngp/posterior")
if "variance" in post:
    print("mean predictive variance per depth:",
          post.variance.mean("test").round(4).to_series().to_dict())
    data = group("data")
    most = group("nngp/uncertainty/most_uncertain").isel(example=0)
    for depth in most.depth.values:
        pos = most.test_position.sel(depth=depth).item()
        label = data.test_label.sel(test=pos).item()
        print(f"depth {depth}: most uncertain test example {pos}, class "
              f"{data.classes.values[label]}, variance {post.variance.sel(depth=depth, test=pos).item():.4g}")

timing = group("nngp/timing")   # phase_seconds over the coordinate phase
print("seconds per phase:", timing.phase_seconds.round(3).to_series().to_dict())
