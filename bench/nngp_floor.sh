#!/usr/bin/env bash
# bench/nngp_floor.sh JOB.ini [RANKS]: one NNGP run against the floor of this hardware. Measures
# the dgemm rate on all cores (same OpenBLAS, before and after the run, the better of the two),
# runs the job on RANKS ranks (default 2) under GNU time, and prints the phase table of the
# reported model (the final fit with search_train, else the grid item and its posterior) in
# GFLOP/s and as a fraction of dgemm, the wall time against the floor
# (n^3/3 + n^2 m + n^2 d + 2 n m d) / dgemm rate, peak resident memory per rank against plan's
# estimate, and the test accuracy. The results file is kept as OUT (default /tmp/nngp-floor.h5).
set -euo pipefail
cd "$(dirname "$0")/.."
JOB=${1:?usage: bench/nngp_floor.sh JOB.ini [RANKS]}
RANKS=${2:-2}
OUT=${OUT:-/tmp/nngp-floor.h5}
BIN=${NNSWEEP_BIN:-build/nnsweep}
CORES=$(getconf _NPROCESSORS_ONLN)
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2046
cc -O2 -o "$tmp/dgemm_rate" bench/dgemm_rate.c $(pkg-config --cflags --libs openblas)
rate() { "$tmp/dgemm_rate" "$CORES" 4000 3 | awk '{print $5}'; }
echo "== $JOB on $RANKS ranks; $(uptime | sed 's/.*load average/load average/')"
r1=$(rate)
rm -f "$OUT"
# shellcheck disable=SC2016
mpirun -np "$RANKS" --bind-to core sh -c '/usr/bin/time -f "maxrss_kb %M" -o "$0.$OMPI_COMM_WORLD_RANK" "$@"' \
    "$tmp/time" "$BIN" nngp --quiet "$JOB" --out "$OUT" >"$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
r2=$(rate)
cat "$tmp"/time.* | awk '/maxrss_kb/ {print $2}' >"$tmp/rss"
/usr/bin/python3 - "$OUT" "$r1" "$r2" "$CORES" "$tmp/rss" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
rate = max(float(sys.argv[2]), float(sys.argv[3])) * 1e9
cores = int(sys.argv[4])
rss = [int(x) * 1024 for x in open(sys.argv[5]).read().split()]
ng = f["/nngp"]
final = "/nngp/final" in f
m = int(ng.attrs["ntest"])
dim = f["/nngp/uncertainty/most_uncertain/image"].shape[2:]
dim = int(np.prod(dim))
k = int(ng.attrs["ntargets"])
if final:
    g = f["/nngp/final"]
    n = int(g.attrs["ntrain"])
    di = int(np.argmax(g["depth"][()]))
    ph = dict(zip([s.decode() if isinstance(s, bytes) else s for s in g["phase"][()]], g["phase_seconds"][di]))
    ph["gram"] += float(g.attrs["gram_seconds"])
    acc = float(g["test_accuracy"][di])
    est = float(g.attrs["memory_per_rank_estimate"])
    label = "final fit"
    depth = int(g["depth"][di])
else:
    n = int(ng.attrs["ntrain"])
    t = f["/nngp/timing"]
    ph = dict(zip([s.decode() if isinstance(s, bytes) else s for s in t["phase_names"][()]], t["phase_seconds"][()]))
    acc = float(np.nanmax(f["/nngp/best/test_accuracy/test_accuracy"][()]))
    est = float(ng.attrs["memory_per_rank_estimate"])
    label = "grid item + posterior"
depth = int(np.max(f["/nngp/depth"][()]))
work = {"gram": n * n * dim + 2.0 * n * m * dim, "factorization": n ** 3 / 3.0,
        "solve": 2.0 * n * n * k + 2.0 * n * m * k, "variance": float(n) * n * m}
floor = (n ** 3 / 3.0 + float(n) * n * m + n * n * dim + 2.0 * n * m * dim) / rate
wall = float(f.attrs["wall_seconds"])
print(f"dgemm on {cores} cores: {rate / 1e9:.1f} GFLOP/s (before {sys.argv[2]}, after {sys.argv[3]})")
print(f"n = {n} train, m = {m} test, {dim} features, {k} targets ({label}; phase seconds of rank 0)")
print(f"{'phase':>14} {'seconds':>8} {'GFLOP/s':>8} {'of dgemm':>8}")
for p in ["gram", "recursion", "factorization", "solve", "variance"]:
    s = float(ph.get(p, 0.0))
    if p in work and s > 0:
        gf = work[p] / s / 1e9
        print(f"{p:>14} {s:8.1f} {gf:8.1f} {gf * 1e9 / rate:8.2f}")
    elif p == "recursion" and s > 0:
        entries = depth * (n * n / 2.0 + float(n) * m)
        print(f"{p:>14} {s:8.1f} {s * cores / entries * 1e9:8.2f} ns per entry and core")
    else:
        print(f"{p:>14} {s:8.1f}")
print(f"wall {wall:.1f} s; floor {floor:.1f} s; wall / floor = {wall / floor:.2f}")
print("peak resident memory per rank: " + ", ".join(f"{r / 2**30:.2f} GiB" for r in rss) +
      f"; plan's estimate {est / 2**30:.2f} GiB (peak / estimate {max(rss) / est:.2f})")
print(f"test accuracy {acc:.4f}")
PY
