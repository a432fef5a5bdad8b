#!/usr/bin/env bash
# bench/nngp_budget.sh [JOB.ini]: ScaLAPACK under a memory budget against LAPACK. Runs the job
# (default jobs/nngp-fashion-12k.ini, one model on a group of 2 ranks) with NNSWEEP_MEM_PER_RANK
# at 0.75 of its full train kernel's size (8 n^2 bytes), and the same job with solver = lapack on
# one rank (2 BLAS threads for its item alone), alternating, ROUNDS times (default 2). Prints
# each run's wall seconds, peak resident memory per rank (GNU time) against the budget and
# against plan's estimate, and the ratio of the best times.
set -euo pipefail
cd "$(dirname "$0")/.."
JOB=${1:-jobs/nngp-fashion-12k.ini}
BIN=${NNSWEEP_BIN:-build/nnsweep}
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
unset OMP_NUM_THREADS OPENBLAS_NUM_THREADS
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=$(awk -F= '$1 ~ /^train *$/ {gsub(/ /, "", $2); print $2}' "$JOB")
budget=$(( 8 * n * n * 3 / 4 ))
sed -e 's/^group_size.*/group_size = 1/' -e '/^\[nngp\]/a solver = lapack' "$JOB" >"$tmp/lapack.ini"
echo "== $JOB: n = $n, budget $budget bytes per rank (0.75 x 8 n^2); $(uptime | sed 's/.*load average/load average/')"
run() {   # run LABEL RANKS JOB [ENV...]
  local label=$1 ranks=$2 job=$3
  shift 3
  # shellcheck disable=SC2016
  env "$@" mpirun -np "$ranks" --bind-to none sh -c '/usr/bin/time -f "%M" -o "$0.$OMPI_COMM_WORLD_RANK" "$@"' \
      "$tmp/rss" "$BIN" nngp --quiet "$job" --out "$tmp/$label.h5" >"$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
  /usr/bin/python3 - "$tmp/$label.h5" "$label" "$budget" "$tmp"/rss.* <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
g = f["/nngp"].attrs
rss = [int(open(p).read().split()[-1]) * 1024 for p in sys.argv[4:]]
budget = float(sys.argv[3])
print(f"{sys.argv[2]:>10}: wall {f.attrs['wall_seconds']:6.1f} s, solver {g['solver']}"
      f"{', store ' + g['store'] if 'store' in g else ''}; peak RSS per rank "
      + ", ".join(f"{r / 2**30:.2f}" for r in rss) + f" GiB = {max(rss) / budget:.2f} of the budget, "
      f"{max(rss) / g['memory_per_rank_estimate']:.2f} of plan's estimate "
      f"({g['memory_per_rank_estimate'] / 2**30:.2f} GiB); accuracy {f['/nngp/test_accuracy'][()].max():.4f}")
with open(sys.argv[1] + ".wall", "w") as out:
    out.write(f"{f.attrs['wall_seconds']}\n")
PY
  cat "$tmp/$label.h5.wall" >>"$tmp/walls.$label"
  rm -f "$tmp"/rss.*
}
for _ in $(seq "${ROUNDS:-2}"); do
  run scalapack 2 "$JOB" NNSWEEP_MEM_PER_RANK="$budget"
  run lapack 1 "$tmp/lapack.ini"
done
best() { sort -g "$tmp/walls.$1" | head -1; }
echo "best wall: scalapack $(best scalapack) s, lapack $(best lapack) s; ratio $(echo "$(best scalapack) / $(best lapack)" | bc -l | cut -c1-5)"
