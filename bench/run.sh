#!/usr/bin/env bash
# make bench: nnsweep side by side with a PyTorch implementation of the same work, on this machine,
# in this run. Prints times and ratios against the targets of the issues.
#   bench/run.sh [nngp|cnn|all]   (default all)
#   NNGP sweep: jobs/bench-nngp.ini vs bench/nngp_torch.py (1000 train / 1000 test Fashion-MNIST,
#   depth 1..10, 4 x 4 variance grid, float64). Compute time on both sides: nnsweep's wall_seconds
#   (from the start of the sweep to the last file write: Gram, recursion, factorizations, solves,
#   posterior of the reported models, checkpoints) against the PyTorch script's total_seconds (the
#   same phases, no file output). Process wall times including start-up are printed as well.
#   One process is also run with OPENBLAS_NUM_THREADS=2 and =4 exported, as cluster modules
#   and shell profiles do: nnsweep sets its BLAS threads itself, so they must not be slower.
#   REPS (default 5) rounds, each running the six in turn (rotated by one every round); the
#   best of each is kept.
#   CNN training: `nnsweep cnn jobs/bench-cnn.ini --bench STEPS` at 1 rank and 2 ranks (one rank
#   per core, one thread each) vs bench/cnn_torch.py with 2 threads: the reference network,
#   batch 64, synthetic 3x32x32 images, images/s of STEPS timed steps after a warm-up on both
#   sides. ROUNDS (default 4) rounds, each running the three in turn (so the load of other jobs
#   on the machine hits them alike); the best of each is kept. CNN_STEPS (default 30).
# OPENBLAS_AUTO=1 unsets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for every command of the run (both
# sides alike), so OpenBLAS picks its kernels for the processor itself (see README, Benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-5}
ROUNDS=${ROUNDS:-4}
CNN_STEPS=${CNN_STEPS:-30}
what=${1:-all}
case "$what" in nngp|cnn|all) ;; *) echo "usage: bench/run.sh [nngp|cnn|all]" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
unset OMP_NUM_THREADS OPENBLAS_NUM_THREADS
[ "${OPENBLAS_AUTO:-0}" = 1 ] && unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
job=jobs/bench-nngp.ini

attr() { /usr/bin/python3 -c "import h5py,sys; print(h5py.File(sys.argv[1],'r').attrs[sys.argv[2]])" "$1" "$2"; }
best() { sort -g | head -1; }
now() { date +%s.%N; }

# run_nnsweep LABEL COMMAND...: one run; appends its compute and process seconds to
# $tmp/LABEL.compute and $tmp/LABEL.wall and prints the compute seconds.
run_nnsweep() {
  local label=$1; shift
  local t0; t0=$(now)
  "$@" nngp --quiet "$job" --out "$tmp/$label.h5" >/dev/null
  echo "$(now) - $t0" | bc >>"$tmp/$label.wall"
  attr "$tmp/$label.h5" wall_seconds | tee -a "$tmp/$label.compute"
}

nngp_bench() {
echo "== NNGP sweep benchmark: $(nproc) cores, best of $REPS rounds; $(/usr/bin/python3 -c 'import torch; print("torch", torch.__version__)')"
echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# Each round runs the four in turn, starting one further along the list each round, so the
# machine's drifts and other jobs hit them alike.
run_torch() {
  local t0; t0=$(now)
  OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/nngp_torch.py >"$tmp/torch.$1"
  echo "$(now) - $t0" | bc >>"$tmp/torch.wall"
  grep '^total_seconds' "$tmp/torch.$1" | awk '{print $2}'
}
for i in $(seq "$REPS"); do
  declare -A t=()
  for k in 0 1 2 3 4 5; do
    case $(( (i - 1 + k) % 6 )) in
      0) t[torch]=$(run_torch "$i") ;;
      1) t[proc]=$(run_nnsweep one_process build/nnsweep) ;;
      2) t[one]=$(OMP_NUM_THREADS=1 run_nnsweep one_thread build/nnsweep) ;;
      3) t[two]=$(run_nnsweep two_ranks mpirun -np 2 --bind-to core build/nnsweep) ;;
      # a BLAS thread variable exported by the user (cluster modules, shell profiles)
      4) t[blas2]=$(OPENBLAS_NUM_THREADS=2 run_nnsweep blas2 build/nnsweep) ;;
      5) t[blas4]=$(OPENBLAS_NUM_THREADS=4 run_nnsweep blas4 build/nnsweep) ;;
    esac
  done
  printf '   round %d: PyTorch %.2fs, 1 process %.2fs (OPENBLAS_NUM_THREADS=2: %.2fs, =4: %.2fs), 1 rank %.2fs, 2 ranks %.2fs; PyTorch / 2 ranks %.2fx, 1 rank / 2 ranks %.2fx (load %s)\n' \
    "$i" "${t[torch]}" "${t[proc]}" "${t[blas2]}" "${t[blas4]}" "${t[one]}" "${t[two]}" \
    "$(echo "${t[torch]} / ${t[two]}" | bc -l)" "$(echo "${t[one]} / ${t[two]}" | bc -l)" \
    "$(cut -d' ' -f1 /proc/loadavg)"
