#!/usr/bin/python3
"""Reads an nnsweep results file (Debian's python3-h5py and python3-numpy): each CNN run's
curves, or the NNGP arrays with their dimension scales. The README shows this script;
tests/test_report.sh runs it.

usage: /usr/bin/python3 docs/h5py-example.py results/nngp-fashion-binary.h5
       /usr/bin/python3 docs/h5py-example.py results/cnn-variants.h5
"""
import sys

import h5py
import numpy as np

path = "results/nngp-fashion-binary.h5"
if len(sys.argv) > 1:
    path = sys.argv[1]
with h5py.File(path, "r") as f:
    print(f"{path}: {f.attrs['program']} {f.attrs['version']}, state {f.attrs['state']}")

    if f.attrs["experiment"] == "cnn":
        # CNN: one group per run under /cnn, named in /cnn/runs; /cnn/run_done marks the finished.
        runs = f["/cnn/runs"].asstr()[()]
        done = f["/cnn/run_done"][()]
        for name, finished in zip(runs, done):
            if not finished:
                print(f"run {name}: not finished")
                continue
            run = f["/cnn/" + name]
            train_loss = run["train_loss"][()]       # one value per epoch
            test_loss = run["test_loss"][()]
            test_acc = run["test_accuracy"][()]      # fraction correct after each epoch
            confusion = run["confusion_matrix"][()]  # [true][predicted] class positions
            print(f"run {name}: {len(test_acc)} epochs, layers {run.attrs['layers']}, final "
                  f"train loss {train_loss[-1]:.4f}, test loss {test_loss[-1]:.4f}, test accuracy "
                  f"{test_acc[-1]:.4f} ({np.trace(confusion)} of {confusion.sum()} correct)")
        sys.exit(0)

    # The grid arrays are [depth][sigma_w2][sigma_b2]; each dimension carries a label and a
    # dimension scale holding the grid values.
    acc = f["/nngp/test_accuracy"]
    for dim in acc.dims:
        scale = dim[0]
        print(f"dimension {dim.label}: scale {scale.name} = {np.round(scale[()], 4).tolist()}")
    depth, sigma_w2, sigma_b2 = (dim[0][()] for dim in acc.dims)

    a = acc[()]                           # NaN where not computed yet
    status = f["/nngp/status"][()]        # 0 not computed, 1 ok, 2 factorization failed
    print(f"test_accuracy {a.shape}: {np.count_nonzero(status == 1)} grid points ok, "
          f"{np.count_nonzero(status == 2)} failed")
    if np.any(~np.isnan(a)):
        top = np.nanmax(a)
        d, i, j = np.argwhere(a == top)[0]
        print(f"highest test accuracy {top:.4f} at {np.count_nonzero(a == top)} grid point(s), "
              f"the first: depth {depth[d]:g}, sigma_w2 {sigma_w2[i]:g}, sigma_b2 {sigma_b2[j]:g}")

    # Best model per depth under a rule (test_accuracy, validation_accuracy,
    # log_marginal_likelihood): 1-D arrays over depth, best among the finished items while a run is incomplete.
    best = {k: v[()] for k, v in f["/nngp/best/log_marginal_likelihood"].items()}
    for k, L in enumerate(depth):
        print(f"  depth {L:g}, chosen by log ML: sigma_w2 {best['sigma_w2'][k]:g}, "
              f"sigma_b2 {best['sigma_b2'][k]:g}, test accuracy {best['test_accuracy'][k]:.4f}")

    # Labels are class positions: /data/classes maps them to the data set's class numbers.
    classes = f["/data/classes"][()]
    if "/nngp/uncertainty/most_uncertain" in f:
        most = f["/nngp/uncertainty/most_uncertain"]
        image = most["image"][0, 0]                  # [C][H][W] uint8, depth 0, first example
        hwc = np.transpose(image, (1, 2, 0))         # [H][W][C] for plotting libraries
        print(f"most uncertain test example at depth {depth[0]:g}: class "
              f"{classes[most['label'][0, 0]]}, predicted {classes[most['predicted'][0, 0]]}, "
              f"variance {most['variance'][0, 0]:.4g}, image {hwc.shape}")

    names = f["/nngp/timing/phase_names"].asstr()[()]
    seconds = f["/nngp/timing/phase_seconds"][()]
    print("seconds per phase: " + ", ".join(f"{n} {s:.3g}" for n, s in zip(names, seconds)))
