#!/usr/bin/env bash
# Two builds of nnsweep side by side on the NNGP benchmark job, alternating in every round so the
# machine's drifts hit both alike: one process, 2 ranks, 1 rank x 1 thread, and one process with
# OPENBLAS_NUM_THREADS=2 and =4 exported. Prints the best compute seconds (wall_seconds) of each.
#   bench/nngp_ab.sh OLD_BINARY NEW_BINARY [JOB]      ROUNDS (default 4)
# e.g. git worktree add /tmp/before HEAD~5 && make -C /tmp/before && \
#      bench/nngp_ab.sh /tmp/before/build/nnsweep build/nnsweep
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,8p' "$0" >&2; exit 2; }
old=$1 new=$2 job=${3:-jobs/bench-nngp.ini}
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
unset OMP_NUM_THREADS OPENBLAS_NUM_THREADS
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
seconds() { /usr/bin/python3 -c "import h5py,sys; print(h5py.File(sys.argv[1],'r').attrs['wall_seconds'])" "$1"; }
modes="one_process two_ranks one_thread blas2 blas4"
declare -A best
for r in $(seq "${ROUNDS:-4}"); do
  for side in old new; do
    bin=${!side}
    for mode in $modes; do
      case $mode in
        one_process) cmd=(env "$bin") ;;
        two_ranks) cmd=(mpirun -np 2 --bind-to core "$bin") ;;
        one_thread) cmd=(env OMP_NUM_THREADS=1 "$bin") ;;
        blas2) cmd=(env OPENBLAS_NUM_THREADS=2 "$bin") ;;
        blas4) cmd=(env OPENBLAS_NUM_THREADS=4 "$bin") ;;
      esac
      "${cmd[@]}" nngp --quiet "$job" --out "$tmp/run.h5" >/dev/null 2>&1
      t=$(seconds "$tmp/run.h5") k=$side.$mode
      if [ -z "${best[$k]:-}" ] || [ "$(echo "$t < ${best[$k]}" | bc)" = 1 ]; then best[$k]=$t; fi
    done
  done
  echo "round $r done (load $(cut -d' ' -f1 /proc/loadavg))"
done
printf '%-12s %8s %8s %8s\n' "" old new new/old
for mode in $modes; do
  printf '%-12s %7.3fs %7.3fs %7.2fx\n' "$mode" "${best[old.$mode]}" "${best[new.$mode]}" \
    "$(echo "${best[new.$mode]} / ${best[old.$mode]}" | bc -l)"
done
