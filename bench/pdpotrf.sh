#!/usr/bin/env bash
# bench/pdpotrf.sh - the ScaLAPACK Cholesky of the distributed NNGP solver against its speed and
# memory targets, on this machine, in this run:
#   1. dgemm rate on 2 cores: 2 ranks x 1 thread multiplying at once (summed), and 1 rank x 2
#      threads; the larger is the reference.
#   2. block size: pdpotrf at n = NB_N on 2 ranks for nb in 64 128 256 on the 1x2 and 2x1 grids.
#   3. pdpotrf at n = N on 2 ranks (1 thread each) with the best (nb, grid) of step 2 and with
#      nnsweep's defaults (nb 128, grid 1x2), and LAPACK dpotrf at n = N on 1 rank with
#      OPENBLAS_NUM_THREADS=2, alternately.
#   4. ratios: pdpotrf >= 70% of the dgemm rate; pdpotrf time within 15% of dpotrf's.
#   5. memory: one pgp item (depth 1) at n = MEM_N, 1000 test points, 2 ranks, store FACTOR:
#      the peak resident memory of each rank against the n x n kernel's size.
# Every measurement is repeated ROUNDS times, the rounds interleaved so that other work on the
# machine hits all of them alike, and the best of each is kept. The load average is printed.
# Settings (environment): N (20000), NB_N (8000), MEM_N (16000), ROUNDS (3), BUILD (build),
# SKIP_MEM=1 (no memory run).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20000} NB_N=${NB_N:-8000} MEM_N=${MEM_N:-16000} ROUNDS=${ROUNDS:-3} BUILD=${BUILD:-build}
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cores=$(nproc --all)
export OMP_NUM_THREADS=1

# Build the benchmark against the library with the Makefile's flags.
make -s --no-print-directory BUILD="$BUILD" "$BUILD/libnnsweep.a"
mkdir -p "$BUILD/bench"
pkgs="ompi scalapack-openmpi hdf5-openmpi openblas zlib inih cairo"
# shellcheck disable=SC2046
mpicc -std=c11 -D_DEFAULT_SOURCE -O3 -g -march=native -fopenmp -Wall -Wextra -Iinclude -Isrc/nngp \
  $(pkg-config --cflags $pkgs) -o "$BUILD/bench/pdpotrf_bench" bench/pdpotrf_bench.c \
  "$BUILD/libnnsweep.a" $(pkg-config --libs $pkgs) -lhdf5_hl -lm
bin="$BUILD/bench/pdpotrf_bench"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

