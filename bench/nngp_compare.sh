#!/usr/bin/env bash
# Runs the NNGP sweep benchmark in C (bench_nngp) and in PyTorch (nngp_torch.py) with 2 threads
# each, REPS times (default 3), and prints the best wall times, their ratio, and whether the
# per-depth best test accuracies agree. Usage: bench/nngp_compare.sh [BENCH_BINARY] [REPS]
# The thread-pool environment is shared by both sides; it is reported, not changed.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-build/bench/bench_nngp}"
reps="${2:-3}"
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

best() { sort -g | head -1; }
for i in $(seq "$reps"); do
  "$bin" >"$tmp/c.$i"
  /usr/bin/python3 bench/nngp_torch.py >"$tmp/t.$i"
done
tc=$(grep -h '^total_seconds' "$tmp"/c.* | awk '{print $2}' | best)
tt=$(grep -h '^total_seconds' "$tmp"/t.* | awk '{print $2}' | best)
grep '^depth' "$tmp/c.1" | awk '{print $2, $4}' >"$tmp/c.acc"
grep '^depth' "$tmp/t.1" | awk '{print $2, $4}' >"$tmp/t.acc"
echo "nngp sweep (1000 train / 1000 test Fashion-MNIST 0 vs 6, depths 1..10, 4 x 4 grid):"
echo "  environment: OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset}" \
     "OPENBLAS_THREAD_TIMEOUT=${OPENBLAS_THREAD_TIMEOUT:-unset}, 2 threads each, best of $reps"
echo "  C       ${tc} s"
echo "  PyTorch ${tt} s"
awk -v a="$tt" -v b="$tc" 'BEGIN { printf "  ratio   %.2fx (target >= 2.5x)\n", a / b }'
if cmp -s "$tmp/c.acc" "$tmp/t.acc"; then
  echo "  per-depth best accuracies: identical"
else
  echo "  per-depth best accuracies: DIFFER"; paste "$tmp/c.acc" "$tmp/t.acc"; exit 1
fi