done
torch_compute=$(grep -h '^total_seconds' "$tmp"/torch.* | awk '{print $2}' | best)
torch_wall=$(best <"$tmp/torch.wall")
for label in one_process one_thread two_ranks blas2 blas4; do
  read -r "${label}_c" "${label}_w" < <(echo "$(best <"$tmp/$label.compute") $(best <"$tmp/$label.wall")")
done
one_proc=$one_process_c one_proc_wall=$one_process_w
one_thread=$one_thread_c one_thread_wall=$one_thread_w
two_ranks=$two_ranks_c two_ranks_wall=$two_ranks_w

printf '  %-40s %8s %12s\n' "" "compute" "process wall"
printf '  %-40s %7.2fs %11.2fs\n' "PyTorch, 2 threads" "$torch_compute" "$torch_wall"
printf '  %-40s %7.2fs %11.2fs\n' "nnsweep, 1 process x 2 threads" "$one_proc" "$one_proc_wall"
printf '  %-40s %7.2fs %11.2fs\n' "nnsweep, 1 rank x 1 thread" "$one_thread" "$one_thread_wall"
printf '  %-40s %7.2fs %11.2fs\n' "nnsweep, 2 ranks x 1 thread" "$two_ranks" "$two_ranks_wall"
printf '  %-40s %7.2fs %11.2fs\n' "nnsweep, 1 process, OPENBLAS_NUM_THREADS=2" "$blas2_c" "$blas2_w"
printf '  %-40s %7.2fs %11.2fs\n' "nnsweep, 1 process, OPENBLAS_NUM_THREADS=4" "$blas4_c" "$blas4_w"
ratio() { echo "scale=2; $1 / $2" | bc; }
verdict() { [ "$(echo "$1 >= $2" | bc)" = 1 ] && echo "met" || echo "NOT MET"; }
r1=$(ratio "$torch_compute" "$one_proc"); r2=$(ratio "$torch_compute" "$two_ranks"); r3=$(ratio "$one_thread" "$two_ranks")
echo "  PyTorch / nnsweep 1 process:   ${r1}x  (target >= 2.5x: $(verdict "$r1" 2.5))"
echo "  PyTorch / nnsweep 2 ranks:     ${r2}x  (target >= 6x: $(verdict "$r2" 6))"
echo "  nnsweep 1 rank / 2 ranks:      ${r3}x  (target >= 1.8x: $(verdict "$r3" 1.8))"
within() { [ "$(echo "$1 <= $2" | bc)" = 1 ] && echo "met" || echo "NOT MET"; }
for v in 2 4; do
  c=$(eval echo "\$blas${v}_c"); r=$(ratio "$c" "$one_proc")
  echo "  OPENBLAS_NUM_THREADS=$v / unset, 1 process: ${r}x  (target <= 1.10x: $(within "$r" 1.10))"
done

# The same answers: per-depth best test accuracy.
/usr/bin/python3 - "$tmp/one_process.h5" "$tmp/two_ranks.h5" "$tmp/torch.1" <<'PY'
import sys, h5py, numpy as np
ours = [h5py.File(p, "r")["/nngp/best/test_accuracy/test_accuracy"][()] for p in sys.argv[1:3]]
theirs = np.array([float(l.split()[3]) for l in open(sys.argv[3]) if l.startswith("depth ")])
same = all(np.array_equal(np.round(o, 4), np.round(theirs, 4)) for o in ours)
print("  per-depth best test accuracy:", " ".join(f"{a:.3f}" for a in ours[0]))
print("  identical to PyTorch's:", "yes" if same else "NO", "" if same else theirs)
sys.exit(0 if same else 1)
PY
}