two() { OPENBLAS_NUM_THREADS=1 mpirun -np 2 --bind-to core "$bin" "$@"; }
threaded() { OPENBLAS_NUM_THREADS=2 mpirun -np 1 --bind-to none "$bin" "$@"; }
field() { awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}'; }
# keep KEY LINE: appends the run's rate and seconds to $tmp/KEY
keep() { echo "$(echo "$2" | field gflops) $(echo "$2" | field seconds)" >>"$tmp/$1"; }
best_rate() { sort -g -r "$tmp/$1" | head -1 | cut -d' ' -f1; }
best_secs() { sort -g -r "$tmp/$1" | head -1 | cut -d' ' -f2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "== ScaLAPACK Cholesky benchmark: $cores cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), best of $ROUNDS interleaved rounds"
echo "   load average before: $(load)"

for r in $(seq "$ROUNDS"); do
  keep dgemm_ranks "$(two dgemm 4000 2)"
  keep dgemm_threads "$(threaded dgemm 5000 2)"
  for grid in "1 2" "2 1"; do
    for nb in 64 128 256; do
      # shellcheck disable=SC2086
      keep "scan_${nb}_${grid/ /x}" "$(two pdpotrf "$NB_N" "$nb" $grid 1)"
    done
  done
done
g_ranks=$(best_rate dgemm_ranks) g_threads=$(best_rate dgemm_threads)
dgemm=$(echo "if ($g_ranks > $g_threads) $g_ranks else $g_threads" | bc -l)
printf '  dgemm, 2 ranks x 1 thread (summed):  %7.2f GFLOP/s\n' "$g_ranks"
printf '  dgemm, 1 rank x 2 threads:           %7.2f GFLOP/s\n' "$g_threads"
echo "  block size, pdpotrf n = $NB_N on 2 ranks (PBLAS logical block 256):"
best=0 best_nb=128 best_grid="1 2"
for grid in "1 2" "2 1"; do
  for nb in 64 128 256; do
    key="scan_${nb}_${grid/ /x}" rate=$(best_rate "scan_${nb}_${grid/ /x}")
    printf '    nb %3d grid %s  %7.2f GFLOP/s  %7.2f s\n' "$nb" "${grid/ /x}" "$rate" "$(best_secs "$key")"
    if [ "$(echo "$rate > $best" | bc -l)" = 1 ]; then best=$rate best_nb=$nb best_grid=$grid; fi
  done
done
echo "    best: nb $best_nb, grid ${best_grid/ /x}"
echo "   load average: $(load)"

default_nb=128 default_grid="1 2"
same_as_best=$([ "$best_nb $best_grid" = "$default_nb $default_grid" ] && echo 1 || echo 0)
for r in $(seq "$ROUNDS"); do
  # shellcheck disable=SC2086
  keep pdpotrf "$(two pdpotrf "$N" "$best_nb" $best_grid 1)"
  keep dpotrf "$(threaded dpotrf "$N" 1)"
  # shellcheck disable=SC2086
  [ "$same_as_best" = 1 ] || keep pdpotrf_default "$(two pdpotrf "$N" "$default_nb" $default_grid 1)"
done
[ "$same_as_best" = 1 ] && cp "$tmp/pdpotrf" "$tmp/pdpotrf_default"
lp_rate=$(best_rate dpotrf) lp_t=$(best_secs dpotrf)
verdict() { [ "$(echo "$1" | bc -l)" = 1 ] && echo "met" || echo "NOT MET"; }
printf '  dpotrf  n = %d, 1 rank x 2 threads:   %7.2f GFLOP/s  %7.2f s\n' "$N" "$lp_rate" "$lp_t"
# report KEY LABEL NB GRID
report() {
  local rate secs r1 r2
  rate=$(best_rate "$1") secs=$(best_secs "$1")
  r1=$(echo "scale=3; $rate / $dgemm" | bc -l) r2=$(echo "scale=3; $secs / $lp_t" | bc -l)
  printf '  pdpotrf n = %d, 2 ranks, %s (%s, nb %d): %7.2f GFLOP/s  %7.2f s\n' "$N" "$2" "${4/ /x}" "$3" "$rate" "$secs"
  printf '    / dgemm rate:   %.2f  (target >= 0.70: %s)\n' "$r1" "$(verdict "$r1 >= 0.70")"
  printf '    / dpotrf time:  %.2f  (target <= 1.15: %s)\n' "$r2" "$(verdict "$r2 <= 1.15")"
}
report pdpotrf "best of the scan" "$best_nb" "$best_grid"
report pdpotrf_default "defaults" "$default_nb" "$default_grid"

if [ "${SKIP_MEM:-0}" != 1 ]; then
  m=$(two item "$MEM_N" 1000 0 "$best_nb")
  printf '  memory, one item n = %d on 2 ranks (%s, store FACTOR): peak %.2f GB per rank (%.2f GB before the work object; estimate %.2f GB) vs the full kernel %.2f GB\n' \
    "$MEM_N" "$(echo "$m" | field grid)" "$(echo "$m" | field peak_rss_gb)" \
    "$(echo "$m" | field before_gb)" "$(echo "$m" | field estimate_gb)" \
    "$(echo "$m" | field full_kernel_gb)"
fi
echo "   load average after: $(load)"
