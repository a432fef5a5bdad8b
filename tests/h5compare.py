#!/usr/bin/python3
"""h5compare.py A.h5 B.h5 [DATASET ...]: exits 0 when the datasets are bit-identical (NaN equal to
NaN) in both files, else prints the first difference and exits 1. Default datasets: the NNGP
result arrays the issue names.
h5compare.py --all A.h5 B.h5: every dataset, attribute and dimension-scale attachment of A and B
must be bit-identical, except what describes the run rather than its results (timings, hosts,
ranks, cores per rank, SLURM job, dates, memory, the command line) and the self-check (its
residuals depend on the process layout); prints every difference and how many items were compared."""
import re
import sys

import h5py
import numpy as np

DEFAULT = ["/nngp/test_accuracy", "/nngp/log_marginal_likelihood", "/nngp/noise_used",
           "/nngp/validation_accuracy", "/nngp/status", "/nngp/posterior/mean",
           "/nngp/posterior/variance"]
RUN_ONLY = re.compile(r"seconds|_time$|hostnames|command_line|mpi_size|process_grid|"
                      r"/check\b|self_check|images_per_s|memory_per_rank|thread_layout|git_commit|check_weights_agree|"
                      r"slurm_job_id|cores_per_rank")


def equal(x, y):
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape:
        return False
    if x.dtype.kind == "f":
        return np.array_equal(x, y, equal_nan=True)
    return np.array_equal(x, y)


def everything(f):
    """{key: value} for every attribute ('@path:name'), dataset and scale attachment."""
    out = {f"@/:{k}": v for k, v in f.attrs.items()}

    def visit(name, obj):
        for k, v in obj.attrs.items():
            if k not in ("DIMENSION_LIST", "REFERENCE_LIST"):
                out[f"@/{name}:{k}"] = v
        if isinstance(obj, h5py.Dataset):
            out[f"/{name}"] = obj[()]
            out[f"/{name} dims"] = str([[s.name for s in d.values()] for d in obj.dims])
    f.visititems(visit)
    return out


def compare_all(path_a, path_b):
    a, b = everything(h5py.File(path_a, "r")), everything(h5py.File(path_b, "r"))
    bad = 0
    for key in sorted(set(a) | set(b)):
        if RUN_ONLY.search(key):
            continue
        if key not in a or key not in b:
            print(f"{key}: only in {path_a if key in a else path_b}")
            bad += 1
        elif not equal(a[key], b[key]):
            print(f"{key}: differs ({str(a[key])[:60]} | {str(b[key])[:60]})")
            bad += 1
    print(f"compared {len(a)} items: {bad} difference(s)")
    return 1 if bad else 0


def main():
    if sys.argv[1] == "--all":
        return compare_all(sys.argv[2], sys.argv[3])
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
