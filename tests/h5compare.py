#!/usr/bin/python3
"""h5compare.py A.h5 B.h5 [DATASET ...]: exits 0 when the datasets are bit-identical (NaN equal to
NaN) in both files, else prints the first difference and exits 1. Default datasets: the NNGP
result arrays the issue names."""
import sys

import h5py
import numpy as np

DEFAULT = ["/nngp/test_accuracy", "/nngp/log_marginal_likelihood", "/nngp/noise_used",
           "/nngp/validation_accuracy", "/nngp/status", "/nngp/posterior/mean",
           "/nngp/posterior/variance"]

def main():
    a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
    for name in sys.argv[3:] or DEFAULT:
        x, y = a[name][()], b[name][()]
        if x.shape != y.shape or not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
            diff = np.nanmax(np.abs(x - y)) if x.shape == y.shape else "shape"
            print(f"{name}: differs ({diff})")
            return 1
    print("identical:", ", ".join(sys.argv[3:] or DEFAULT))
    return 0

if __name__ == "__main__":
    sys.exit(main())