# images/s from the last "images/s: N" line of a file.
ips() { awk '/^images\/s: / {v = $2} END {print v}' "$1"; }
best_ips() { sort -gr | head -1; }

cnn_bench() {
  local job=jobs/bench-cnn.ini one="env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1"
  echo "== CNN training benchmark: reference network, batch 64, 3x32x32 synthetic images, $CNN_STEPS timed steps, best of $ROUNDS rounds"
  echo "   OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  for r in $(seq "$ROUNDS"); do
    $one mpirun -np 1 --bind-to core build/nnsweep cnn "$job" --bench "$CNN_STEPS" >"$tmp/cnn1.$r" 2>"$tmp/cnn1.$r.log"
    $one mpirun -np 2 --bind-to core build/nnsweep cnn "$job" --bench "$CNN_STEPS" >"$tmp/cnn2.$r" 2>"$tmp/cnn2.$r.log"
    /usr/bin/python3 bench/cnn_torch.py "$CNN_STEPS" 2 >"$tmp/torch.$r"
    local a b c
    a=$(ips "$tmp/cnn1.$r") b=$(ips "$tmp/cnn2.$r") c=$(ips "$tmp/torch.$r")
    printf '   round %d: nnsweep 1 rank %s, 2 ranks %s, PyTorch %s images/s; 2 ranks / PyTorch %.2fx, 2 ranks / 1 rank %.2fx (load %s)\n' \
      "$r" "$a" "$b" "$c" "$(echo "$b / $c" | bc -l)" "$(echo "$b / $a" | bc -l)" "$(cut -d' ' -f1 /proc/loadavg)"
  done
  local n1 n2 pt
  n1=$(for r in $(seq "$ROUNDS"); do ips "$tmp/cnn1.$r"; done | best_ips)
  n2=$(for r in $(seq "$ROUNDS"); do ips "$tmp/cnn2.$r"; done | best_ips)
  pt=$(for r in $(seq "$ROUNDS"); do ips "$tmp/torch.$r"; done | best_ips)
  local p_ours p_torch core
  p_ours=$(grep -o '[0-9]* parameters' "$tmp/cnn2.1.log" | head -1 | cut -d' ' -f1)
  p_torch=$(grep -o 'parameters [0-9]*' "$tmp/torch.1" | cut -d' ' -f2)
  core=$(grep -o 'OpenBLAS [A-Za-z0-9]* kernels' "$tmp/cnn2.1.log" | head -1)
  echo "   $(head -1 "$tmp/torch.1" | cut -d, -f1); nnsweep with $core"
  echo "   parameters: nnsweep $p_ours, PyTorch $p_torch ($([ "$p_ours" = "$p_torch" ] && echo equal || echo DIFFERENT))"
  printf '  %-40s %10s\n' "" "images/s"
  printf '  %-40s %10.1f\n' "PyTorch, 2 threads" "$pt" "nnsweep, 1 rank x 1 thread" "$n1" "nnsweep, 2 ranks x 1 thread" "$n2"
  local r1 r2
  r1=$(echo "scale=2; $n2 / $pt" | bc); r2=$(echo "scale=2; $n2 / $n1" | bc)
  echo "  nnsweep 2 ranks / PyTorch:     ${r1}x  (target >= 1.5x: $(pass "$r1" 1.5))"
  echo "  nnsweep 2 ranks / 1 rank:      ${r2}x  (target >= 1.7x: $(pass "$r2" 1.7))"
  echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  [ "$p_ours" = "$p_torch" ]
}
pass() { [ "$(echo "$1 >= $2" | bc)" = 1 ] && echo "PASS" || echo "below target"; }

status=0
if [ "$what" = nngp ] || [ "$what" = all ]; then nngp_bench || status=1; fi
if [ "$what" = cnn ] || [ "$what" = all ]; then cnn_bench || status=1; fi
exit $status
